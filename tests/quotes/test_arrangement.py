"""Arranging the quote builder: moving lines and sections, duplicating a line."""

from __future__ import annotations

import pytest

from tests.factories import login
from tests.quotes.conftest import build_quote, drawn_revision
from webapp.extensions import db
from webapp.quotes import arrangement, building, sending
from webapp.quotes.models import Quote, QuoteStatus

HX = {"HX-Request": "true"}


def _layout(quote_id: int) -> list[tuple[str, list[str]]]:
    db.session.expire_all()
    quote = db.session.get(Quote, quote_id)
    return [(s.title, [line.description for line in s.lines]) for s in quote.sections]


def _positions_are_1_to_n(quote_id: int) -> bool:
    quote = db.session.get(Quote, quote_id)
    return [s.position for s in quote.sections] == list(range(1, len(quote.sections) + 1)) and all(
        [line.position for line in s.lines] == list(range(1, len(s.lines) + 1))
        for s in quote.sections
    )


def test_a_line_dropped_into_another_section_lands_where_it_was_dropped(client, quoting):
    quote = build_quote(quoting.store)
    login(client, quoting.store.sales)
    dock = next(line for line in quote.lines if line.description == "Docking station")
    laptops = quote.sections[1]
    response = client.post(
        f"/admin/quotes/{quote.id}/lines/{dock.id}/move",
        data={
            "section_id": laptops.id,
            "position": "1",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    )
    assert response.status_code == 200
    assert _layout(quote.id) == [
        ("Items", ["Lenovo ThinkPad E16"]),
        (
            "Laptop for the director",
            ["Lenovo ThinkPad T14", "Docking station", "Lenovo ThinkPad X1 Carbon"],
        ),
        ("Extras", ["Managed workstation"]),
    ]
    assert _positions_are_1_to_n(quote.id)


def test_the_up_and_down_buttons_step_a_line_and_cross_into_the_next_section(client, quoting):
    quote = build_quote(quoting.store)
    login(client, quoting.store.sales)
    x1 = next(line for line in quote.lines if line.description == "Lenovo ThinkPad X1 Carbon")
    url = f"/admin/quotes/{quote.id}/lines/{x1.id}/move"
    for _ in range(2):  # above the T14, then into the end of Items
        moved = client.post(
            url, data={"direction": "up", "revision": drawn_revision(client, quote.id)}, headers=HX
        )
        assert moved.status_code == 200
    assert _layout(quote.id)[:2] == [
        ("Items", ["Lenovo ThinkPad E16", "Lenovo ThinkPad X1 Carbon"]),
        ("Laptop for the director", ["Lenovo ThinkPad T14"]),
    ]
    first = quote.sections[0].lines[0]
    refused = client.post(
        f"/admin/quotes/{quote.id}/lines/{first.id}/move",
        data={"direction": "up", "revision": drawn_revision(client, quote.id)},
        headers=HX,
    )
    assert refused.status_code == 422 and "already at that end" in refused.get_data(as_text=True)


def test_a_section_moves_by_drop_and_by_buttons(client, quoting):
    quote = build_quote(quoting.store)
    login(client, quoting.store.sales)
    extras = quote.sections[2]
    client.post(
        f"/admin/quotes/{quote.id}/sections/{extras.id}/move",
        data={"position": "0", "revision": drawn_revision(client, quote.id)},
        headers=HX,
    )
    assert [title for title, _ in _layout(quote.id)] == [
        "Extras",
        "Items",
        "Laptop for the director",
    ]
    client.post(
        f"/admin/quotes/{quote.id}/sections/{extras.id}/move",
        data={"direction": "down", "revision": drawn_revision(client, quote.id)},
        headers=HX,
    )
    assert [title for title, _ in _layout(quote.id)] == [
        "Items",
        "Extras",
        "Laptop for the director",
    ]
    assert _positions_are_1_to_n(quote.id)


def test_a_duplicated_line_is_a_full_copy_just_below_it(client, quoting):
    quote = build_quote(quoting.store)
    login(client, quoting.store.sales)
    dock = next(line for line in quote.lines if line.description == "Docking station")
    response = client.post(
        f"/admin/quotes/{quote.id}/lines/{dock.id}/duplicate",
        data={"revision": drawn_revision(client, quote.id)},
        headers=HX,
    )
    assert response.status_code == 200
    extras = db.session.get(Quote, quote.id).sections[2]
    assert [line.description for line in extras.lines] == [
        "Docking station",
        "Docking station",
        "Managed workstation",
    ]
    original, copy = extras.lines[:2]
    assert copy.id != original.id
    fields = ("unit_price", "unit_cost", "optional", "qty_editable", "min_qty", "max_qty", "sku")
    assert [getattr(copy, f) for f in fields] == [getattr(original, f) for f in fields]


def test_a_move_from_an_older_page_is_refused_and_moves_nothing(client, quoting):
    quote = build_quote(quoting.store)
    login(client, quoting.store.sales)
    old = drawn_revision(client, quote.id)
    e16 = quote.sections[0].lines[0]
    building.add_section(quote, "Added in another tab", False, quoting.store.sales)
    db.session.commit()
    before = _layout(quote.id)
    stale = client.post(
        f"/admin/quotes/{quote.id}/lines/{e16.id}/move",
        data={"direction": "down", "revision": old},
        headers=HX,
    )
    assert stale.status_code == 409
    assert _layout(quote.id) == before


@pytest.mark.parametrize(
    "data",
    [{"direction": "sideways"}, {"position": "-1", "section_id": "1"}, {"position": "x"}, {}],
)
def test_a_move_that_says_nowhere_is_a_bad_request(client, quoting, data):
    quote = build_quote(quoting.store)
    login(client, quoting.store.sales)
    line = quote.lines[0]
    data = {**data, "revision": drawn_revision(client, quote.id)}
    response = client.post(f"/admin/quotes/{quote.id}/lines/{line.id}/move", data=data, headers=HX)
    assert response.status_code == 400


def test_another_quotes_line_or_section_cannot_be_moved_through_this_quote(client, quoting):
    quote = build_quote(quoting.store)
    other = build_quote(quoting.store)
    login(client, quoting.store.sales)
    revision = drawn_revision(client, quote.id)
    foreign_line = client.post(
        f"/admin/quotes/{quote.id}/lines/{other.lines[0].id}/duplicate",
        data={"revision": revision},
        headers=HX,
    )
    assert foreign_line.status_code == 422
    into_foreign = client.post(
        f"/admin/quotes/{quote.id}/lines/{quote.lines[0].id}/move",
        data={"section_id": other.sections[0].id, "position": "0", "revision": revision},
        headers=HX,
    )
    assert into_foreign.status_code == 422
    assert len(db.session.get(Quote, other.id).lines) == len(other.lines)


def test_moving_a_line_of_a_sent_quote_starts_a_new_version(quoting):
    quote = build_quote(quoting.store)
    sending.send_quote(quote, quoting.store.sales)
    version = quote.version
    arrangement.step_line(quote, quote.sections[0].lines[0], 1, quoting.store.sales)
    assert (quote.status, quote.version) == (QuoteStatus.DRAFT, version + 1)
