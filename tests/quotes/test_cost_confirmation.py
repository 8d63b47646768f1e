"""A quote line's cost of zero or less needs an explicit confirmation (issue 13), as a PO line's
and a receipt's zero cost do: a cost that rounded to $0 once ordered 100 laptops for nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import login
from tests.quotes.conftest import build_quote, drawn_revision
from webapp.extensions import db
from webapp.quotes import building, errors
from webapp.quotes.models import Quote, QuoteLine

HX = {"HX-Request": "true"}


def _edit(client, quote, line, cost, **extra):
    return client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}",
        data={
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "unit_cost": cost,
            "recurrence": line.recurrence.value,
            "revision": drawn_revision(client, quote.id),
            **extra,
        },
        headers=HX,
    )


def _cost(line_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.get(QuoteLine, line_id).unit_cost


@pytest.mark.parametrize("cost", ["0", "-25"])
def test_a_cost_of_zero_or_less_without_confirmation_is_refused_saying_how(client, quoting, cost):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    line = quote.lines[0]
    login(client, store.sales)
    response = _edit(client, quote, line, cost)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "must be more than zero" in body and "tick Confirm the cost" in body
    assert _cost(line.id) == Decimal("700.0000")


@pytest.mark.parametrize("cost", ["0", "-25"])
def test_a_confirmed_cost_of_zero_or_less_is_kept_and_on_the_timeline(client, quoting, cost):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    line = quote.lines[0]
    login(client, store.sales)
    response = _edit(client, quote, line, cost, confirm_cost="y")
    assert response.status_code == 200
    assert _cost(line.id) == Decimal(cost)
    event = db.session.get(Quote, quote.id).events[-1]
    assert event.type == "line.cost_confirmed" and f"unit cost {Decimal(cost):.4f}" in event.message
    assert event.actor_id == store.sales.id


def test_an_unchanged_cost_needs_no_new_confirmation(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    line = quote.lines[0]
    login(client, store.sales)
    assert _edit(client, quote, line, "0", confirm_cost="y").status_code == 200
    # Changing the quantity of the line re-posts its cost of 0: no new tick is asked.
    line = db.session.get(QuoteLine, line.id)
    line_quantity = line.quantity
    response = client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}",
        data={
            "description": line.description,
            "quantity": str(line_quantity + 1),
            "unit_price": str(line.unit_price),
            "unit_cost": "0",
            "recurrence": "none",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(QuoteLine, line.id).quantity == line_quantity + 1


def test_a_custom_line_typed_at_zero_needs_the_confirmation_and_blank_does_not(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    section_id = quote.sections[0].id
    before = len(quote.lines)
    login(client, store.sales)

    def add(description, **extra):
        return client.post(
            f"/admin/quotes/{quote.id}/lines",
            data={
                "section_id": section_id,
                "product_type": "labour",
                "description": description,
                "quantity": "1",
                "unit_price": "120",
                "revision": drawn_revision(client, quote.id),
                **extra,
            },
            headers=HX,
        )

    refused = add("Typed zero", unit_cost="0")
    assert refused.status_code == 422
    assert "tick Confirm the cost" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Quote, quote.id).lines) == before

    assert add("Confirmed zero", unit_cost="0", confirm_cost="y").status_code == 200
    assert add("Our labour").status_code == 200  # no cost given: costs us nothing
    db.session.expire_all()
    saved = {line.description: line.unit_cost for line in db.session.get(Quote, quote.id).lines}
    assert saved["Confirmed zero"] == saved["Our labour"] == Decimal(0)
    assert "Typed zero" not in saved


def test_the_operation_refuses_an_unconfirmed_rebate_and_keeps_a_confirmed_one(quoting):
    store = quoting.store
    quote = build_quote(store)
    line = quote.lines[0]
    changes = building.LineChanges(
        **{
            **{name: getattr(line, name) for name in building.LineChanges.__dataclass_fields__},
            "unit_cost": Decimal("-5"),
        }
    )
    with pytest.raises(errors.QuoteError, match="tick Confirm the cost"):
        building.update_line(quote, line, changes, store.sales)
    assert line.unit_cost == Decimal("700")
    building.update_line(quote, line, changes, store.sales, cost_confirmed=True)
    assert line.unit_cost == Decimal("-5")


def test_the_builder_offers_the_confirmation_on_each_line_and_for_a_new_line(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    db.session.commit()
    login(client, store.sales)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    for line in quote.lines:
        assert f'name="confirm_cost" value="y" id="confirm-cost-{line.id}"' in page
    custom_form = page.split('id="custom-line-form"')[1].split("</form>")[0]
    assert 'name="confirm_cost"' in custom_form
