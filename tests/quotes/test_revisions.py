"""The quote builder's version check: an edit drawn from an older page changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.factories import login
from tests.quotes.conftest import build_quote, drawn_revision
from webapp.extensions import db
from webapp.quotes import building, revisions
from webapp.quotes.models import Quote, QuoteLine, QuoteStatus

HX = {"HX-Request": "true"}


def _line_form(line: QuoteLine, quantity: int, revision: str) -> dict:
    return {
        "description": line.description,
        "quantity": str(quantity),
        "unit_price": str(line.unit_price),
        "unit_cost": str(line.unit_cost),
        "recurrence": line.recurrence.value,
        "revision": revision,
    }


def _quantity(line_id: int) -> int:
    db.session.expire_all()
    return db.session.get(QuoteLine, line_id).quantity


def test_an_edit_from_an_older_tab_is_refused_and_keeps_the_newer_one(client, quoting):
    quote = build_quote(quoting.store)
    db.session.commit()
    login(client, quoting.store.sales)
    line = quote.lines[0]
    first_tab = drawn_revision(client, quote.id)
    second_tab = drawn_revision(client, quote.id)

    saved = client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}", data=_line_form(line, 5, first_tab), headers=HX
    )
    assert saved.status_code == 200
    assert f'name="revision" value="{int(first_tab) + 1}"' in saved.get_data(as_text=True)

    stale = client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}",
        data=_line_form(line, 3, second_tab),
        headers=HX,
    )
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "changed in another tab" in body
    assert f'data-reload href="/admin/quotes/{quote.id}"' in body
    assert _quantity(line.id) == 5


def test_a_stale_plain_form_post_gets_the_current_page_with_the_message(client, quoting):
    quote = build_quote(quoting.store)
    db.session.commit()
    login(client, quoting.store.sales)
    old = drawn_revision(client, quote.id)
    assert (
        client.post(
            f"/admin/quotes/{quote.id}/sections", data={"title": "Extras 2", "revision": old}
        ).status_code
        == 303
    )
    sections = len(db.session.get(Quote, quote.id).sections)

    stale = client.post(
        f"/admin/quotes/{quote.id}/sections", data={"title": "Extras 3", "revision": old}
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Reload the quote" in page or "changed in another tab" in page
    assert f'name="revision" value="{int(old) + 1}"' in page  # the page drawn afresh
    db.session.expire_all()
    assert len(db.session.get(Quote, quote.id).sections) == sections


@pytest.mark.parametrize("raw", [None, "", "abc", "0", "-1", "9" * 40])
def test_an_edit_without_a_readable_revision_is_a_bad_request(client, quoting, raw):
    quote = build_quote(quoting.store)
    db.session.commit()
    login(client, quoting.store.sales)
    line = quote.lines[0]
    data = _line_form(line, 7, "")
    if raw is None:
        del data["revision"]
    else:
        data["revision"] = raw
    response = client.post(f"/admin/quotes/{quote.id}/lines/{line.id}", data=data, headers=HX)
    assert response.status_code == 400
    assert "no quote revision" in response.get_data(as_text=True)
    assert _quantity(line.id) == line.quantity


def test_a_change_takes_the_next_revision_and_a_no_change_does_not(quoting):
    quote = build_quote(quoting.store)
    section = quote.sections[0]
    before = quote.revision
    building.update_section(quote, section, section.title, section.choose_one, quoting.cfo)
    assert quote.revision == before
    building.update_section(quote, section, "Hardware", section.choose_one, quoting.cfo)
    assert quote.revision == before + 1


def test_sending_makes_a_page_drawn_before_it_stale(client, quoting):
    quote = build_quote(quoting.store)
    db.session.commit()
    login(client, quoting.store.sales)
    old = drawn_revision(client, quote.id)
    assert client.post(f"/admin/quotes/{quote.id}/send", data={"revision": old}).status_code == 303
    stale = client.post(
        f"/admin/quotes/{quote.id}/sections", data={"title": "Late", "revision": old}, headers=HX
    )
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(Quote, quote.id).status is QuoteStatus.SENT  # not reopened as a draft


def test_of_two_edits_running_at_once_the_second_to_write_is_refused(quoting):
    quote = build_quote(quoting.store)
    db.session.commit()
    seen = quote.revision
    revisions.check(quote, seen)  # this request read the page's revision...
    # ...and another request, drawn from the same page, commits its edit first.
    db.session.execute(
        update(Quote).where(Quote.id == quote.id).values(revision=seen + 1),
        execution_options={"synchronize_session": False},
    )
    sections = len(quote.sections)
    with pytest.raises(revisions.StaleEdit):
        building.add_section(quote, "Racing", False, quoting.store.sales)
    db.session.rollback()
    assert len(db.session.get(Quote, quote.id).sections) == sections
