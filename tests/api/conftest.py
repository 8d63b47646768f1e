"""An API scene on top of the store: keys for the MSP and for one customer, and a client."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

# The reference page's browser test uses tests/browser's Chromium (one per package).
from tests.browser.conftest import chromium, new_page  # noqa: F401
from tests.factories import Store

# The loopback webhook receiver of tests/webhooks.
from tests.webhooks.test_webhooks import receiver  # noqa: F401
from webapp.api import operations as keys
from webapp.api.operations import SCOPES
from webapp.extensions import db
from webapp.purchasing import lifecycle, ordering
from webapp.quotes import building, sending
from webapp.sales import operations as sales


def make_key(store: Store, scopes=None, organization=None, **fields) -> str:
    new = keys.create_key(
        name=fields.pop("name", "Test key"),
        scopes=list(SCOPES) if scopes is None else scopes,
        actor=store.admin,
        organization=organization,
        **fields,
    )
    db.session.commit()
    return new.secret


def bearer(secret: str, **headers) -> dict:
    return {"Authorization": f"Bearer {secret}", **headers}


def issue_order(store: Store, organization, contact, key: str, hold_reason: str = ""):
    return sales.issue_document(
        organization=organization,
        contact=contact,
        lines=[
            sales.LineInput(
                product_id=store.products[0].id,
                sku=store.products[0].mpn,
                description="ThinkPad",
                quantity=2,
                unit_price=Decimal("1100.00"),
                unit_cost=Decimal("1000"),
                tax_code=None,
            )
        ],
        header=sales.HeaderInput(
            ship_to_name="Reception",
            address_line1="1 Main Street",
            address_line2="",
            city="Springfield",
            region="",
            postcode="62701",
            country="US",
            shipping_method_name="Courier",
            shipping_charge=Decimal("15.00"),
            payment_method=sales.PaymentMethod.ON_ACCOUNT,
            surcharge_pct=Decimal(0),
            customer_po="",
            note="",
        ),
        source=sales.DocumentSource.STORE,
        idempotency_key=key,
        actor=contact,
        currency="USD",
        hold_reason=hold_reason,
    )


@dataclass
class ApiScene:
    store: Store
    msp_key: str
    customer_key: str  # Contoso's, read scopes only
    sent_quote: object  # Contoso's, sent
    draft_quote: object  # Contoso's, a draft
    other_quote: object  # Fabrikam's, sent
    order: object  # Contoso's
    other_order: object  # Fabrikam's
    draft_po: object


def _sent_quote(store: Store, organization, title: str):
    quote = building.create_quote(
        organization=organization, owner=store.sales, actor=store.sales, title=title
    )
    building.add_product_line(quote, quote.sections[0], store.products[0], 1, store.sales)
    if quote.recipients:
        sending.send_quote(quote, store.sales)
    return quote


@pytest.fixture
def scene(store) -> ApiScene:
    from tests.factories import make_user

    fabrikam_approver = make_user(organization=store.other_org, is_approver=True)
    sent = _sent_quote(store, store.org, "Sent to Contoso")
    draft = building.create_quote(
        organization=store.org, owner=store.sales, actor=store.sales, title="Draft"
    )
    other = _sent_quote(store, store.other_org, "Sent to Fabrikam")
    assert fabrikam_approver.id and other.status.value == "sent"
    order = issue_order(store, store.org, store.customer, "api-scene-1")
    other_order = issue_order(store, store.other_org, store.other_customer, "api-scene-2")
    po = lifecycle.create_purchase_order(store.supplier, store.purchasing)
    ordering.add_manual_line(
        po, product=store.products[1], quantity=3, unit_cost=Decimal("1500"), actor=store.purchasing
    )
    db.session.commit()
    return ApiScene(
        store=store,
        msp_key=make_key(store),
        customer_key=make_key(
            store,
            ["catalog:read", "organizations:read", "quotes:read", "orders:read"],
            organization=store.org,
            name="Contoso portal",
        ),
        sent_quote=sent,
        draft_quote=draft,
        other_quote=other,
        order=order,
        other_order=other_order,
        draft_po=po,
    )
