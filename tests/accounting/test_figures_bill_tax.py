"""Bills carry a purchase tax type on every line, and the ledger's bill totals equal ours
(issue 11): the tax rate on purchases is mapped apart from the one on sales."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.accounting.builders import connect_xero, make_receipt, point_app_at_xero
from tests.factories import login
from webapp import signals
from webapp.accounting import operations, queries
from webapp.catalog.models import TaxCode
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from workers.integrations import sync_connection


@pytest.fixture
def xero(app, xero_sandbox):
    """The Xero sandbox with GST on expenses at 10% and zero-rated expenses at 0%."""
    point_app_at_xero(app, xero_sandbox)
    rates = xero_sandbox.tenants[xero_sandbox.tenant_id].ledger["TaxRates"]
    for tax_type, name, rate in (("GSTONEXPENSES", "GST on Expenses", 10.0),
                                 ("ZERORATEDEXPENSE", "GST Free Expenses", 0.0)):  # fmt: skip
        rates[tax_type] = {**rates["INPUT"], "TaxType": tax_type, "Name": name,
                           "DisplayTaxRate": rate, "EffectiveRate": rate}  # fmt: skip
    return xero_sandbox


@pytest.fixture
def zero(store):
    code = TaxCode(code="ZERO", name="GST free", rate=Decimal("0"))
    db.session.add(code)
    store.products[1].tax_code = code
    db.session.flush()
    return code


def _bill_delivery() -> Delivery:
    return db.session.execute(db.select(Delivery).filter_by(kind="bill")).scalar_one()


def test_qbo_bill_lines_carry_the_purchase_tax_code_and_the_total_is_ours(
    qbo, qbo_connection, store
):
    receipt = make_receipt(store.supplier, store.products[:2])
    signals.receipt_recorded.send(receipt)
    db.session.commit()

    sync_connection(qbo_connection.id)

    (bill,) = qbo.entities(qbo.realms[0], "Bill")
    details = [
        line.get("ItemBasedExpenseLineDetail") or line["AccountBasedExpenseLineDetail"]
        for line in bill["Line"]
    ]
    assert [d["TaxCodeRef"] for d in details] == [{"value": "TAX"}] * 3  # 2 items + freight
    # 261.37 + 261.37 + 12.50 at 10%: 26.14 + 26.14 + 1.25 (rounded per line).
    assert bill["TxnTaxDetail"]["TotalTax"] == 53.53
    assert bill["TotalAmt"] == 588.77


def test_xero_bill_lines_name_their_own_purchase_tax_types_and_totals_equal_ours(xero, store, zero):
    connection = connect_xero(xero, tax_code="GST", tax_type="OUTPUT")
    operations.set_tax_mapping(connection, "GST", "GSTONEXPENSES", "GST on Expenses",
                               purchases=True)  # fmt: skip
    operations.set_tax_mapping(connection, "ZERO", "ZERORATEDEXPENSE", "GST Free",
                               purchases=True)  # fmt: skip
    operations.note_mappings(connection)
    receipt = make_receipt(store.supplier, store.products[:2])  # the second is GST free
    signals.receipt_recorded.send(receipt)
    db.session.commit()

    sync_connection(connection.id)

    [bill] = [r for r in xero.records("Invoices") if r["Type"] == "ACCPAY"]
    assert [line["TaxType"] for line in bill["LineItems"]] == [
        "GSTONEXPENSES",
        "ZERORATEDEXPENSE",
        "GSTONEXPENSES",  # freight: our default code, GST
    ]
    # 261.37 at 10% + 261.37 at 0% + 12.50 freight at 10%: tax 26.14 + 0 + 1.25.
    assert Decimal(str(bill["SubTotal"])) == receipt.total == Decimal("535.24")
    assert Decimal(str(bill["TotalTax"])) == Decimal("27.39")
    assert Decimal(str(bill["Total"])) == Decimal("562.63")


def test_a_product_tax_code_without_a_purchase_rate_blocks_the_bill_naming_it(xero, store, zero):
    connection = connect_xero(xero)  # GST mapped on both sides, ZERO on neither
    receipt = make_receipt(store.supplier, store.products[:2])
    signals.receipt_recorded.send(receipt)
    db.session.commit()

    sync_connection(connection.id)

    delivery = _bill_delivery()
    assert delivery.status == DeliveryStatus.FAILED
    assert not [r for r in xero.records("Invoices") if r["Type"] == "ACCPAY"]
    [note] = db.session.scalars(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert note.field == "Purchase tax code ZERO" and "on purchases" in note.fix


def test_without_a_purchase_rate_for_the_default_code_the_connection_needs_mapping(
    qbo, qbo_connection, store
):
    operations.set_tax_mapping(qbo_connection, "GST", "", "", purchases=True)
    assert queries.missing_mappings(qbo_connection) == [
        "Tax rate on purchases for our default tax code GST"
    ]
    assert qbo_connection.tax_for("GST").ledger_tax_id == "TAX"  # sales side untouched
    qbo_connection.push_bills = False
    assert queries.missing_mappings(qbo_connection) == []  # no bills: not needed


def test_the_mappings_page_saves_the_rate_on_purchases_beside_the_one_on_sales(
    client, qbo, qbo_connection, store, run_jobs
):
    operations.request_lists_refresh(qbo_connection)
    db.session.commit()
    run_jobs()
    login(client, store.admin)
    page = client.get(f"/admin/accounting/integrations?connection={qbo_connection.id}")
    assert 'name="purchase_tax_GST"' in page.get_data(as_text=True)

    url = f"/admin/accounting/connections/{qbo_connection.id}/mappings"
    refused = client.post(url, data={"tax_GST": "TAX", "purchase_tax_GST": "nope"})
    assert refused.status_code == 400
    assert "Unknown tax rate on purchases for GST" in refused.get_data(as_text=True)
    response = client.post(url, data={"tax_GST": "TAX", "purchase_tax_GST": "NON"})
    assert response.status_code == 303
    db.session.expire_all()
    mapping = qbo_connection.tax_for("GST")
    assert (mapping.ledger_tax_id, mapping.purchase_tax_id) == ("TAX", "NON")


def _purchase_order(qbo_connection, store):
    qbo_connection.push_purchase_orders = True
    receipt = make_receipt(store.supplier, store.products[:2])  # the second is GST free
    order = receipt.purchase_order
    order.freight = Decimal("18.00")
    order.total = order.subtotal + order.freight
    signals.purchase_order_issued.send(order)
    db.session.commit()
    return order


def test_qbo_purchase_order_lines_carry_the_purchase_tax_code_and_the_total_is_ours(
    qbo, qbo_connection, store, zero
):
    operations.set_tax_mapping(qbo_connection, "ZERO", "NON", "Non-taxable", purchases=True)
    order = _purchase_order(qbo_connection, store)

    sync_connection(qbo_connection.id)

    (pushed,) = qbo.entities(qbo.realms[0], "PurchaseOrder")
    details = [
        line.get("ItemBasedExpenseLineDetail") or line["AccountBasedExpenseLineDetail"]
        for line in pushed["Line"]
    ]
    # GST product, GST-free product, freight at our default code (GST).
    assert [d["TaxCodeRef"] for d in details] == [{"value": "TAX"}, {"value": "NON"},
                                                  {"value": "TAX"}]  # fmt: skip
    assert sum(Decimal(str(line["Amount"])) for line in pushed["Line"]) == order.total
    # 261.37 at 10% + 261.37 at 0% + 18.00 freight at 10%: 26.14 + 0 + 1.80.
    assert Decimal(str(pushed["TxnTaxDetail"]["TotalTax"])) == Decimal("27.94")
    assert Decimal(str(pushed["TotalAmt"])) == order.total + Decimal("27.94") == Decimal("568.68")


def test_a_product_tax_code_without_a_purchase_rate_blocks_the_purchase_order_naming_it(
    qbo, qbo_connection, store, zero
):
    _purchase_order(qbo_connection, store)  # ZERO has no rate on purchases

    sync_connection(qbo_connection.id)

    delivery = db.session.execute(db.select(Delivery).filter_by(kind="purchase_order")).scalar_one()
    assert delivery.status == DeliveryStatus.FAILED
    assert qbo.entities(qbo.realms[0], "PurchaseOrder") == []
    [note] = db.session.scalars(db.select(Notification).filter_by(delivery_id=delivery.id))
    assert note.field == "Purchase tax code ZERO" and "on purchases" in note.fix


def test_purchase_orders_alone_need_the_rate_on_purchases_for_the_default_code(
    qbo, qbo_connection, store
):
    operations.set_tax_mapping(qbo_connection, "GST", "", "", purchases=True)
    qbo_connection.push_bills = False
    qbo_connection.push_purchase_orders = True
    assert queries.missing_mappings(qbo_connection) == [
        "Tax rate on purchases for our default tax code GST"
    ]
