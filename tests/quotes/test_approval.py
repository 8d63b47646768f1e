"""The approver's emailed link: view, choose, accept or decline; one sales document."""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import func, select

from tests.conftest import Mailbox
from tests.quotes.conftest import build_quote, keys, link_in, link_path, send
from webapp.extensions import db
from webapp.quotes.models import DecisionOutcome, Quote, QuoteDecision, QuoteStatus, QuoteView
from webapp.sales.models import (
    DocumentKind,
    DocumentSource,
    DocumentStatus,
    Recurrence,
    SalesDocument,
)
from webapp.settings.operations import set_setting


def documents() -> list[SalesDocument]:
    return list(db.session.scalars(select(SalesDocument).order_by(SalesDocument.id)))


def accept_form(quote, **overrides) -> dict:
    k = keys(quote)
    form = {
        k["Laptop for the director"]: k["Lenovo ThinkPad X1 Carbon"],
        f"opt-{k['Docking station']}": "1",
        f"qty-{k['Docking station']}": "3",
        "full_name": "Jordan Lee",
        "signature_text": "J. Lee",
        "customer_po": "PO-4411",
        "accept_terms": "1",
    }
    form[f"choice-{k['Laptop for the director']}"] = form.pop(k["Laptop for the director"])
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def test_sending_emails_each_approver_a_link_and_the_pdf(client, quoting, run_jobs, mailbox):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer, quoting.cfo])
    send(quote)
    assert run_jobs() == 2
    for user in (store.customer, quoting.cfo):
        (message,) = mailbox.to(user.email)
        assert message["Subject"] == f"Quote {quote.number} from Northwind MSP: Laptop refresh"
        text = Mailbox.text(message)
        assert f"Hello {user.name}," in text
        (pdf,) = [part for part in message.iter_attachments()]
        assert pdf.get_filename() == f"{quote.number}-v1.pdf"
        assert pdf.get_content().startswith(b"%PDF")
        page = client.get(link_in(text))
        assert page.status_code == 200
        assert f"Quote {quote.number}" in page.get_data(as_text=True)
    # The two links differ: each carries its own approver.
    links = {link_in(Mailbox.text(m)) for m in mailbox.messages}
    assert len(links) == 2


def test_accepting_creates_one_sales_order_from_the_chosen_options(client, quoting, run_jobs):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    response = client.post(path + "/accept", data=accept_form(quote))
    assert response.status_code == 303, response.get_data(as_text=True)

    (document,) = documents()
    assert document.kind is DocumentKind.SALES_ORDER
    assert document.source is DocumentSource.QUOTE
    assert document.status is DocumentStatus.APPROVED
    assert document.idempotency_key == f"quote:{quote.id}:v1"
    assert document.contact_id == store.customer.id
    assert document.customer_po == "PO-4411"
    lines = [(line.description, line.quantity, line.unit_price) for line in document.lines]
    assert lines == [
        ("Lenovo ThinkPad E16", 2, Decimal("770.00")),
        ("Lenovo ThinkPad X1 Carbon", 1, Decimal("1650.00")),  # chosen, not the T14
        ("Docking station", 3, Decimal("200.00")),  # ticked, at the approver's quantity
        ("Managed workstation", 2, Decimal("45.00")),
    ]
    service = document.lines[-1]
    assert (service.recurrence, service.term_months) == (Recurrence.MONTHLY, 24)
    # 1540 + 1650 + 600 + 90 = 3880 goods; 10% tax; no shipping.
    assert document.total == Decimal("4268.00")

    quote = db.session.get(Quote, quote.id)
    assert quote.status is QuoteStatus.WON
    assert quote.document_id == document.id
    decision = db.session.scalar(select(QuoteDecision))
    assert decision.outcome is DecisionOutcome.ACCEPTED
    assert (decision.full_name, decision.terms_accepted) == ("Jordan Lee", True)
    assert decision.ip_address == "127.0.0.1"
    assert decision.selection["lines"][2] == {"key": keys(quote)["Docking station"], "quantity": 3}

    page = client.get(path).get_data(as_text=True)
    assert "accepted by <strong>Jordan Lee</strong>" in page
    assert f"Sales Order {document.number}" in page


def test_acceptance_follows_the_display_document_as_setting(client, quoting):
    store = quoting.store
    set_setting("display_document_as", "tax_invoice", store.admin)
    quote = build_quote(store)
    send(quote)
    response = client.post(link_path(quote, store.customer) + "/accept", data=accept_form(quote))
    assert response.status_code == 303
    (document,) = documents()
    assert (document.kind, document.number) == (DocumentKind.TAX_INVOICE, "INV-000001")


def test_accepting_twice_shows_the_first_decision_and_creates_nothing(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    assert client.post(path + "/accept", data=accept_form(quote)).status_code == 303
    again = client.post(path + "/accept", data=accept_form(quote, full_name="Someone Else"))
    assert again.status_code == 409
    assert "accepted by <strong>Jordan Lee</strong>" in again.get_data(as_text=True)
    assert len(documents()) == 1
    assert db.session.scalar(select(func.count()).select_from(QuoteDecision)) == 1


def test_two_approvers_accepting_at_once_make_exactly_one_document(app, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer, quoting.cfo])
    send(quote)
    form = accept_form(quote)
    paths = [link_path(quote, store.customer), link_path(quote, quoting.cfo)]
    clients = [app.test_client(), app.test_client()]
    barrier = threading.Barrier(2)
    results = {}

    def click(index):
        barrier.wait()
        results[index] = clients[index].post(paths[index] + "/accept", data=form)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.expire_all()
    assert sorted(r.status_code for r in results.values()) == [303, 409]
    assert len(documents()) == 1
    (decision,) = db.session.scalars(select(QuoteDecision)).all()
    loser = next(r for r in results.values() if r.status_code == 409)
    # The second approver sees who accepted.
    assert f"accepted by <strong>{decision.full_name}</strong>" in loser.get_data(as_text=True)
    assert decision.recipient_id in (store.customer.id, quoting.cfo.id)


def test_declining_needs_a_reason_and_makes_the_quote_lost(client, quoting, run_jobs, mailbox):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer)
    empty = client.post(path + "/decline", data={"reason": "  "})
    assert empty.status_code == 422
    assert "Tell us why you are declining" in empty.get_data(as_text=True)
    assert client.post(path + "/decline", data={"reason": "Too dear"}).status_code == 303
    quote = db.session.get(Quote, quote.id)
    assert (quote.status, quote.lost_reason) == (QuoteStatus.LOST, "Too dear")
    assert documents() == []
    assert "declined by" in client.get(path).get_data(as_text=True)
    # An accept after the decline is refused with the outcome.
    assert client.post(path + "/accept", data=accept_form(quote)).status_code == 409
    run_jobs()
    (note,) = mailbox.to(store.sales.email)
    assert note["Subject"] == f"Quote {quote.number} declined by {store.customer.name}"


def test_choose_one_violations_are_refused_with_a_message(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer) + "/accept"
    k = keys(quote)
    choice = f"choice-{k['Laptop for the director']}"
    cases = [
        ({choice: None}, "Choose one option in “Laptop for the director”."),
        ({choice: k["Docking station"]}, "That is not one of the options in “Laptop for the"),
    ]
    for overrides, message in cases:
        response = client.post(path, data=accept_form(quote, **overrides))
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    both = accept_form(quote)
    both[choice] = [k["Lenovo ThinkPad T14"], k["Lenovo ThinkPad X1 Carbon"]]
    response = client.post(path, data=both)
    assert response.status_code == 422
    assert "Choose only one option" in response.get_data(as_text=True)
    assert documents() == []
    assert db.session.get(Quote, quote.id).status is QuoteStatus.SENT


def test_quantities_outside_the_allowed_range_are_refused(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer) + "/accept"
    k = keys(quote)
    dock, e16 = f"qty-{k['Docking station']}", f"qty-{k['Lenovo ThinkPad E16']}"
    cases = [
        ({dock: "6"}, "must be between 1 and 5"),
        ({dock: "0"}, "must be between 1 and 5"),
        ({dock: "two"}, "must be a whole number"),
        ({dock: "-1"}, "must be a whole number"),
        ({dock: "²"}, "must be a whole number"),  # a digit to str.isdigit(), not to int()
        ({dock: "9" * 40}, "must be between 1 and 5"),
        ({dock: "٣"}, "must be a whole number"),  # another script's 3
        ({dock: "1e0"}, "must be a whole number"),
        ({dock: "NaN"}, "must be a whole number"),
        ({dock: "2\x00"}, ""),  # a NUL byte: refused before the form is read
        ({e16: "9"}, "cannot be changed"),
    ]
    for overrides, message in cases:
        response = client.post(path, data=accept_form(quote, **overrides))
        assert response.status_code == (422 if message else 400), overrides
        assert message in response.get_data(as_text=True)
    assert documents() == []


def test_accepting_needs_a_name_and_the_terms_ticked(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    path = link_path(quote, store.customer) + "/accept"
    no_name = client.post(path, data=accept_form(quote, full_name=" "))
    assert no_name.status_code == 422
    assert "Type your full name" in no_name.get_data(as_text=True)
    no_terms = client.post(path, data=accept_form(quote, accept_terms=None))
    assert no_terms.status_code == 422
    assert "Tick the box to accept the terms" in no_terms.get_data(as_text=True)
    assert documents() == []
    assert db.session.get(Quote, quote.id).status is QuoteStatus.SENT


def test_live_totals_follow_the_choices_without_storing_anything(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    k = keys(quote)
    path = link_path(quote, store.customer) + "/totals"
    as_sent = client.get(path, headers={"HX-Request": "true"}).get_data(as_text=True)
    # E16 1540 + T14 1100 + service 90 = 2730, +10% = 3003.00
    assert "$3,003.00" in as_sent
    chosen = client.get(
        path,
        query_string={
            f"choice-{k['Laptop for the director']}": k["Lenovo ThinkPad X1 Carbon"],
            f"opt-{k['Docking station']}": "1",
            f"qty-{k['Docking station']}": "2",
        },
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    # 1540 + 1650 + 400 + 90 = 3680, +10% = 4048.00
    assert "$4,048.00" in chosen
    assert 'id="quote-totals"' in chosen and "<html" not in chosen
    bad = client.get(
        path,
        query_string={
            f"choice-{k['Laptop for the director']}": k["Lenovo ThinkPad T14"],
            f"opt-{k['Docking station']}": "1",
            f"qty-{k['Docking station']}": "x",
        },
    )
    assert "must be a whole number" in bad.get_data(as_text=True)


def test_viewing_is_logged_once_a_day_per_approver(client, quoting):
    store = quoting.store
    quote = build_quote(store, recipients=[store.customer, quoting.cfo])
    send(quote)
    for _ in range(3):
        assert client.get(link_path(quote, store.customer)).status_code == 200
    client.get(link_path(quote, quoting.cfo))
    views = db.session.scalars(select(QuoteView)).all()
    assert sorted(v.recipient_id for v in views) == sorted([store.customer.id, quoting.cfo.id])


def test_approver_page_shows_nothing_of_other_quotes(client, quoting):
    store = quoting.store
    mine = build_quote(store)
    send(mine)
    theirs = build_quote(store)
    theirs.title = "Secret server deal"
    db.session.commit()
    page = client.get(link_path(mine, store.customer)).get_data(as_text=True)
    assert theirs.number not in page
    assert "Secret server deal" not in page
    assert "1000.0000" not in page and "cost" not in page.lower().replace("costs", "")
