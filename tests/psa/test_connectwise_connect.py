"""Connecting ConnectWise: the codebase is found and re-found, the check names each missing
permission and hidden setup table, lookups are read, keys stored encrypted — against the sandbox."""

from __future__ import annotations

import pytest

from tests.factories import login
from webapp.extensions import db
from webapp.integrations.models import ConnectionStatus
from webapp.psa.connectwise import matching, operations
from webapp.psa.connectwise.client import condition, literal
from webapp.psa.models import PsaConnection


@pytest.fixture
def cw(app, connectwise_sandbox):
    app.config["CONNECTWISE_API_BASE"] = connectwise_sandbox.base_url
    app.config["CONNECTWISE_KEY_HOSTS"] = "127.0.0.1"
    return connectwise_sandbox


def connect(sandbox, **changes) -> PsaConnection:
    values = {
        "site": sandbox.site_url,
        "company_id": sandbox.company_id,
        "public_key": sandbox.public_key,
        "private_key": sandbox.private_key,
        "client_id": sandbox.client_id,
        **changes,
    }
    connection = operations.connect_connectwise(**values, actor="Admin")
    db.session.commit()
    return connection


def checks(connection) -> dict[str, dict]:
    return {item["name"]: item for item in connection.check_results}


def test_connecting_finds_the_codebase_pins_the_version_and_stores_keys_encrypted(
    app, store, cw, run_jobs
):
    connection = connect(cw)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.zone_name == "v2026_1/"
    assert connection.api_base == cw.api_url
    assert connection.check_passed, connection.check_results
    assert cw.private_key not in connection.token_ciphertext
    assert cw.client_id not in connection.token_ciphertext
    stored = operations.credentials(connection)
    assert (stored.private_key, stored.client_id) == (cw.private_key, cw.client_id)
    assert set(cw.accept_versions) == {"application/vnd.connectwise.com+json; version=2026.1"}
    run_jobs()  # the lookups
    db.session.refresh(connection)
    assert connection.choices("boards") == [("1", "Service Desk"), ("2", "Sales Orders")]
    assert ("22", "Sales Orders › Done") in connection.choices("ticket_statuses")
    won = next(r for r in connection.picklists["opportunity_statuses"] if r["label"] == "Won")
    assert won["wonFlag"] is True
    # Seed 000's default: the Prospect type with an Active status.
    assert connection.option("sync_types") == ["2"]
    assert connection.option("sync_statuses") == ["1"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"company_id": "nobody"}, "does not know the company"),
        ({"private_key": "wrong"}, "refused the API member's keys"),
        ({"client_id": "not-registered"}, "client id"),
        ({"public_key": ""}, "Enter the site"),
    ],
)
def test_wrong_keys_are_refused_with_a_reason_and_nothing_is_stored(app, store, cw, changes, words):
    with pytest.raises(operations.IntegrationRuleError, match=words):
        connect(cw, **changes)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(PsaConnection.id))) == 0


def test_the_check_names_a_missing_permission_and_a_hidden_setup_table(app, store, cw):
    cw.denied.add("procurement/purchaseorders")
    cw.hidden.add("finance/taxCodes")
    connection = connect(cw)
    found = checks(connection)
    assert not connection.check_passed
    purchasing = found["Procurement › Purchasing"]
    assert not purchasing["ok"] and "security role" in purchasing["message"]
    tax = found["Invoicing / Tax Code"]
    assert not tax["ok"] and "Table Setup" in tax["message"]
    assert found["Sales › Opportunity"]["ok"]


def test_an_upgrade_moves_the_codebase_and_the_next_call_finds_it(app, store, cw):
    connection = connect(cw)
    calls = cw.companyinfo_calls
    cw.upgrade("v2026_2/")
    operations.run_check(connection)
    db.session.commit()
    assert connection.zone_name == "v2026_2/"
    assert connection.api_base.endswith("/v2026_2/apis/3.0")
    assert cw.companyinfo_calls > calls
    assert connection.check_passed


def test_conditions_quote_strings_dates_and_booleans():
    from datetime import UTC, datetime

    assert condition("name", "=", 'Say "hi" [1]') == 'name = "Say ""hi"" [[]1]"'
    assert literal(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "[2026-01-02T03:04:05Z]"
    assert condition("deletedFlag", "=", False) == "deletedFlag = False"
    assert condition("status/id", "in", [1, 2]) == "status/id in (1,2)"
    with pytest.raises(ValueError):
        condition("name", "eq", "x")


def test_deleted_and_other_type_companies_are_never_offered(app, store, cw, run_jobs):
    connection = connect(cw)
    run_jobs()
    db.session.refresh(connection)
    connection.options = {**connection.options, "sync_types": ["1"], "sync_statuses": ["1", "2"]}
    db.session.commit()
    offered = matching.companies_offered(connection)
    assert [c["identifier"] for c in offered] == ["Northwind"]  # not the deleted twin, no vendor
    deleted = next(
        r["id"]
        for r in cw.table("company/companies").values()
        if r["identifier"] == "Northwind-old"
    )
    with pytest.raises(operations.IntegrationRuleError, match="not one of the synced"):
        matching.link_organization(connection, store.org, deleted)


def test_the_settings_page_connects_and_explains_the_three_configurations(
    app, store, client, cw, run_jobs
):
    login(client, store.admin)
    bad = client.post(
        "/admin/psa/connectwise/",
        data={"site": cw.site_url, "company_id": cw.company_id, "public_key": cw.public_key,
              "private_key": "wrong", "client_id": cw.client_id},
    )  # fmt: skip
    assert bad.status_code == 400 and "refused the API member" in bad.get_data(as_text=True)
    ok = client.post(
        "/admin/psa/connectwise/",
        data={"site": cw.site_url, "company_id": cw.company_id, "public_key": cw.public_key,
              "private_key": cw.private_key, "client_id": cw.client_id},
    )  # fmt: skip
    assert ok.status_code == 303
    run_jobs()
    page = client.get("/admin/psa/connectwise/").get_data(as_text=True)
    for title, _ in operations.CONFIGURATIONS.values():
        assert title in page
    assert cw.private_key not in page and cw.client_id not in page
    assert 'name="ticket_status"' in page and "Sales Orders › Done" in page
    from tests.psa.conftest import SETTINGS

    connection = db.session.scalar(db.select(PsaConnection))
    fragment = client.get(
        f"/admin/psa/connectwise/{connection.id}/lookups", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert f'id="cw-lookups-{connection.id}"' in text and "<html" not in text
    saved = client.post(
        f"/admin/psa/connectwise/{connection.id}/settings",
        data={**SETTINGS, "configuration": "cw_invoicing", "invoice_from": "ticket",
              "sync_types": "2", "sync_statuses": "1", "board": "99"},
    )  # fmt: skip
    assert saved.status_code == 400 and "Service board for tickets" in saved.get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"site": "http://[::1"}, "Site: enter the host name"),
        ({"site": "na.myconnectwise.net/../x"}, "Site: enter the host name"),
        ({"company_id": "a/b"}, "Company id"),
        ({"client_id": " \u00af\x06"}, "Client id"),
    ],
)
def test_a_malformed_site_or_company_is_refused_before_any_call(app, store, cw, changes, words):
    before = len(cw.requests) + cw.companyinfo_calls
    with pytest.raises(operations.IntegrationRuleError, match=words):
        connect(cw, **changes)
    assert len(cw.requests) + cw.companyinfo_calls == before


@pytest.mark.parametrize(
    "site, words",
    [
        (None, "a loopback address"),  # the sandbox itself, on 127.0.0.1
        ("http://10.0.0.5", "a private network address"),
        ("http://169.254.169.254", "link-local"),
        ("localhost", "a loopback address"),  # a name, resolved
    ],
)
def test_a_site_that_is_not_on_the_public_internet_is_refused_before_any_call(
    app, store, connectwise_sandbox, site, words
):
    app.config["CONNECTWISE_API_BASE"] = connectwise_sandbox.base_url
    app.config["CONNECTWISE_ALLOW_LOOPBACK"] = False
    with pytest.raises(operations.IntegrationRuleError, match=f"Site: .*{words}"):
        connect(connectwise_sandbox, **({"site": site} if site else {}))
    assert connectwise_sandbox.requests == []
    assert db.session.scalar(db.select(PsaConnection)) is None


def test_the_shared_settings_routes_answer_only_for_their_own_provider(app, store, client, cw):
    connection = connect(cw)
    login(client, store.admin)
    for path in ("check", "picklists", "disconnect"):
        assert client.post(f"/admin/psa/connections/{connection.id}/{path}").status_code == 404
    assert client.post(f"/admin/psa/connectwise/{connection.id}/check").status_code == 303
    assert (
        client.post(f"/admin/psa/connectwise/{connection.id}/check", csrf=False).status_code == 400
    )
    client.post("/logout")
    login(client, store.sales)
    assert client.post(f"/admin/psa/connectwise/{connection.id}/disconnect").status_code == 403


def test_bulk_pulls_page_forward_only_and_patches_replace_whole_values_read_back(app, store, cw):
    ids = [
        cw.add(
            "company/companies",
            identifier=f"BULK{n}",
            name=f"Bulk {n}",
            types=[{"id": 2}],
            status={"id": 1},
            deletedFlag=False,
        )  # fmt: skip
        for n in range(5)
    ]
    api = operations.client_for(connect(cw))
    cw.requests.clear()
    pulled = [row["id"] for row in api.each("company/companies", 'identifier like "BULK*"',
                                              page_size=2)]  # fmt: skip
    assert pulled == ids  # every record, once, in id order
    gets = [r for r in cw.requests if r[0] == "GET" and "company/companies" in r[1]]
    assert len(gets) == 3  # 2 + 2 + 1, each page following the Link header's pageId
    assert all({k.lower(): v for k, v in r[2].items()}["pagination-type"] == "forward-only"
               for r in gets)  # fmt: skip
    stored = api.patch(f"company/companies/{ids[0]}", {"name": "Bulk Zero", "status": {"id": 2}})
    assert stored["name"] == "Bulk Zero" and cw.table("company/companies")[ids[0]]["name"] == (
        "Bulk Zero"
    )
    assert [r[0] for r in cw.requests[-2:]] == ["PATCH", "GET"]  # read back after the PATCH
    with pytest.raises(ValueError, match="whole values only"):
        api.patch(f"company/companies/{ids[0]}", {"status/id": 2})  # a false 200 at ConnectWise
