"""Staff build, approve and send quotes; the state machine refuses every illegal move."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from tests.factories import login
from tests.quotes.conftest import build_quote, drawn_revision, send
from webapp.extensions import db
from webapp.quotes import approval, building, errors, lifecycle, sending, templating
from webapp.quotes.models import (
    ApprovalRuleKind,
    Quote,
    QuoteApprovalRule,
    QuoteStatus,
    QuoteTemplate,
)

HX = {"HX-Request": "true"}
ILLEGAL = [
    (start, target)
    for start, target in itertools.product(QuoteStatus, QuoteStatus)
    if target not in lifecycle.TRANSITIONS[start]
]


def _bare_quote(store) -> Quote:
    return building.create_quote(organization=store.org, owner=store.sales, actor=store.sales)


@pytest.mark.parametrize(("start", "target"), ILLEGAL, ids=lambda s: s.value)
def test_every_illegal_transition_raises_and_changes_nothing(quoting, start, target):
    quote = _bare_quote(quoting.store)
    quote.status = start
    db.session.flush()
    events = len(quote.events)
    with pytest.raises(errors.IllegalTransition):
        lifecycle.transition(quote, target, quoting.store.sales)
    assert quote.status is start
    assert len(quote.events) == events


def test_every_legal_transition_is_on_the_timeline(quoting):
    for start, targets in lifecycle.TRANSITIONS.items():
        for target in targets:
            quote = _bare_quote(quoting.store)
            quote.status = start
            db.session.flush()
            lifecycle.transition(quote, target, quoting.store.sales, "because")
            assert quote.status is target
            assert quote.events[-1].type == f"status.{target.value}"
            assert quote.events[-1].data == {"previous": start.value, "reason": "because"}


def test_a_transition_loses_a_race_to_a_concurrent_change(quoting):
    quote = build_quote(quoting.store)
    send(quote)
    # Another request accepts the quote after this one read it.
    db.session.execute(
        update(Quote).where(Quote.id == quote.id).values(status=QuoteStatus.WON),
        execution_options={"synchronize_session": False},
    )
    with pytest.raises(errors.QuoteChanged):
        lifecycle.transition(quote, QuoteStatus.CANCELLED, quoting.store.sales)
    assert db.session.get(Quote, quote.id).status is QuoteStatus.WON


def test_final_quotes_cannot_be_edited(quoting):
    quote = build_quote(quoting.store)
    lifecycle.cancel(quote, quoting.store.sales, "no longer needed")
    with pytest.raises(errors.QuoteLocked):
        building.add_section(quote, "More", False, quoting.store.sales)


@pytest.mark.parametrize("outcome", [QuoteStatus.WON, QuoteStatus.LOST])
def test_a_won_or_lost_quote_never_returns_to_draft(client, quoting, outcome):
    store = quoting.store
    quote = build_quote(store)
    send(quote)
    lifecycle.transition(quote, outcome, store.sales, "decided")
    db.session.commit()
    with pytest.raises(errors.IllegalTransition):
        lifecycle.transition(quote, QuoteStatus.DRAFT, store.sales, "reopen")
    with pytest.raises(errors.QuoteLocked):
        building.begin_edit(quote, store.sales)
    db.session.rollback()
    assert db.session.get(Quote, quote.id).status is outcome


def test_a_quote_line_names_the_brand_once(quoting):
    from tests.factories import make_brand, make_product

    store = quoting.store
    dell = make_brand("Dell")
    latitude = make_product(
        category=store.products[0].category, brand=dell, name="Dell Latitude 5440"
    )
    quote = building.create_quote(
        organization=store.org, owner=store.sales, actor=store.sales, title="Laptops"
    )
    line = building.add_product_line(quote, quote.sections[0], latitude, 1, store.sales)
    assert line.description == "Dell Latitude 5440"


def _number_in(page: str) -> str:
    return re.search(r"Quote (Q-\d{6})", page).group(1)


def test_staff_build_a_quote_in_place_and_totals_follow(client, quoting):
    store = quoting.store
    login(client, store.sales)
    response = client.post("/admin/quotes/new", data={"organization_id": store.org.id})
    assert response.status_code == 303
    quote = db.session.scalars(select(Quote)).one()
    assert quote.expires_on == lifecycle.today() + timedelta(days=14)
    assert {r.user_id for r in quote.recipients} == {store.customer.id, quoting.cfo.id}
    section_id = quote.sections[0].id

    found = client.get(
        f"/admin/quotes/{quote.id}/catalog", query_string={"q": "ThinkPad T14"}
    ).get_data(as_text=True)
    assert "ThinkPad T14" in found and "$1,100.00" in found

    added = client.post(
        f"/admin/quotes/{quote.id}/lines",
        data={
            "product_id": store.products[0].id,
            "section_id": section_id,
            "quantity": "2",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    )
    assert added.status_code == 200
    body = added.get_data(as_text=True)
    assert body.startswith('\n<div id="quote-builder">') or 'id="quote-builder"' in body[:200]
    assert "<html" not in body
    assert 'id="total-due">$2,420.00' in body  # 2 x 1100 + 10% tax
    assert "$200.00 (9.09%)" in body  # margin 2200 - 2000

    line = db.session.get(Quote, quote.id).lines[0]
    edited = client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}",
        data={
            "description": line.description,
            "quantity": "3",
            "unit_price": "1050.00",
            "unit_cost": "1000",
            "recurrence": "none",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    ).get_data(as_text=True)
    assert 'id="total-due">$3,465.00' in edited  # 3 x 1050 = 3150 + 315
    assert "disc. 4.55%" in edited

    custom = client.post(
        f"/admin/quotes/{quote.id}/lines",
        data={
            "section_id": section_id,
            "product_type": "labour",
            "description": "Installation",
            "quantity": "4",
            "unit_price": "120",
            "unit_cost": "60",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    ).get_data(as_text=True)
    assert "Installation" in custom
    assert 'id="total-due">$3,993.00' in custom  # 3150 + 480 = 3630 + 10%


def test_bad_builder_input_is_refused_with_a_message(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    other = build_quote(store)
    login(client, store.sales)
    line = quote.lines[0]
    base = {
        "description": "x",
        "unit_price": "1",
        "unit_cost": "1",
        "recurrence": "none",
        "revision": drawn_revision(client, quote.id),
    }
    cases = [
        ({**base, "quantity": "abc"}, "Quantity"),
        ({**base, "quantity": "0"}, "Quantity"),
        ({**base, "quantity": "1", "unit_price": "-5"}, "cannot be negative"),
        ({**base, "quantity": "1", "recurrence": "monthly", "term_months": "121"}, "1 to 120"),
        ({**base, "quantity": "5", "qty_editable": "y", "min_qty": "6"}, "quantity range"),
    ]
    for data, message in cases:
        response = client.post(f"/admin/quotes/{quote.id}/lines/{line.id}", data=data, headers=HX)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True)
    # Another quote's line, through this quote's URL.
    foreign = client.post(
        f"/admin/quotes/{quote.id}/lines/{other.lines[0].id}/delete",
        data={"revision": drawn_revision(client, quote.id)},
        headers=HX,
    )
    assert foreign.status_code == 422
    assert "not part of this quote" in foreign.get_data(as_text=True)
    assert len(db.session.get(Quote, other.id).lines) == len(other.lines)


def test_a_quote_that_trips_a_rule_waits_for_a_manager(client, quoting, run_jobs, mailbox):
    store = quoting.store
    db.session.add_all(
        [
            QuoteApprovalRule(kind=ApprovalRuleKind.TOTAL_ABOVE, threshold=Decimal("2000")),
            QuoteApprovalRule(kind=ApprovalRuleKind.LINE_MARGIN_BELOW, threshold=Decimal("5")),
        ]
    )
    quote = build_quote(store)
    login(client, store.sales)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert "Needs a manager&#39;s approval" in page or "Needs a manager's approval" in page
    assert "Total $4,708.00 is above $2,000.00." in page

    refused = client.post(
        f"/admin/quotes/{quote.id}/send",
        data={"revision": drawn_revision(client, quote.id)},
        headers=HX,
    )
    assert refused.status_code == 409
    assert "A manager must approve this quote" in refused.get_data(as_text=True)
    asked = client.post(
        f"/admin/quotes/{quote.id}/request-approval",
        data={"revision": drawn_revision(client, quote.id)},
    )
    assert asked.status_code == 303
    quote = db.session.get(Quote, quote.id)
    assert quote.status is QuoteStatus.PENDING_APPROVAL
    assert quote.approval_reasons[0].startswith("Total $4,708.00")
    # Sales staff cannot approve.
    forbidden = client.post(
        f"/admin/quotes/{quote.id}/approve", data={"revision": drawn_revision(client, quote.id)}
    )
    assert forbidden.status_code == 403

    admin = client.application.test_client()
    login(admin, store.admin)
    approved = admin.post(
        f"/admin/quotes/{quote.id}/approve", data={"revision": drawn_revision(admin, quote.id)}
    )
    assert approved.status_code == 303
    assert db.session.get(Quote, quote.id).status is QuoteStatus.APPROVED
    sent = client.post(
        f"/admin/quotes/{quote.id}/send", data={"revision": drawn_revision(client, quote.id)}
    )
    assert sent.status_code == 303
    quote = db.session.get(Quote, quote.id)
    assert quote.status is QuoteStatus.SENT
    assert quote.current_version.content_hash == quote.approved_hash
    assert run_jobs() == 2


def test_an_edit_after_approval_needs_approval_again(quoting):
    store = quoting.store
    db.session.add(QuoteApprovalRule(kind=ApprovalRuleKind.USER_ALWAYS, user_id=store.sales.id))
    quote = build_quote(store)
    approval.request_approval(quote, store.sales)
    approval.approve(quote, store.admin)
    building.add_section(quote, "After approval", False, store.sales)
    assert quote.status is QuoteStatus.DRAFT
    assert quote.approved_hash == ""
    with pytest.raises(errors.NeedsApproval) as refused:
        sending.send_quote(quote, store.sales)
    assert refused.value.reasons == [f"Quotes by {store.sales.name} always need approval."]


def test_a_quote_cannot_be_sent_incomplete(quoting):
    store = quoting.store
    quote = building.create_quote(organization=store.org, owner=store.sales, actor=store.sales)
    building.set_recipients(quote, [], store.sales)
    with pytest.raises(errors.QuoteError) as refused:
        sending.send_quote(quote, store.sales)
    assert "Add at least one line." in refused.value.message
    assert "Choose who receives the quote" in refused.value.message


def test_only_approvers_of_the_organization_can_receive_it(quoting):
    store = quoting.store
    quote = build_quote(store)
    with pytest.raises(errors.QuoteError, match="active approvers"):
        building.set_recipients(quote, [quoting.outsider.id], store.sales)


def test_customers_and_purchasing_cannot_open_the_quote_admin(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    login(client, store.customer)
    assert client.get(f"/admin/quotes/{quote.id}").status_code == 404
    other = client.application.test_client()
    login(other, store.purchasing)
    assert other.get("/admin/quotes/").status_code == 403


def test_a_template_starts_a_quote_with_its_sections_and_fresh_prices(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    template = templating.save_as_template(quote, "Laptop refresh", store.admin)
    db.session.commit()
    assert [s.title for s in template.sections] == ["Items", "Laptop for the director", "Extras"]
    store.org.price_group = store.price_group
    db.session.commit()
    login(client, store.sales)
    response = client.post(
        "/admin/quotes/new",
        data={"organization_id": store.org.id, "template_id": template.id, "title": ""},
    )
    assert response.status_code == 303
    made = db.session.scalars(select(Quote).order_by(Quote.id.desc())).first()
    assert made.title == "Laptop refresh" and made.template_id == template.id
    assert [s.choose_one for s in made.sections] == [False, True, False]
    dock = next(line for line in made.lines if line.description == "Docking station")
    assert (dock.optional, dock.qty_editable, dock.unit_price) == (True, True, Decimal("200.00"))
    # A duplicate name is refused.
    with pytest.raises(errors.QuoteError, match="already exists"):
        templating.save_as_template(quote, "Laptop refresh", store.admin)
    admin = client.application.test_client()
    login(admin, store.admin)
    assert "Laptop refresh" in admin.get("/admin/quotes/templates").get_data(as_text=True)
    assert db.session.scalar(select(QuoteTemplate.name)) == "Laptop refresh"


def test_a_line_made_recurring_without_a_term_gets_twelve_months(client, quoting):
    store = quoting.store
    quote = build_quote(store)
    login(client, store.sales)
    line = quote.lines[0]
    response = client.post(
        f"/admin/quotes/{quote.id}/lines/{line.id}",
        data={
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "unit_cost": str(line.unit_cost),
            "recurrence": "annual",
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    )
    assert response.status_code == 200
    db.session.expire_all()
    line = db.session.get(Quote, quote.id).lines[0]
    assert (line.recurrence.value, line.term_months) == ("annual", 12)


def test_a_title_with_a_line_break_is_refused_and_an_old_one_still_emails(
    client, store, run_jobs, mailbox
):
    quote = build_quote(store)
    db.session.commit()
    login(client, store.sales)

    response = client.post(
        f"/admin/quotes/{quote.id}/header",
        data={
            "title": "Laptops\nBcc: everyone@example.com",
            "owner_id": store.sales.id,
            "expires_on": quote.expires_on.isoformat(),
            "payment_method": quote.payment_method.value,
            "revision": drawn_revision(client, quote.id),
        },
        headers=HX,
    )

    assert response.status_code in (400, 422)
    assert "line breaks" in response.get_data(as_text=True)
    db.session.expire_all()
    assert quote.title == "Laptop refresh"
    # A title stored before the rule (an import, an old row): the email still goes, on one line.
    quote.title = "Laptop\nrefresh"
    db.session.commit()
    send(quote)
    db.session.commit()
    run_jobs()
    [message] = mailbox.to(store.customer.email)
    assert message["Subject"].endswith(": Laptop refresh")


def test_an_email_that_cannot_be_built_is_an_error_and_the_quote_stays_unsent(
    client, quoting, run_jobs, mailbox
):
    from webapp.mail.models import OutboundEmail

    store = quoting.store
    quote = build_quote(store, recipients=[quoting.cfo, store.customer])
    # A stored address no email header can hold (an old row, an import).
    store.customer.email = "jordan@contoso.example\nBcc: everyone@example.com"
    db.session.commit()
    login(client, store.sales)
    response = client.post(
        f"/admin/quotes/{quote.id}/send",
        data={"revision": drawn_revision(client, quote.id)},
        headers=HX,
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "cannot be built" in body and "jordan@contoso.example" in body
    db.session.expire_all()
    assert db.session.get(Quote, quote.id).status is QuoteStatus.DRAFT
    assert db.session.query(OutboundEmail).count() == 0  # not even the first recipient's
    run_jobs()
    assert mailbox.messages == []


def test_a_line_break_in_a_subject_goes_out_on_one_line(app, store, run_jobs, mailbox):
    app.config["SITE_NAME"] = "Northwind\nMSP"
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    run_jobs()
    [message] = mailbox.to(store.customer.email)
    assert message["Subject"] == f"Quote {quote.number} from Northwind MSP: Laptop refresh"
