"""A quoting scene on top of the store: a second approver, a quote with every kind of line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

# The browser test drives the admin and the approver page with tests/browser's Chromium.
from tests.browser.conftest import chromium, new_page, shop  # noqa: F401
from tests.factories import Store, make_user
from webapp.catalog.models import ProductType
from webapp.extensions import db
from webapp.quotes import building, sending
from webapp.quotes.models import Quote
from webapp.sales.models import Recurrence


@dataclass
class Quoting:
    store: Store
    cfo: object  # a second approver at Contoso
    outsider: object  # an approver at another organization


@pytest.fixture
def quoting(store) -> Quoting:
    cfo = make_user(
        organization=store.org, email="cfo@contoso.example", name="Chris Fo", is_approver=True
    )
    outsider = make_user(
        organization=store.other_org, email="boss@fabrikam.example", is_approver=True
    )
    store.sales.name = "Sam Sales"
    db.session.commit()
    return Quoting(store, cfo, outsider)


def build_quote(store: Store, *, recipients=None) -> Quote:
    """Laptop refresh: E16 x2 always, T14 or X1 (choose one), optional dock, monthly service.

    Prices: E16 770 (700 + 10%), T14 1100, X1 1650, dock 200 (cost 150), service 45/month.
    """
    sales = store.sales
    quote = building.create_quote(
        organization=store.org, owner=sales, actor=sales, title="Laptop refresh"
    )
    items = quote.sections[0]
    building.add_product_line(quote, items, store.products[2], 2, sales)
    laptops = building.add_section(quote, "Laptop for the director", True, sales)
    building.add_product_line(quote, laptops, store.products[0], 1, sales)
    building.add_product_line(quote, laptops, store.products[1], 1, sales)
    extras = building.add_section(quote, "Extras", False, sales)
    dock = building.add_custom_line(
        quote,
        extras,
        description="Docking station",
        product_type=ProductType.PHYSICAL,
        quantity=1,
        unit_price=Decimal("200.00"),
        unit_cost=Decimal("150"),
        sku="DOCK-1",
        actor=sales,
    )
    change(quote, dock, optional=True, qty_editable=True, min_qty=1, max_qty=5)
    service = building.add_custom_line(
        quote,
        extras,
        description="Managed workstation",
        product_type=ProductType.RECURRING_SERVICE,
        quantity=2,
        unit_price=Decimal("45.00"),
        unit_cost=Decimal("20"),
        sku="MS-1",
        actor=sales,
    )
    change(quote, service, recurrence=Recurrence.MONTHLY, term_months=24)
    if recipients is not None:
        building.set_recipients(quote, [u.id for u in recipients], sales)
    db.session.commit()
    return quote


def change(quote, line, **changes) -> None:
    fields = building.LineChanges.__dataclass_fields__
    current = {name: getattr(line, name) for name in fields}
    building.update_line(quote, line, building.LineChanges(**{**current, **changes}), quote.owner)


def keys(quote: Quote) -> dict[str, str]:
    """Form keys by description: {"ThinkPad T14": "l3", "Laptop for the director": "s2", ...}."""
    found = {section.title: f"s{section.id}" for section in quote.sections}
    found.update({line.description: f"l{line.id}" for line in quote.lines})
    return found


def send(quote: Quote) -> None:
    sending.send_quote(quote, quote.owner)
    db.session.commit()


def link_path(quote: Quote, user) -> str:
    url = sending.approval_url(quote, quote.current_version, user)
    return urlsplit(url).path


LINK = re.compile(r"http://localhost(/q/[\w.\-]+)")


def link_in(text: str) -> str:
    return LINK.search(text).group(1)


_REVISION = re.compile(r'name="revision" value="(\d+)"')


def drawn_revision(client, quote_id: int) -> str:
    """The revision the builder's forms carry when the page is drawn now (read from the page)."""
    page = client.get(f"/admin/quotes/{quote_id}").get_data(as_text=True)
    return _REVISION.search(page).group(1)
