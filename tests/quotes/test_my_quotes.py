"""Customers see their organization's sent quotes in the store; approvers go on to decide."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from tests.factories import login, make_user
from tests.quotes.conftest import build_quote, keys, link_path, send
from webapp.extensions import db
from webapp.quotes import building, lifecycle
from webapp.quotes.models import Quote, QuoteStatus
from webapp.sales.models import SalesDocument


def _other_org_quote(quoting) -> Quote:
    """A quote sent to Fabrikam's approver."""
    store = quoting.store
    quote = building.create_quote(
        organization=store.other_org, owner=store.sales, actor=store.sales, title="Fabrikam"
    )
    building.add_product_line(quote, quote.sections[0], store.products[2], 1, store.sales)
    db.session.commit()
    send(quote)
    return quote


def test_contacts_list_only_their_organizations_sent_quotes(client, quoting):
    store = quoting.store
    sent = build_quote(store, recipients=[store.customer])
    send(sent)
    draft = build_quote(store)
    draft.title = "Still a draft"
    db.session.commit()
    theirs = _other_org_quote(quoting)

    login(client, store.customer)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/my/quotes"' in home
    page = client.get("/my/quotes").get_data(as_text=True)
    assert sent.number in page and "Laptop refresh" in page
    assert "Awaiting decision" in page
    assert "$3,003.00" in page  # as sent: E16 x2 + T14 + 2 services = 2730, plus 10% tax
    assert sent.expires_on.strftime("%d %b %Y") in page
    assert draft.number not in page and "Still a draft" not in page
    assert theirs.number not in page and "Fabrikam" not in page

    # Another organization's quote, and a draft, look exactly like a missing one.
    for number in (theirs.number, draft.number, "Q-999999"):
        for suffix in ("", "/pdf", "/review"):
            assert client.get(f"/my/quotes/{number}{suffix}").status_code == 404, (number, suffix)


def test_an_approver_recipient_opens_a_fresh_approval_link(client, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    login(client, store.customer)
    page = client.get(f"/my/quotes/{quote.number}").get_data(as_text=True)
    assert "Review and accept or decline" in page
    assert f"/my/quotes/{quote.number}/review" in page
    review = client.get(f"/my/quotes/{quote.number}/review")
    assert review.status_code == 303
    path = urlsplit(review.headers["Location"]).path
    assert path.startswith("/q/")
    approval = client.get(path).get_data(as_text=True)
    assert 'id="accept-form"' in approval and "Accept quote" in approval

    k = keys(quote)
    accepted = client.post(
        path + "/accept",
        data={
            f"choice-{k['Laptop for the director']}": k["Lenovo ThinkPad T14"],
            "full_name": "Jordan Lee",
            "signature_text": "Jordan Lee",
            "accept_terms": "1",
        },
    )
    assert accepted.status_code == 303
    document = db.session.scalars(select(SalesDocument)).one()
    listing = client.get("/my/quotes").get_data(as_text=True)
    assert "Accepted" in listing and "Awaiting decision" not in listing
    # The list links the accepted quote's PDF, which is a PDF.
    assert f'href="/my/quotes/{quote.number}/pdf" class="quote-pdf">Accepted PDF' in listing
    assert client.get(f"/my/quotes/{quote.number}/pdf").data.startswith(b"%PDF")
    detail = client.get(f"/my/quotes/{quote.number}").get_data(as_text=True)
    assert "Accepted by <strong>Jordan Lee</strong>" in detail
    assert f"/orders/{document.number}" in detail
    assert "Review and accept or decline" not in detail
    # Decided: no fresh link any more.
    again = client.get(f"/my/quotes/{quote.number}/review")
    assert again.status_code == 303
    assert urlsplit(again.headers["Location"]).path == f"/my/quotes/{quote.number}"


def test_other_contacts_see_the_quote_read_only_with_its_pdf(client, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    colleague = make_user(organization=store.org, email="it@contoso.example", name="Ida T")
    db.session.commit()
    for user in (colleague, quoting.cfo):  # cfo: an approver, but not sent this quote
        viewer = client.application.test_client()
        login(viewer, user)
        page = viewer.get(f"/my/quotes/{quote.number}").get_data(as_text=True)
        assert "Lenovo ThinkPad X1 Carbon" in page and "Docking station" in page
        assert 'id="accept-form"' not in page and "Review and accept" not in page
        assert "received this quote by email" in page
        refused = viewer.get(f"/my/quotes/{quote.number}/review")
        assert urlsplit(refused.headers["Location"]).path == f"/my/quotes/{quote.number}"
        pdf = viewer.get(f"/my/quotes/{quote.number}/pdf")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        assert f"{quote.number}-v1.pdf" in pdf.headers["Content-Disposition"]
    assert db.session.get(Quote, quote.id).status is QuoteStatus.SENT


def test_a_quote_being_revised_leaves_the_list_and_expired_ones_say_so(client, quoting):
    store = quoting.store
    revised = build_quote(store, recipients=[store.customer])
    send(revised)
    building.add_section(revised, "More", False, store.sales)  # now a draft of version 2
    expired = build_quote(store, recipients=[store.customer])
    send(expired)
    expired.expires_on = lifecycle.today() - timedelta(days=1)
    expired.current_version.snapshot = {
        **expired.current_version.snapshot,
        "expires_on": str(expired.expires_on),
    }
    db.session.commit()
    login(client, store.customer)
    page = client.get("/my/quotes").get_data(as_text=True)
    assert revised.number not in page
    assert client.get(f"/my/quotes/{revised.number}").status_code == 404
    detail = client.get(f"/my/quotes/{expired.number}").get_data(as_text=True)
    assert "Expired" in detail and "Ask Sam Sales" in detail
    assert "Review and accept" not in detail
    # The expiry job runs: still listed, as expired.
    lifecycle.expire_due()
    db.session.commit()
    assert "Expired" in client.get("/my/quotes").get_data(as_text=True)


def test_a_declined_quote_shows_the_reason(client, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    client.post(link_path(quote, store.customer) + "/decline", data={"reason": "Too dear"})
    login(client, store.customer)
    page = client.get(f"/my/quotes/{quote.number}").get_data(as_text=True)
    assert "Not accepted" in page and "“Too dear”" in page


def test_staff_have_no_my_quotes(client, quoting):
    login(client, quoting.store.sales)
    assert client.get("/my/quotes").status_code == 403
