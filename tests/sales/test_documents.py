from decimal import Decimal

import pytest

from tests.factories import issue_order, login
from webapp.extensions import db
from webapp.sales import operations
from webapp.sales.models import DocumentKind, DocumentStatus, SalesDocument
from webapp.settings.operations import set_setting


def test_document_kind_and_number_follow_the_setting_at_creation(store):
    first = issue_order(store, "a")
    set_setting("display_document_as", "tax_invoice", store.admin)
    second = issue_order(store, "b")
    third = issue_order(store, "c")
    set_setting("display_document_as", "sales_order", store.admin)
    fourth = issue_order(store, "d")
    db.session.commit()
    assert [(d.kind, d.number) for d in (first, second, third, fourth)] == [
        (DocumentKind.SALES_ORDER, "SO-000001"),
        (DocumentKind.TAX_INVOICE, "INV-000001"),
        (DocumentKind.TAX_INVOICE, "INV-000002"),
        (DocumentKind.SALES_ORDER, "SO-000002"),
    ]
    # Issued documents keep their kind.
    assert db.session.get(SalesDocument, second.id).kind is DocumentKind.TAX_INVOICE


def test_line_amounts_are_rounded_once_per_line(store):
    document = issue_order(store)
    line = document.lines[0]
    assert line.line_subtotal == Decimal("99.99")
    assert line.line_tax == Decimal("10.00")  # 9.999 rounds half up to 10.00
    assert document.total == Decimal("99.99") + Decimal("10.00") + Decimal("10.00") + Decimal(
        "1.00"
    )


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (DocumentStatus.COMPLETED, DocumentStatus.APPROVED),
        (DocumentStatus.COMPLETED, DocumentStatus.CANCELLED),
        (DocumentStatus.CANCELLED, DocumentStatus.APPROVED),
        (DocumentStatus.CANCELLED, DocumentStatus.ON_HOLD),
        (DocumentStatus.APPROVED, DocumentStatus.ON_HOLD),
        (DocumentStatus.APPROVED, DocumentStatus.APPROVED),
        (DocumentStatus.ON_HOLD, DocumentStatus.COMPLETED),
    ],
)
def test_illegal_status_changes_raise(store, start, target):
    document = issue_order(store)
    document.status = start
    with pytest.raises(operations.IllegalTransition):
        operations.transition(document, target, store.admin)
    assert document.status is start


def test_every_legal_transition_is_recorded_on_the_timeline(store):
    for start, targets in operations.TRANSITIONS.items():
        for target in targets:
            document = issue_order(store, f"{start}-{target}")
            document.status = start
            operations.transition(document, target, store.admin, "because")
            assert document.status is target
            # Other domains may add their own events after it (procurement reacts to both).
            recorded = [e for e in document.events if e.type == f"status.{target.value}"]
            assert [e.data["reason"] for e in recorded] == ["because"]


def test_staff_cancel_an_order_with_a_reason(client, store):
    document = issue_order(store)
    db.session.commit()
    login(client, store.sales)
    response = client.post(
        f"/admin/orders/{document.id}/status", data={"status": "cancelled", "reason": "duplicate"}
    )
    assert response.status_code == 303
    assert db.session.get(SalesDocument, document.id).status is DocumentStatus.CANCELLED
    page = client.get(f"/admin/orders/{document.id}").get_data(as_text=True)
    assert "Approved → Cancelled: duplicate" in page


def test_the_customer_is_emailed_when_their_order_is_cancelled(client, store, run_jobs, mailbox):
    document = issue_order(store)
    db.session.commit()
    run_jobs()
    mailbox.clear()  # the order's own email
    login(client, store.sales)

    url = f"/admin/orders/{document.id}/status"
    client.post(url, data={"status": "cancelled", "reason": "out of stock"})
    run_jobs()

    [message] = mailbox.to(store.customer.email)
    assert message["Subject"].startswith(f"Sales Order {document.number} cancelled")
    text = mailbox.text(message)
    assert "has been cancelled: out of stock" in text
    assert f"/orders/{document.number}" in text
    client.post("/logout")
    login(client, store.customer)
    page = client.get(f"/orders/{document.number}").get_data(as_text=True)
    assert "This order was cancelled on" in page and "out of stock" in page
    emailed = [e.message for e in db.session.get(SalesDocument, document.id).events]
    assert [m for m in emailed if "emailed" in m] == [
        f"Sales Order emailed to {store.customer.email}",
        f"Cancellation emailed to {store.customer.email}",
    ]


def test_illegal_status_change_from_the_admin_is_explained(client, store):
    document = issue_order(store)
    document.status = DocumentStatus.CANCELLED
    db.session.commit()
    login(client, store.admin)
    response = client.post(
        f"/admin/orders/{document.id}/status", data={"status": "approved"}, follow_redirects=True
    )
    assert "Not changed: a cancelled document cannot become approved" in response.get_data(
        as_text=True
    )


def test_purchasing_staff_cannot_cancel_orders(client, store):
    document = issue_order(store)
    db.session.commit()
    login(client, store.purchasing)
    response = client.post(f"/admin/orders/{document.id}/status", data={"status": "cancelled"})
    assert response.status_code == 403


def test_admin_orders_list_filters_by_kind_and_returns_a_fragment_for_htmx(client, store):
    issue_order(store, "a")
    set_setting("display_document_as", "tax_invoice", store.admin)
    issue_order(store, "b")
    db.session.commit()
    login(client, store.admin)
    response = client.get("/admin/orders/?kind=tax_invoice", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="orders-table">')
    assert "INV-000001" in body and "SO-000001" not in body
    assert (
        response.headers["Vary"] == "Cookie, HX-Request" or "HX-Request" in response.headers["Vary"]
    )
    assert client.get("/admin/orders/?status=bogus").status_code == 400


def test_the_dashboard_does_not_count_cancelled_orders_as_sales(client, store):
    kept, cancelled = issue_order(store, "k-kept"), issue_order(store, "k-cancelled")
    operations.transition(cancelled, DocumentStatus.CANCELLED, store.admin, "duplicate")
    db.session.commit()
    login(client, store.admin)

    html = client.get("/admin/").get_data(as_text=True)

    orders = html.split("Orders, last 30 days</div>")[1].split("</div>")[0]
    sales = html.split("Sales, last 30 days</div>")[1].split("</div>")[0]
    assert orders.strip().endswith(">1")
    assert f"${kept.total:,.2f}" in sales
