"""The QuickBooks sandbox's reads: the query language and Change Data Capture."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .fixtures import ApiSession
from .quickbooks import QboSandbox
from .test_quickbooks_sandbox import SAMPLE_INVOICE, assert_fault, bill

# -- query ------------------------------------------------------------------------------------


def test_query_by_display_name_handles_escaped_quote(qbo_api: ApiSession) -> None:
    resp = qbo_api.get(
        "query", params={"query": "select * from Vendor where DisplayName = 'Bob\\'s Burger Joint'"}
    )
    rows = resp.json()["QueryResponse"]["Vendor"]
    assert [r["Id"] for r in rows] == ["56"]


def test_query_by_doc_number_finds_the_bill(qbo_api: ApiSession) -> None:
    qbo_api.post("bill", json=bill(DocNumber="SUPP-1"))
    qbo_api.post("bill", json=bill(DocNumber="SUPP-2"))
    resp = qbo_api.get("query", params={"query": "select * from Bill where DocNumber = 'SUPP-2'"})
    assert [b["DocNumber"] for b in resp.json()["QueryResponse"]["Bill"]] == ["SUPP-2"]


def test_query_by_item_name(qbo_api: ApiSession) -> None:
    resp = qbo_api.get("query", params={"query": "SELECT * FROM Item WHERE Name = 'Services'"})
    assert resp.json()["QueryResponse"]["Item"][0]["Id"] == "1"


def test_query_without_match_returns_empty_query_response(qbo_api: ApiSession) -> None:
    resp = qbo_api.get("query", params={"query": "select * from Customer where DisplayName = 'x'"})
    assert resp.json()["QueryResponse"] == {}


def test_query_pages_with_startposition_and_maxresults(qbo_api: ApiSession) -> None:
    for n in range(5):
        qbo_api.post("vendor", json={"DisplayName": f"V{n}"})
    text = "select * from Vendor where DisplayName like 'V%' startposition 3 maxresults 2"
    page = qbo_api.get("query", params={"query": text}).json()["QueryResponse"]
    assert [v["DisplayName"] for v in page["Vendor"]] == ["V2", "V3"]
    assert page["startPosition"] == 3 and page["maxResults"] == 2


def test_query_can_be_posted_as_text(qbo_api: ApiSession) -> None:
    resp = qbo_api.post(
        "query", data="select count(*) from Account", headers={"Content-Type": "application/text"}
    )
    assert resp.json()["QueryResponse"]["totalCount"] == 8


def test_unparseable_query_is_a_parser_fault(qbo_api: ApiSession) -> None:
    resp = qbo_api.get(
        "query",
        params={"query": "select * from Vendor where DisplayName = 'a' or DisplayName = 'b'"},
    )
    assert_fault(resp, 400, "4000", "ValidationFault")


# -- change data capture ----------------------------------------------------------------------


def test_cdc_reports_a_deleted_payment_the_query_no_longer_finds(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    since = qbo_sandbox.now_iso()
    invoice = qbo_api.post("invoice", json=SAMPLE_INVOICE).json()["Invoice"]
    payment = {
        "CustomerRef": {"value": "1"},
        "TotalAmt": 60.0,
        "Line": [{"Amount": 60.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    kept = qbo_api.post("payment", json=payment).json()["Payment"]
    gone = qbo_api.post("payment", json={**payment, "TotalAmt": 40.0, "Line": [
        {"Amount": 40.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    ]}).json()["Payment"]  # fmt: skip
    qbo_sandbox.delete(qbo_sandbox.realms[0], "Payment", gone["Id"])
    assert qbo_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 40.0
    query = qbo_api.get("query", params={"query": "select * from Payment"}).json()
    assert [p["Id"] for p in query["QueryResponse"]["Payment"]] == [kept["Id"]]

    resp = qbo_api.get("cdc", params={"entities": "Payment,Invoice", "changedSince": since})

    assert resp.status_code == 200
    blocks = resp.json()["CDCResponse"]
    payments = blocks[0]["QueryResponse"][0]["Payment"]
    assert [(p["Id"], p.get("status")) for p in payments] == [
        (kept["Id"], None),
        (gone["Id"], "Deleted"),
    ]
    assert [i["Id"] for i in blocks[1]["QueryResponse"][0]["Invoice"]] == [invoice["Id"]]


def test_cdc_only_reports_changes_after_changed_since(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    qbo_api.post("invoice", json=SAMPLE_INVOICE)
    qbo_sandbox.clock.advance(60)
    since = qbo_sandbox.now_iso()
    resp = qbo_api.get("cdc", params={"entities": "Invoice", "changedSince": since})
    assert resp.json()["CDCResponse"] == [{"QueryResponse": [{}]}]


@pytest.mark.parametrize(
    "params",
    [
        {"changedSince": "2026-01-01T00:00:00+00:00"},
        {"entities": "Payment"},
        {"entities": "Payment", "changedSince": "yesterday"},
        {"entities": "Paymnet", "changedSince": "2026-01-01T00:00:00+00:00"},
    ],
)
def test_cdc_without_entities_or_a_valid_changed_since_is_refused(
    qbo_api: ApiSession, params: dict[str, str]
) -> None:
    resp = qbo_api.get("cdc", params=params)
    assert resp.status_code == 400
    assert resp.json()["Fault"]["type"] == "ValidationFault"


def test_cdc_looks_back_at_most_30_days(qbo_sandbox: QboSandbox, qbo_api: ApiSession) -> None:
    too_old = (qbo_sandbox.clock.utcnow() - timedelta(days=31)).isoformat()
    resp = qbo_api.get("cdc", params={"entities": "Payment", "changedSince": too_old})
    assert resp.status_code == 400
    assert "30 days" in resp.json()["Fault"]["Error"][0]["Detail"]


def test_cdc_answer_holds_at_most_1000_objects_over_every_entity(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    realm = qbo_sandbox.realms[0]
    since = qbo_sandbox.now_iso()
    for _ in range(700):
        qbo_sandbox.add(realm, "Payment", {"CustomerRef": {"value": "1"}, "TotalAmt": 1.0})
    qbo_sandbox.clock.advance(1)
    newest = [qbo_sandbox.add(realm, "Invoice", SAMPLE_INVOICE)["Id"] for _ in range(400)]

    resp = qbo_api.get("cdc", params={"entities": "Payment,Invoice", "changedSince": since})

    payments, invoices = (
        block["QueryResponse"][0].get(name, [])
        for block, name in zip(resp.json()["CDCResponse"], ("Payment", "Invoice"), strict=True)
    )
    assert (len(payments), len(invoices)) == (700, 300)  # one cap: the newest 100 left out
    assert [i["Id"] for i in invoices] == newest[:300]


def test_cdc_does_not_report_a_deletion_older_than_30_days(
    qbo_sandbox: QboSandbox, qbo_api: ApiSession
) -> None:
    realm = qbo_sandbox.realms[0]
    payment = qbo_sandbox.add(realm, "Payment", {"CustomerRef": {"value": "1"}, "TotalAmt": 5.0})
    qbo_sandbox.delete(realm, "Payment", payment["Id"], days_ago=31)
    since = (qbo_sandbox.clock.utcnow() - timedelta(days=30, minutes=-1)).isoformat()

    resp = qbo_api.get("cdc", params={"entities": "Payment", "changedSince": since})

    assert resp.json()["CDCResponse"] == [{"QueryResponse": [{}]}]
