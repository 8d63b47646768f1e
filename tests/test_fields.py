"""Money, costs, quantities, percentages and dates: one set of bounded field types, everywhere."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update

from tests.factories import login
from tests.quotes.conftest import build_quote, drawn_revision, link_path, send
from webapp.extensions import db
from webapp.parsing import (
    COST_MAX,
    MONEY_MAX,
    InputRefused,
    bounded_date,
    bounded_decimal,
    same_site_path,
)
from webapp.quotes.models import Quote, QuoteLine

HX = {"HX-Request": "true"}
HOSTILE_NUMBERS = ["1e30", "NaN", "Infinity", "-Infinity", "9" * 29, "١٢", "１２", "1_000", "0x10"]


@pytest.mark.parametrize("raw", HOSTILE_NUMBERS)
def test_money_refuses_what_decimal_would_accept(raw):
    with pytest.raises(InputRefused):
        bounded_decimal(raw, places=2, minimum=Decimal(0), maximum=MONEY_MAX)


def test_money_is_fixed_scale_and_bounded():
    money = {"places": 2, "minimum": Decimal(0), "maximum": MONEY_MAX}
    assert bounded_decimal(" 12.5 ", **money) == Decimal("12.50")
    assert str(bounded_decimal("12.5000", **money)) == "12.50"
    with pytest.raises(InputRefused, match="at most 2 decimal places"):
        bounded_decimal("0.00004", **money)
    with pytest.raises(InputRefused, match="from 0 to 999,999,999.99"):
        bounded_decimal("1000000000", **money)
    with pytest.raises(InputRefused, match="from 0 to"):
        bounded_decimal("-1", **money)
    assert bounded_decimal("0.0004", places=4, minimum=Decimal(0), maximum=COST_MAX) == Decimal(
        "0.0004"
    )


def test_dates_outside_a_sane_range_are_refused_with_a_message():
    assert bounded_date("2026-12-06") == date(2026, 12, 6)
    for raw in ["9999-12-31", "0001-01-01", "2026-02-30", "２０２６-01-01", "06/12/2026"]:
        with pytest.raises(InputRefused):
            bounded_date(raw)


@pytest.mark.parametrize(
    "target",
    [
        "/ok\r\nSet-Cookie: x=1",
        "/ok\nx",
        "/\\evil.example",
        "//evil.example",
        "http://evil.example/",
    ],
)
def test_a_redirect_target_with_a_newline_or_another_site_is_refused(target):
    assert same_site_path(target) is None


def test_a_same_site_referer_is_followed_as_a_path():
    assert same_site_path("http://shop.example/cart?x=1", "shop.example") == "/cart?x=1"
    assert same_site_path("http://evil.example/cart", "shop.example") is None


def test_a_price_of_1e30_is_refused_by_the_builder_and_changes_nothing(client, store):
    quote = build_quote(store)
    login(client, store.sales)
    line = quote.lines[0]
    price = line.unit_price
    for raw, message in [
        ("1e30", "without an exponent"),
        ("9" * 29, "Enter"),
        ("NaN", "is not a number"),
        ("١٢", "is not a number"),
    ]:
        data = {
            "description": line.description,
            "quantity": "1",
            "unit_price": raw,
            "unit_cost": "1",
            "recurrence": "none",
        }
        response = client.post(f"/admin/quotes/{quote.id}/lines/{line.id}", data=data, headers=HX)
        assert response.status_code == 422, raw
        assert "Unit price" in response.get_data(as_text=True)
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(QuoteLine, line.id).unit_price == price


def test_an_expiry_of_9999_12_31_gets_a_message(client, store):
    quote = build_quote(store)
    login(client, store.sales)
    data = {
        "title": "x",
        "owner_id": str(store.sales.id),
        "expires_on": "9999-12-31",
        "payment_method": "invoice",
        "shipping_charge": "0",
    }
    response = client.post(f"/admin/quotes/{quote.id}/header", data=data, headers=HX)
    assert response.status_code == 422
    assert "Enter a date from 2000-01-01 to 2099-12-31." in response.get_data(as_text=True)


def test_a_quote_already_holding_a_price_of_1e30_still_opens_and_can_be_fixed(client, store):
    quote = build_quote(store)
    line = quote.lines[0]
    # As stored before the bounds existed: SQLite keeps what it is given; PostgreSQL's
    # Numeric(14, 2) holds at most 999,999,999,999.99, far past the form's maximum.
    huge = Decimal("1e30") if db.engine.dialect.name == "sqlite" else Decimal("999999999999.99")
    db.session.execute(update(QuoteLine).where(QuoteLine.id == line.id).values(unit_price=huge))
    db.session.commit()
    login(client, store.sales)
    assert client.get(f"/admin/quotes/{quote.id}").status_code == 200
    assert client.get(f"/admin/quotes/{quote.id}/pdf").status_code == 200
    data = {
        "description": line.description,
        "quantity": "1",
        "unit_price": "10.00",
        "unit_cost": "1",
        "recurrence": "none",
        "revision": drawn_revision(client, quote.id),
    }
    fixed = client.post(f"/admin/quotes/{quote.id}/lines/{line.id}", data=data, headers=HX)
    assert fixed.status_code == 200
    db.session.expire_all()
    assert db.session.get(QuoteLine, line.id).unit_price == Decimal("10.00")


def _nul_requests(store, quote_path):
    category = store.products[0].category
    return [
        ("customer", "get", "/search?q=a%00b", None),
        ("customer", "get", f"/c/{category.slug}?page=1%00", None),
        ("customer", "post", "/checkout/details", {"ship_to_name": "Ann\x00", "city": "x"}),
        ("customer", "post", f"{quote_path}/accept", {"full_name": "A\x00B"}),
        ("customer", "post", f"{quote_path}/decline", {"reason": "no\x00"}),
        ("admin", "get", "/admin/quotes/?q=%00", None),
        ("admin", "post", "/admin/quotes/new", {"title": "\x00", "organization_id": "1"}),
        ("anonymous", "get", "/login?next=/%00", None),
        ("anonymous", "get", "/c/%00", None),
    ]


def test_a_nul_byte_anywhere_is_a_400(app, store):
    quote = build_quote(store)
    send(quote)
    quote = db.session.get(Quote, quote.id)
    path = link_path(quote, store.customer)
    clients = {"anonymous": app.test_client()}
    for role in ("customer", "admin"):
        clients[role] = app.test_client()
        login(clients[role], getattr(store, role))
    for role, method, url, data in _nul_requests(store, path):
        response = getattr(clients[role], method)(url, data=data)
        assert response.status_code == 400, (role, url, response.status_code)
    assert db.session.get(Quote, quote.id).status.value == "sent"


def test_a_newline_in_next_is_not_followed_after_login(client, store):
    response = client.post(
        "/login?next=/cart%0d%0aSet-Cookie:%20x=1",
        data={"email": store.customer.email, "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers["Location"]
    assert "%0" not in response.headers["Location"]


def test_a_required_number_of_only_spaces_or_newlines_is_refused_not_none(app):
    from webapp.quotes.forms import TemplateForm

    with app.test_request_context(method="POST", data={"name": "T", "expiry_days": "\r\n\r\n"}):
        form = TemplateForm(meta={"csrf": False})
        assert not form.validate()
        assert "expiry_days" in form.errors
