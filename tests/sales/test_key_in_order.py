"""Orders keyed in by staff: the store's prices and organization approval, then issued."""

from decimal import Decimal

import pytest

from webapp.sales import operations
from webapp.sales.models import DocumentSource, DocumentStatus


def header() -> operations.HeaderInput:
    return operations.HeaderInput(
        ship_to_name="Reception",
        address_line1="1 Main Street",
        address_line2="",
        city="Springfield",
        region="",
        postcode="62701",
        country="US",
        shipping_method_name="Courier",
        shipping_charge=Decimal("15.00"),
        payment_method=operations.PaymentMethod.ON_ACCOUNT,
        surcharge_pct=Decimal(0),
        customer_po="PO-7",
        note="",
    )


def key_in(store, organization=None, contact=None, items=None, key="k"):
    return operations.key_in_order(
        organization=organization or store.org,
        contact=contact or store.customer,
        items=items or [operations.OrderItem(store.products[0], 2)],
        header=header(),
        actor=store.sales,
        idempotency_key=key,
    )


def test_an_order_is_priced_from_the_catalog_for_the_organization(store):
    document = key_in(store)
    assert document.source is DocumentSource.API
    assert document.status is DocumentStatus.APPROVED
    # ThinkPad T14: cost 1000 + the 10% laptops rule; tax 10% (the default code).
    assert [(line.unit_price, line.quantity) for line in document.lines] == [
        (Decimal("1100.00"), 2)
    ]
    assert document.total == Decimal("2200.00") + Decimal("220.00") + Decimal("16.50")


def test_an_unapproved_organization_or_a_foreign_contact_is_refused(store):
    with pytest.raises(operations.OrderRefused, match="not approved") as refused:
        key_in(store, organization=store.unapproved_org, contact=store.unapproved_customer)
    assert refused.value.field == "organization_id"
    with pytest.raises(operations.OrderRefused, match="contact") as refused:
        key_in(store, contact=store.other_customer)
    assert refused.value.field == "contact_id"


def test_obsolete_products_and_bad_quantities_name_their_line(store):
    store.products[1].obsolete = True
    items = [operations.OrderItem(store.products[0], 1), operations.OrderItem(store.products[1], 1)]
    with pytest.raises(operations.OrderRefused, match="obsolete") as refused:
        key_in(store, items=items)
    assert refused.value.field == "lines/1/product_id"
    with pytest.raises(operations.OrderRefused) as refused:
        key_in(store, items=[operations.OrderItem(store.products[0], 0)])
    assert refused.value.field == "lines/0/quantity"
