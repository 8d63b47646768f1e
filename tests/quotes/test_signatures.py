"""Signatures on quote acceptance: typed or drawn, stored with the name, time and address,
shown on the accepted page and on the accepted PDF; unusable ones refused, nothing written."""

from __future__ import annotations

import base64
import io

import pytest
from flask import render_template
from PIL import Image, ImageDraw
from sqlalchemy import select

from tests.quotes.conftest import build_quote, link_path, send
from tests.quotes.test_approval import accept_form, documents
from webapp.extensions import db
from webapp.quotes import sending
from webapp.quotes.models import Quote, QuoteDecision, QuoteStatus


def _png(size=(600, 160), *, drawn=True, kind="PNG") -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if drawn:
        ImageDraw.Draw(image).line([(20, 120), (200, 30), (380, 110)], fill="black", width=3)
    out = io.BytesIO()
    image.convert("RGB" if kind == "JPEG" else "RGBA").save(out, kind)
    return out.getvalue()


def _data_url(png: bytes, mime="image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(png).decode()


def _accepted_pdf_html(decision: QuoteDecision) -> str:
    context = sending.quote_pdf_context(decision.version.snapshot, decision)
    return render_template("quotes/pdf.html", **context)


def test_a_typed_signature_is_stored_and_shown_with_name_time_and_address(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    response = client.post(path + "/accept", data=accept_form(quote, signature_text="  J.  Lee "))
    assert response.status_code == 303
    decision = db.session.scalar(select(QuoteDecision))
    assert (decision.signature_text, decision.signature_png) == ("J. Lee", None)
    page = client.get(path).get_data(as_text=True)
    assert 'id="accepted-signature"' in page and "J. Lee" in page.split("accepted-signature")[1]
    html = _accepted_pdf_html(decision)
    block = html.split('id="acceptance"')[1]
    assert 'id="signature-typed"' in block and "J. Lee" in block and "Jordan Lee" in block
    assert decision.decided_at.strftime("%d %B %Y at %H:%M UTC") in block
    assert "IP address 127.0.0.1" in block and "PO PO-4411" in block
    # The accepted PDF downloads from the link and from My quotes.
    pdf = client.get(path + "/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_drawn_signature_is_stored_as_png_and_drawn_on_the_pdf(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    png = _png()
    form = accept_form(quote, signature_text="", signature_drawn=_data_url(png))
    assert client.post(path + "/accept", data=form).status_code == 303
    decision = db.session.scalar(select(QuoteDecision))
    assert decision.signature_png == png and decision.signature_text == ""
    html = _accepted_pdf_html(decision)
    assert f'src="{_data_url(png)}"' in html and 'id="signature-typed"' not in html
    with_image = client.get(path + "/pdf").data
    assert b"/Subtype /Image" in with_image
    assert sending.acceptance_of(decision.version) == decision


def test_the_pdf_of_a_version_not_accepted_has_no_acceptance_block(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    version = db.session.get(Quote, quote.id).versions[-1]
    assert sending.acceptance_of(version) is None
    html = render_template("quotes/pdf.html", **sending.quote_pdf_context(version.snapshot))
    assert 'id="acceptance"' not in html


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"signature_text": " "}, "Sign to accept: type your signature or draw it."),
        ({"signature_text": "x" * 201}, "too long"),
        ({"signature_drawn": "data:image/png;base64,%%%"}, "could not be read"),
        ({"signature_drawn": "javascript:alert(1)"}, "could not be read"),
        ({"signature_drawn": _data_url(b"not a png at all")}, "could not be read"),
        ({"signature_drawn": _data_url(_png(kind="JPEG"), "image/png")}, "could not be read"),
        ({"signature_drawn": _data_url(_png(size=(4000, 200)))}, "could not be read"),
        ({"signature_drawn": _data_url(_png(drawn=False))}, "The signature box is empty"),
        ({"signature_drawn": "data:image/png;base64," + "A" * 300_000}, "could not be read"),
    ],
)
def test_an_unusable_signature_is_refused_with_the_reason_and_nothing_is_written(
    client, quoting, fields, message
):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer) + "/accept"
    response = client.post(path, data=accept_form(quote, **{"signature_text": "", **fields}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert documents() == [] and db.session.scalar(select(QuoteDecision)) is None
    assert db.session.get(Quote, quote.id).status is QuoteStatus.SENT
