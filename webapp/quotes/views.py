"""The approver's pages (no password: the signed link is the key) and the store's quote request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import htmx_responses, signals
from webapp.auth.access import customer_required
from webapp.extensions import db, htmx
from webapp.parsing import page_arg
from webapp.quotes import cart_requests, decisions, errors, lifecycle, queries, sending
from webapp.quotes.models import DecisionOutcome, Quote, QuoteVersion
from webapp.quotes.selection import (
    SelectionError,
    choice_names,
    choices,
    default_selection,
    from_record,
    parse_selection,
    quantity_range,
    totals_of,
)

bp = Blueprint("quotes", __name__, template_folder="templates")


@bp.app_template_filter("decimal")
def to_decimal(value: str | Decimal) -> Decimal:
    """Amounts in a quote snapshot are strings (exact in JSON): read them back for `money`."""
    return Decimal(value)


@bp.app_template_filter("isodate")
def to_date(value: str | date) -> date:
    """Dates in a quote snapshot are ISO strings: read them back for `strftime`."""
    return value if isinstance(value, date) else date.fromisoformat(value)


# What each closed link says, and with which status.
_STATE_STATUS = {
    "open": 200,
    "decided": 200,
    "superseded": 410,
    "revising": 410,
    "withdrawn": 410,
    "expired": 410,
}


def _client() -> tuple[str, str]:
    return request.remote_addr or "", request.headers.get("User-Agent", "")


def _invalid_link(error: decisions.LinkInvalid):
    return render_template("quotes/invalid.html", message=error.message), error.status


def ticket_offers(organization) -> list:
    """What each PSA offers for "which ticket is this order for" (none: no PSA syncs tickets)."""
    return [offer for _psa, offer in signals.ticket_offer_wanted.send(organization) if offer]


def _page(link: decisions.ApprovalLink, *, chosen=None, error: str = "", status=None):
    snap = link.snapshot
    state = link.state
    decision = link.decision if state == "decided" else None
    accepted = decision is not None and decision.outcome is DecisionOutcome.ACCEPTED
    if accepted:
        chosen = from_record(snap, decision.selection)  # the page shows what was taken
    elif chosen is None:
        chosen = default_selection(snap)
    return (
        htmx_responses.render(
            "quotes/approve.html",
            None,
            link=link,
            quote=snap,
            state=state,
            decision=decision,
            choices=choices(snap, chosen) if accepted else {},
            newer=link.quote.current_version if state == "superseded" else None,
            chosen={c.key: c.quantity for c in chosen},
            totals=totals_of(snap, chosen),
            quantity_range=quantity_range,
            error=error,
            form=request.form if request.method == "POST" else {},
            ticket_offers=lambda: ticket_offers(link.quote.organization) if state == "open" else [],
        ),
        status or _STATE_STATUS[state],
    )


@bp.get("/q/<token>")
def view(token: str):
    try:
        link = decisions.open_link(token)
    except decisions.LinkInvalid as error:
        return _invalid_link(error)
    if link.state == "open":
        decisions.log_view(link, _client()[0])
        db.session.commit()
    return _page(link)


@bp.get("/q/<token>/totals")
def totals(token: str):
    """Live totals as the approver picks options (a preview: nothing is stored)."""
    try:
        link = decisions.open_link(token)
    except decisions.LinkInvalid as error:
        return _invalid_link(error)
    snap = link.snapshot
    try:
        chosen = parse_selection(snap, request.args.getlist)
        error = ""
    except SelectionError as problem:
        chosen, error = default_selection(snap), str(problem)
    if not htmx:
        return _page(link, chosen=chosen, error=error)
    return htmx_responses.render(
        "quotes/approve.html",
        "totals",
        quote=snap,
        totals=totals_of(snap, chosen),
        error=error,
    )


@bp.post("/q/<token>/accept")
def accept(token: str):
    try:
        link = decisions.open_link(token)
    except decisions.LinkInvalid as error:
        return _invalid_link(error)
    if link.state != "open":
        return _page(link, status=409 if link.state == "decided" else None)
    try:
        chosen = parse_selection(link.snapshot, request.form.getlist)
    except SelectionError as problem:
        return _page(link, error=str(problem), status=422)
    ip_address, user_agent = _client()
    try:
        decision = decisions.accept(
            link,
            chosen,
            decisions.Acceptance(
                full_name=request.form.get("full_name", ""),
                customer_po=request.form.get("customer_po", ""),
                terms_accepted=request.form.get("accept_terms") in ("1", "y", "on"),
                ip_address=ip_address,
                user_agent=user_agent,
                signature_text=request.form.get("signature_text", ""),
                signature_drawn=request.form.get("signature_drawn", ""),
            ),
        )
    except decisions.LinkClosed as closed:
        db.session.rollback()
        return _page(link, status=closed.status)
    except errors.QuoteError as problem:
        db.session.rollback()
        return _page(link, chosen=chosen, error=problem.message, status=problem.status)
    try:
        signals.ticket_chosen.send(decision.document, value=request.form.get("psa_ticket", ""))
    except ValueError as refused:  # not an open ticket of the organisation (webapp.signals)
        db.session.rollback()
        return _page(link, chosen=chosen, error=str(refused), status=400)
    db.session.commit()
    return redirect(url_for(".view", token=token), 303)


@bp.post("/q/<token>/decline")
def decline(token: str):
    try:
        link = decisions.open_link(token)
    except decisions.LinkInvalid as error:
        return _invalid_link(error)
    if link.state != "open":
        return _page(link, status=409 if link.state == "decided" else None)
    ip_address, user_agent = _client()
    try:
        decisions.decline(link, request.form.get("reason", ""), ip_address, user_agent)
    except decisions.LinkClosed as closed:
        db.session.rollback()
        return _page(link, status=closed.status)
    except errors.QuoteError as problem:
        db.session.rollback()
        return _page(link, error=problem.message, status=problem.status)
    db.session.commit()
    return redirect(url_for(".view", token=token), 303)


@bp.get("/q/<token>/pdf")
def pdf(token: str):
    try:
        link = decisions.open_link(token)
    except decisions.LinkInvalid as error:
        return _invalid_link(error)
    if link.state in ("superseded", "revising", "withdrawn"):
        return _page(link)
    accepted = sending.acceptance_of(link.version)
    response = Response(sending.quote_pdf(link.snapshot, accepted), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{sending.pdf_filename(link.snapshot)}"'
    )
    return response


@bp.post("/cart/request-quote")
@customer_required
def request_quote():
    """Turn the cart into a quote request (any organization, approved or not)."""
    try:
        quote = cart_requests.request_from_cart(current_user, request.form.get("note", ""))
    except errors.QuoteError as problem:
        db.session.rollback()
        if htmx:
            return render_template("errors/toast.html", message=problem.message), problem.status
        flash(problem.message, "danger")
        return redirect(url_for("store.cart"), 303)
    db.session.commit()
    flash(
        f"Thank you. We have your quote request {quote.number}; your organization's approver "
        "will receive the quote by email.",
        "success",
    )
    return redirect(url_for("store.cart"), 303)


# --- "My quotes": the signed-in contact's organization's quotes, as sent ------------------------


def _my_quote(number: str) -> tuple[Quote, QuoteVersion]:
    found = queries.organization_quote(current_user.organization_id, number[:20])
    if found is None:
        abort(404)  # a draft, or another organization's number, looks exactly like a miss
    return found


@bp.get("/my/quotes")
@customer_required
def my_quotes():
    rows, has_next = queries.organization_quotes(
        current_user.organization_id, page=page_arg(maximum=10_000)
    )
    accepted = queries.accepted_decisions([version for _, version in rows])
    taken = {}
    for _, version in rows:
        if version.id in accepted:
            snap = version.snapshot
            chosen = from_record(snap, accepted[version.id].selection)
            taken[version.id] = choice_names(snap, choices(snap, chosen))
    return render_template(
        "quotes/my_quotes.html",
        rows=rows,
        choices=taken,
        page=page_arg(maximum=10_000),
        has_next=has_next,
        today=lifecycle.today(),
    )


@bp.get("/my/quotes/<number>")
@customer_required
def my_quote(number: str):
    quote, version = _my_quote(number)
    snap = version.snapshot
    decision = queries.decision_for(version)
    accepted = decision is not None and decision.outcome is DecisionOutcome.ACCEPTED
    chosen = from_record(snap, decision.selection) if accepted else default_selection(snap)
    return render_template(
        "quotes/my_quote.html",
        quote=quote,
        snap=snap,
        version=version,
        decision=decision,
        accepted=accepted,
        chosen={c.key: c.quantity for c in chosen},
        choices=choices(snap, chosen) if accepted else {},
        totals=totals_of(snap, chosen),
        quantity_range=quantity_range,
        can_decide=decisions.link_for_contact(quote, current_user) is not None,
        today=lifecycle.today(),
    )


@bp.get("/my/quotes/<number>/pdf")
@customer_required
def my_quote_pdf(number: str):
    _, version = _my_quote(number)
    pdf = sending.quote_pdf(version.snapshot, sending.acceptance_of(version))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{sending.pdf_filename(version.snapshot)}"'
    )
    return response


@bp.get("/my/quotes/<number>/review")
@customer_required
def my_quote_review(number: str):
    """Send an approver the current version was sent to on to a fresh approval link."""
    quote, _ = _my_quote(number)
    link = decisions.link_for_contact(quote, current_user)
    if link is None:
        flash(f"Quote {quote.number} is not waiting for your decision.", "info")
        return redirect(url_for(".my_quote", number=quote.number), 303)
    token = sending.approval_token(quote, link.version, current_user)
    return redirect(url_for(".view", token=token), 303)
