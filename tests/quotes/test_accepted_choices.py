"""An accepted quote says which optional lines and "choose one" options the approver took
and which they left: on its PDF, on the approval link's page and in My quotes."""

from __future__ import annotations

import re

from flask import render_template
from sqlalchemy import select

from tests.factories import login
from tests.quotes.conftest import build_quote, keys, link_path, send
from tests.quotes.test_approval import accept_form
from webapp.extensions import db
from webapp.quotes import sending
from webapp.quotes.models import QuoteDecision

_ROW = re.compile(r'<tr class="quote-line[^"]*".*?</tr>', re.S)


def _row(html: str, description: str) -> str:
    (row,) = [row for row in _ROW.findall(html) if description in row]
    return row


def _marks(html: str) -> dict[str, str]:
    """The mark each line of the laptop quote carries ("" when none)."""
    found = {}
    for name in (
        "Lenovo ThinkPad E16",
        "Lenovo ThinkPad T14",
        "Lenovo ThinkPad X1 Carbon",
        "Docking station",
        "Managed workstation",
    ):
        row = _row(html, name)
        marks = [mark for mark in ("Not chosen", "Chosen") if f">{mark}</span>" in row]
        found[name] = marks[0] if marks else ""
    return found


# accept_form takes the X1 in the "choose one" section and the optional dock, 3 of them.
TAKEN = {
    "Lenovo ThinkPad E16": "",
    "Lenovo ThinkPad T14": "Not chosen",
    "Lenovo ThinkPad X1 Carbon": "Chosen",
    "Docking station": "Chosen",
    "Managed workstation": "",
}


def _accept(client, quoting, *, dock=True) -> tuple[str, QuoteDecision]:
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    path = link_path(quote, store.customer)
    leave = {} if dock else {f"opt-{keys(quote)['Docking station']}": None}
    response = client.post(path + "/accept", data=accept_form(quote, **leave))
    assert response.status_code == 303
    return path, db.session.scalar(select(QuoteDecision))


def test_the_accepted_pdf_marks_the_options_taken_and_left_with_the_quantities_taken(
    client, quoting
):
    _, decision = _accept(client, quoting)
    context = sending.quote_pdf_context(decision.version.snapshot, decision)
    html = render_template("quotes/pdf.html", **context)
    assert _marks(html) == TAKEN
    dock = _row(html, "Docking station")
    assert '<td class="r">3</td>' in dock and "$600.00" in dock  # 3 docks at 200, as taken
    assert "left-out" in _row(html, "Lenovo ThinkPad T14")
    assert "left-out" not in _row(html, "Lenovo ThinkPad X1 Carbon")
    assert "lines marked “Not chosen” were left out" in html


def test_a_pdf_as_sent_marks_nothing(client, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    html = render_template(
        "quotes/pdf.html", **sending.quote_pdf_context(quote.current_version.snapshot)
    )
    body = html.split("<body>")[1]
    assert "choice-mark" not in body and "left-out" not in body


def test_an_option_left_unticked_is_marked_not_chosen(client, quoting):
    _, decision = _accept(client, quoting, dock=False)
    html = render_template(
        "quotes/pdf.html", **sending.quote_pdf_context(decision.version.snapshot, decision)
    )
    assert _marks(html) == {**TAKEN, "Docking station": "Not chosen"}


def test_the_decided_link_page_shows_what_was_taken_not_the_quote_as_sent(client, quoting):
    path, decision = _accept(client, quoting)
    page = client.get(path).get_data(as_text=True)
    assert _marks(page) == TAKEN
    x1, t14 = _row(page, "Lenovo ThinkPad X1 Carbon"), _row(page, "Lenovo ThinkPad T14")
    assert "checked" in x1 and "checked" not in t14  # as sent, the T14 was the pick
    assert 'value="3"' in _row(page, "Docking station")
    assert decision.document.total.to_eng_string() in page.replace(",", "")


def test_my_quotes_marks_what_was_taken_and_left(client, quoting):
    _accept(client, quoting)
    login(client, quoting.store.customer)
    number = db.session.scalar(select(QuoteDecision)).quote.number
    detail = client.get(f"/my/quotes/{number}").get_data(as_text=True)
    assert _marks(detail) == TAKEN
    listing = client.get("/my/quotes").get_data(as_text=True)
    summary = listing.split("choice-summary")[1].split("</div>")[0]
    assert "Chosen: Lenovo ThinkPad X1 Carbon, Docking station" in summary
    assert "Not chosen: Lenovo ThinkPad T14" in summary
