"""Margin guard at acceptance, quote requests from the store, and the scheduled jobs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.conftest import Mailbox
from tests.factories import login
from tests.quotes.conftest import build_quote, drawn_revision, keys, link_in, link_path, send
from webapp import signals
from webapp.catalog.models import SupplierOffer
from webapp.catalog.operations import refresh_product_aggregates
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.quotes import approval, lifecycle, sending
from webapp.quotes.models import Quote, QuoteReminder, QuoteSource, QuoteStatus
from webapp.sales.models import DocumentStatus, SalesDocument
from webapp.settings.operations import set_setting
from webapp.store.models import Cart
from workers.quotes import expire_quotes, send_quote_reminders

HX = {"HX-Request": "true"}


def _accept(client, quote, user, **extra):
    k = keys(quote)
    form = {
        f"choice-{k['Laptop for the director']}": k["Lenovo ThinkPad T14"],
        "full_name": user.name,
        "signature_text": user.name,
        "accept_terms": "1",
        **extra,
    }
    return client.post(link_path(quote, user) + "/accept", data=form)


def _raise_cost(product, cost: str) -> None:
    offer = db.session.scalar(select(SupplierOffer).where(SupplierOffer.product_id == product.id))
    offer.cost = Decimal(cost)
    refresh_product_aggregates([product.id])
    db.session.commit()


def test_a_cost_rise_under_the_floor_holds_the_document_for_review(client, quoting):
    store = quoting.store
    set_setting("quote_margin_floor_pct", "8", store.admin)
    quote = build_quote(store)
    send(quote)
    approved = []
    signals.sales_document_approved.connect(approved.append)
    try:
        _raise_cost(store.products[0], "1090.00")  # the T14: quoted at a cost of 1000
        assert _accept(client, quote, store.customer).status_code == 303
        (document,) = db.session.scalars(select(SalesDocument)).all()
        assert approved == []  # held documents do not flow on to procurement
    finally:
        signals.sales_document_approved.disconnect(approved.append)
    assert document.status is DocumentStatus.ON_HOLD
    assert "margin guard" in document.hold_reason and "8% floor" in document.hold_reason
    t14 = next(line for line in document.lines if "T14" in line.description)
    assert t14.unit_cost == Decimal("1090.0000")
    (guard,) = [event for event in document.events if event.type == "margin_guard"]
    assert guard.data["held"] is True
    assert guard.data["lines"] == [
        {
            "sku": store.products[0].mpn,
            "description": "Lenovo ThinkPad T14",
            "quantity": 1,
            "unit_price": "1100.00",
            "old_cost": "1000.0000",
            "new_cost": "1090.0000",
        }
    ]
    # Goods 1540 + 1100 + 90 = 2730; cost 1400 + 1000 + 40 = 2440 → 10.62%; now 2530 → 7.33%.
    assert (guard.data["quoted_margin_pct"], guard.data["current_margin_pct"]) == (
        "10.62",
        "7.33",
    )

    login(client, store.sales)
    page = client.get(f"/admin/orders/{document.id}").get_data(as_text=True)
    assert 'id="margin-guard"' in page
    panel = page[page.index('id="margin-guard"') : page.index("Release to procurement")]
    # Costs read as money, with each line's and the document's margin before and after.
    assert "1000.0000" not in panel and "1090.0000" not in panel
    assert "$1,000.00" in panel and "$1,090.00" in panel
    assert "$100.00 <span" in panel and "(9.09%)" in panel  # the T14 when quoted
    assert "$10.00 <span" in panel and "(0.91%)" in panel  # the T14 now
    assert "$290.00 (10.62%)" in panel and "$200.00 (7.33%)" in panel
    assert "(floor 8%)" in panel
    assert "Release to procurement" in page
    released = client.post(f"/admin/quotes/documents/{document.id}/release", data={"note": "ok"})
    assert released.status_code == 303
    assert db.session.get(SalesDocument, document.id).status is DocumentStatus.APPROVED


def test_a_cost_rise_above_the_floor_does_not_hold(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    _raise_cost(store.products[2], "705.00")  # the E16, a small rise
    assert _accept(client, quote, store.customer).status_code == 303
    document = db.session.scalars(select(SalesDocument)).one()
    # 2730 sell, cost 1410 + 1000 + 40 = 2450 → 10.26%: above the default 10% floor.
    assert document.status is DocumentStatus.APPROVED
    (guard,) = [event for event in document.events if event.type == "margin_guard"]
    assert guard.data["held"] is False


def test_an_unapproved_organization_buys_through_a_quote_request(
    client, quoting, run_jobs, mailbox
):
    store = quoting.store
    buyer = store.unapproved_customer
    buyer.is_approver = True
    db.session.commit()
    login(client, buyer)
    client.post("/cart/add", data={"product_id": store.products[0].id, "quantity": "2"})
    cart_page = client.get("/cart").get_data(as_text=True)
    assert "Request a quote" in cart_page
    response = client.post("/cart/request-quote", data={"note": "Delivery before March"})
    assert response.status_code == 303
    quote = db.session.scalars(select(Quote)).one()
    assert (quote.source, quote.status) == (QuoteSource.STORE, QuoteStatus.DRAFT)
    assert quote.organization_id == store.unapproved_org.id
    assert quote.requested_by_id == buyer.id and quote.request_note == "Delivery before March"
    assert quote.owner_id == store.sales.id
    assert [(line.description, line.quantity) for line in quote.lines] == [
        ("Lenovo ThinkPad T14", 2)
    ]
    assert db.session.scalar(select(Cart).where(Cart.user_id == buyer.id)).lines == []
    again = client.post("/cart/request-quote", data={})
    assert again.status_code == 303
    assert "Your cart is empty." in client.get("/cart").get_data(as_text=True)
    assert len(db.session.scalars(select(Quote)).all()) == 1
    run_jobs()
    (request_mail,) = mailbox.to(store.sales.email)
    assert request_mail["Subject"].startswith(f"Quote request {quote.number} from")

    staff = client.application.test_client()
    login(staff, store.sales)
    listed = staff.get("/admin/quotes/?requested=1").get_data(as_text=True)
    assert quote.number in listed and f"Requested by {buyer.name}" in listed
    sent = staff.post(
        f"/admin/quotes/{quote.id}/send", data={"revision": drawn_revision(staff, quote.id)}
    )
    assert sent.status_code == 303
    run_jobs()
    (message,) = mailbox.to(buyer.email)
    approver = client.application.test_client()
    page = approver.post(
        link_in(Mailbox.text(message)) + "/accept",
        data={"full_name": buyer.name, "signature_text": buyer.name, "accept_terms": "1"},
    )
    assert page.status_code == 303
    document = db.session.scalars(select(SalesDocument)).one()
    assert document.organization_id == store.unapproved_org.id
    assert document.total == Decimal("2420.00")


def test_the_expiry_job_expires_only_sent_quotes_past_their_date(quoting):
    store = quoting.store
    past, current, draft = build_quote(store), build_quote(store), build_quote(store)
    send(past)
    send(current)
    past.expires_on = lifecycle.today() - timedelta(days=1)
    draft.expires_on = lifecycle.today() - timedelta(days=1)
    db.session.commit()
    assert expire_quotes() == 1
    assert expire_quotes() == 0  # idempotent
    db.session.expire_all()
    assert db.session.get(Quote, past.id).status is QuoteStatus.EXPIRED
    assert db.session.get(Quote, current.id).status is QuoteStatus.SENT
    assert db.session.get(Quote, draft.id).status is QuoteStatus.DRAFT


def test_scheduled_reminders_are_emailed_once(client, quoting, run_jobs, mailbox):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    run_jobs()
    mailbox.clear()
    login(client, store.sales)
    soon = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/admin/quotes/{quote.id}/reminders", data={"due_at": soon})
    assert response.status_code == 303
    past = client.post(f"/admin/quotes/{quote.id}/reminders", data={"due_at": "2001-01-01T09:00"})
    assert past.status_code == 303  # refused with a flash: nothing stored
    (reminder,) = db.session.scalars(select(QuoteReminder)).all()
    assert send_quote_reminders() == 0  # not due yet
    reminder.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert send_quote_reminders() == 1
    assert send_quote_reminders() == 0
    run_jobs()
    (message,) = mailbox.to(store.customer.email)
    assert message["Subject"].startswith(f"Reminder: quote {quote.number}")
    assert client.get(link_in(Mailbox.text(message))).status_code == 200


def test_staff_cancel_a_reminder_before_it_goes_out(client, quoting, run_jobs, mailbox):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer])
    other = build_quote(store, recipients=[store.customer])
    send(quote)
    due = utcnow() + timedelta(hours=1)
    reminder = sending.schedule_reminder(quote, due, "", store.sales)
    foreign = sending.schedule_reminder(other, due, "", store.sales)
    db.session.commit()
    login(client, store.sales)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    cancel_url = f"/admin/quotes/{quote.id}/reminders/{reminder.id}/cancel"
    assert cancel_url in page
    wrong = client.post(f"/admin/quotes/{quote.id}/reminders/{foreign.id}/cancel", headers=HX)
    assert wrong.status_code == 422 and "not part of this quote" in wrong.get_data(as_text=True)
    assert client.post(cancel_url, headers=HX).status_code == 200
    twice = client.post(cancel_url, headers=HX)
    assert twice.status_code == 422
    assert "already cancelled by Sam Sales" in twice.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(QuoteReminder, foreign.id).done_at is None
    db.session.get(QuoteReminder, reminder.id).due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    run_jobs()
    mailbox.clear()
    assert send_quote_reminders() == 0
    run_jobs()
    assert mailbox.messages == []


def test_reminders_go_only_to_approvers_who_may_still_decide(client, quoting, run_jobs, mailbox):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer, quoting.cfo])
    send(quote)
    run_jobs()
    mailbox.clear()
    reminder = sending.schedule_reminder(quote, utcnow() + timedelta(hours=1), "", store.sales)
    quoting.cfo.is_approver = False
    reminder.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert send_quote_reminders() == 1
    run_jobs()
    (message,) = mailbox.messages
    assert message["To"] == store.customer.email
    text = Mailbox.text(message)
    assert f"valid until {quote.expires_on.strftime('%d %B %Y')}" in text
    assert db.session.get(QuoteReminder, reminder.id).outcome == "sent to 1 approver(s)"
    # An approver who lost the right is also a reason the quote cannot be sent again as is.
    assert "No longer approvers: Chris Fo." in approval.sending_problems(quote)
