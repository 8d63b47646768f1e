"""Search pickers instead of typed ids: one macro, one endpoint per kind of record."""

from __future__ import annotations

import pytest

from tests.factories import login
from tests.quotes.conftest import build_quote
from webapp.extensions import db
from webapp.quotes import templating

PICKERS = [
    "/admin/organizations/pick",
    "/admin/catalog/products/pick",
    "/admin/quotes/templates/pick",
]


def test_the_organization_picker_finds_by_name_and_says_which_are_not_approved(client, store):
    login(client, store.sales)
    found = client.get(PICKERS[0], query_string={"q": "lit"}).get_data(as_text=True)
    assert f'data-pick-value="{store.unapproved_org.id}"' in found
    assert "not approved yet" in found
    assert f'data-pick-value="{store.org.id}"' not in found


def test_the_product_picker_finds_by_name_or_part_number_with_stock(client, store):
    login(client, store.purchasing)
    t14 = store.products[0]
    by_mpn = client.get(PICKERS[1], query_string={"q": t14.mpn}).get_data(as_text=True)
    assert f'data-pick-value="{t14.id}"' in by_mpn and "5 in stock" in by_mpn
    nothing = client.get(PICKERS[1], query_string={"q": "zzqx"}).get_data(as_text=True)
    assert "Nothing matches" in nothing and "data-pick-value" not in nothing


def test_the_template_picker_lists_active_templates_by_name(client, store):
    quote = build_quote(store)
    template = templating.save_as_template(quote, "Laptop refresh", store.admin)
    db.session.commit()
    login(client, store.sales)
    found = client.get(PICKERS[2], query_string={"q": "REFRESH"}).get_data(as_text=True)
    assert f'data-pick-value="{template.id}"' in found
    template.active = False
    db.session.commit()
    gone = client.get(PICKERS[2], query_string={"q": "refresh"}).get_data(as_text=True)
    assert "data-pick-value" not in gone


@pytest.mark.parametrize("url", PICKERS)
def test_customers_cannot_use_a_picker(client, store, url):
    login(client, store.customer)
    assert client.get(url, query_string={"q": "a"}).status_code == 404


@pytest.mark.parametrize("url", PICKERS)
@pytest.mark.parametrize("q", ["%", "_", "\\", "'; drop table", "x" * 5000, "١٢", "<b>x</b>"])
def test_a_hostile_search_gets_an_answer_not_an_error(client, store, url, q):
    login(client, store.admin)
    response = client.get(url, query_string={"q": q})
    assert response.status_code == 200
    assert "<b>x</b>" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "page", "fields"),
    [
        ("purchasing", "/admin/purchasing/stock", ["product_id"]),
        ("purchasing", "/admin/purchasing/bids", ["organization_id", "product_id"]),
        ("sales", "/admin/quotes/new", ["organization_id", "template_id"]),
    ],
)
def test_the_stock_bid_and_new_quote_forms_pick_by_search_not_by_typed_id(
    client, store, role, page, fields
):
    login(client, getattr(store, role))
    body = client.get(page).get_data(as_text=True)
    assert body.count("data-picker-search") == len(fields)
    for field in fields:
        assert f'type="hidden" name="{field}"' in body  # filled by the picker, never typed
        assert f'type="number" name="{field}"' not in body
