"""Shipping (income), supplier freight (cost) and surcharge each go to their own account."""

from __future__ import annotations

from decimal import Decimal

from tests.accounting.builders import make_document, make_receipt
from tests.factories import login
from webapp import signals
from webapp.accounting import operations, queries
from webapp.accounting.interfaces import AccountPurpose
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus
from workers.integrations import sync_connection


def test_qbo_purchase_order_carries_the_supplier_freight_on_the_freight_account(
    qbo, qbo_connection, store
):
    qbo_connection.push_purchase_orders = True
    receipt = make_receipt(store.supplier, store.products[:1])
    order = receipt.purchase_order
    order.freight = Decimal("18.00")
    order.total = order.subtotal + order.freight
    signals.purchase_order_issued.send(order)
    db.session.commit()

    sync_connection(qbo_connection.id)

    (pushed,) = qbo.entities(qbo.realms[0], "PurchaseOrder")
    [freight] = [ln for ln in pushed["Line"] if ln["DetailType"] == "AccountBasedExpenseLineDetail"]
    assert freight["Amount"] == 18.0
    assert freight["AccountBasedExpenseLineDetail"]["AccountRef"] == {"value": "80"}
    assert sum(Decimal(str(line["Amount"])) for line in pushed["Line"]) == order.total
    # Plus the purchase tax the lines name (freight included): 261.37 + 18.00 at 10%.
    assert Decimal(str(pushed["TotalAmt"])) == order.total + Decimal("27.94")


def test_invoice_shipping_and_surcharge_use_their_own_income_accounts(qbo, qbo_connection, store):
    operations.set_account_mapping(qbo_connection, AccountPurpose.SURCHARGE, "79", "Sales")
    doc = make_document(store.org, store.customer, store.products[:1], surcharge="3.00")
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()

    sync_connection(qbo_connection.id)

    items = {i["Name"]: i for i in qbo.entities(qbo.realms[0], "Item")}
    assert items["Freight"]["IncomeAccountRef"] == {"value": "1"}  # shipping: income
    assert "ExpenseAccountRef" not in items["Freight"]
    assert items["Payment surcharge"]["IncomeAccountRef"] == {"value": "79"}


def test_connection_without_a_shipping_account_needs_mapping_and_sends_nothing(
    qbo, qbo_connection, store
):
    operations.set_account_mapping(qbo_connection, AccountPurpose.SHIPPING, "", "")
    doc = make_document(store.org, store.customer, store.products[:1])
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()

    sync_connection(qbo_connection.id)

    assert queries.missing_mappings(qbo_connection) == [
        "Shipping charged to customers (income) account"
    ]
    assert not qbo.entities(qbo.realms[0], "Invoice")
    statuses = set(db.session.execute(db.select(Delivery.status)).scalars())
    assert DeliveryStatus.CONFIRMED not in statuses and DeliveryStatus.FAILED not in statuses

    operations.set_account_mapping(qbo_connection, AccountPurpose.SHIPPING, "1", "Services")
    db.session.commit()
    sync_connection(qbo_connection.id)

    assert len(qbo.entities(qbo.realms[0], "Invoice")) == 1


def test_integrations_page_lists_what_is_missing(client, qbo, qbo_connection, store):
    operations.set_account_mapping(qbo_connection, AccountPurpose.SURCHARGE, "", "")
    operations.set_tax_mapping(qbo_connection, "GST", "", "")
    db.session.commit()

    login(client, store.admin)
    page = client.get(f"/admin/accounting/integrations?connection={qbo_connection.id}")

    text = page.get_data(as_text=True)
    assert "Needs mapping" in text
    assert "Payment surcharge (income) account" in text
    assert "Tax rate for our default tax code GST" in text


def test_cli_sync_says_what_needs_mapping_and_exits_1(app, qbo, qbo_connection, store):
    operations.set_account_mapping(qbo_connection, AccountPurpose.FREIGHT, "", "")
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["accounting", "sync"])

    assert result.exit_code == 1
    assert "needs mapping, nothing sent" in result.output
    assert "Supplier freight (cost) account" in result.output
