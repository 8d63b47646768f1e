"""Approval links: tampered, truncated, expired, old version, other purpose, other organization."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import make_user
from tests.quotes.conftest import build_quote, change, link_path, send
from webapp.auth.operations import invitation_token
from webapp.extensions import db
from webapp.quotes import lifecycle
from webapp.quotes.models import Quote, QuoteStatus, QuoteView
from webapp.quotes.tokens import make_token
from webapp.sales.models import SalesDocument

HX = {"HX-Request": "true"}


def _body(response) -> str:
    return response.get_data(as_text=True)


def test_a_tampered_or_truncated_token_is_not_found(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    token = path.rsplit("/", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (flipped, token[: len(token) // 2], "nonsense", token + "x"):
        response = client.get(f"/q/{bad}")
        assert response.status_code == 404, bad
        assert "This quote link is not valid" in _body(response)
        assert client.post(f"/q/{bad}/accept", data={}).status_code == 404


def test_a_token_signed_for_another_purpose_is_refused(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    assert client.get(f"/q/{invitation_token(store.customer)}").status_code == 404


def test_a_link_for_someone_outside_the_organization_is_refused(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    # A validly signed token naming an approver of another organization.
    token = make_token(quote.id, 1, quoting.outsider.id, quote.expires_on)
    assert client.get(f"/q/{token}").status_code == 404
    # A contact of the organization the quote was not sent to.
    casey = make_user(organization=store.org, email="casey@contoso.example")
    db.session.commit()
    token = make_token(quote.id, 1, casey.id, quote.expires_on)
    assert client.get(f"/q/{token}").status_code == 404


def test_an_approver_who_lost_the_right_after_sending_cannot_decide(client, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer, quoting.cfo])
    send(quote)
    quoting.cfo.is_approver = False
    store.customer.active = False
    db.session.commit()
    for user in (quoting.cfo, store.customer):
        path = link_path(quote, user)
        page = client.get(path)
        assert page.status_code == 403
        assert "can no longer accept quotes for Contoso" in _body(page)
        assert "sales@msp.example" in _body(page)
        accepted = client.post(
            path + "/accept", data={"full_name": "X", "signature_text": "X", "accept_terms": "1"}
        )
        assert accepted.status_code == 403
        assert client.post(path + "/decline", data={"reason": "no"}).status_code == 403
    assert db.session.get(Quote, quote.id).status is QuoteStatus.SENT
    assert db.session.scalars(select(SalesDocument)).all() == []


def test_an_expired_quote_link_is_a_page_with_the_store_look(app, client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    version = quote.current_version
    version.snapshot = {**version.snapshot, "expires_on": str(lifecycle.today() - timedelta(1))}
    db.session.commit()
    page = client.get(path)
    text = _body(page)
    assert page.status_code == 410
    assert 'class="navbar bg-dark navbar-dark"' in text
    assert f'class="navbar-brand">{app.config["SITE_NAME"]}<' in text
    assert "/static/" in text and "expired on" in text


def test_an_expired_quote_says_so_and_names_the_sales_contact(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    version = quote.current_version
    version.snapshot = {**version.snapshot, "expires_on": str(lifecycle.today() - timedelta(1))}
    db.session.commit()
    page = client.get(path)
    assert page.status_code == 410
    text = _body(page)
    assert "expired on" in text and "can no longer be accepted" in text
    assert "Sam Sales" in text and store.sales.email in text
    accept = client.post(
        path + "/accept", data={"full_name": "J", "signature_text": "J", "accept_terms": "1"}
    )
    assert accept.status_code == 410
    assert db.session.scalars(select(SalesDocument)).all() == []
    assert db.session.scalars(select(QuoteView)).all() == []  # closed links log no view


def test_editing_a_sent_quote_voids_the_old_link(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    old = link_path(quote, store.customer)
    line = quote.lines[0]
    change(quote, line, quantity=3)
    db.session.commit()
    assert quote.version == 2 and quote.status is QuoteStatus.DRAFT
    revising = client.get(old)
    assert revising.status_code == 410
    assert "is revising this quote" in _body(revising)

    send(quote)
    stale = client.get(old)
    assert stale.status_code == 410
    assert "A newer version of this quote exists (version 2" in _body(stale)
    assert client.post(old + "/accept", data={"full_name": "J"}).status_code == 410
    fresh = client.get(link_path(quote, store.customer))
    assert fresh.status_code == 200
    assert [v.number for v in quote.versions] == [1, 2]
    assert quote.versions[0].superseded_at is not None
    assert quote.versions[0].content_hash != quote.versions[1].content_hash


def test_a_cancelled_quote_link_says_it_was_withdrawn(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    lifecycle.cancel(quote, store.sales, "customer changed plans")
    db.session.commit()
    response = client.get(link_path(quote, store.customer))
    assert response.status_code == 410
    assert "has been withdrawn" in _body(response)


def test_the_pdf_is_downloadable_from_the_link(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    response = client.get(link_path(quote, store.customer) + "/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f"{quote.number}-v1.pdf" in response.headers["Content-Disposition"]


def test_the_snapshot_hash_is_stable_and_covers_the_content(quoting):
    from webapp.quotes.snapshot import content_hash

    store = quoting.store
    quote = build_quote(store)
    send(quote)
    version = db.session.get(Quote, quote.id).current_version
    assert content_hash(version.snapshot) == version.content_hash
    changed = {**version.snapshot, "terms": "different"}
    assert content_hash(changed) != version.content_hash
