"""The staff quote screens' blueprint and what its screens share: the builder's context and
how an edit is answered (the refreshed fragment for HTMX, a redirect for a plain post).

The screens are in admin_views (quotes), admin_template_views and admin_rule_views.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import htmx_responses
from webapp.auth.models import Role
from webapp.catalog.models import ProductType
from webapp.extensions import db, htmx
from webapp.quotes import approval, building, errors, queries, revisions
from webapp.quotes.forms import HeaderForm
from webapp.quotes.models import Quote, QuoteStatus
from webapp.quotes.selection import Chosen, default_selection, largest_selection, priced, totals_of
from webapp.quotes.snapshot import all_lines
from webapp.quotes.totals import PricedLine, line_figures
from webapp.sales.models import Recurrence, SalesDocument
from webapp.sales.totals import ZERO

bp = Blueprint("quotes_admin", __name__, url_prefix="/admin/quotes", template_folder="templates")


def get_quote(quote_id: int) -> Quote:
    return db.session.get(Quote, quote_id) or abort(404)


def form_errors(form) -> str:
    return "; ".join(
        f"{getattr(form, name).label.text}: {', '.join(errors)}"
        for name, errors in form.errors.items()
    )


@bp.app_template_global()
def quote_for_document(document: SalesDocument) -> Quote | None:
    """The quote a sales document was accepted from (the order detail panel uses it)."""
    return queries.quote_for_document(document)


@bp.app_template_global()
def margin_guard_lines(data: dict) -> list[dict]:
    """A margin-guard event's lines as amounts: sell, cost and margin when quoted and now."""
    rows = []
    for line in data.get("lines", []):
        quantity = int(line["quantity"])
        price = Decimal(line["unit_price"])
        before = line_figures(PricedLine("", quantity, price, Decimal(line["old_cost"]), ZERO))
        after = line_figures(PricedLine("", quantity, price, Decimal(line["new_cost"]), ZERO))
        rows.append(
            {
                "sku": line.get("sku", ""),
                "description": line["description"],
                "quantity": quantity,
                "unit_price": price,
                "old_cost": Decimal(line["old_cost"]),
                "new_cost": Decimal(line["new_cost"]),
                "old_margin": before.margin,
                "new_margin": after.margin,
                "old_margin_pct": before.margin_pct,
                "new_margin_pct": after.margin_pct,
            }
        )
    return rows


# --- the builder --------------------------------------------------------------------------------


def header_form(quote: Quote, *, data=None) -> HeaderForm:
    form = HeaderForm(formdata=data, obj=None if data else quote)
    if data is None:
        form.owner_id.data = quote.owner_id
        form.payment_method.data = quote.payment_method.value
    form.owner_id.choices = [(u.id, f"{u.name} ({u.role.label})") for u in queries.staff()]
    return form


def builder_context(quote: Quote) -> dict:
    snap = approval.working_snapshot(quote)
    every = [Chosen(line, line["quantity"]) for line in all_lines(snap)]
    figures = {p.key: line_figures(p) for p in priced(every)}
    editable = not quote.status.is_final
    return {
        "quote": quote,
        "snap": snap,
        "figures": figures,
        "default_totals": totals_of(snap, default_selection(snap)),
        "largest_totals": totals_of(snap, largest_selection(snap)),
        "reasons": approval.reasons_for_approval(quote, snap) if editable else [],
        "problems": approval.sending_problems(quote) if editable else [],
        "approvers": building.organization_approvers(quote.organization),
        "recipient_ids": {r.user_id for r in quote.recipients},
        "header_form": header_form(quote),
        "recurrences": list(Recurrence),
        "custom_types": [t for t in ProductType if t is not ProductType.PHYSICAL],
        "editable": editable,
        "is_admin": current_user.role is Role.ADMIN,
        "views": queries.views_of(quote),
        "statuses": QuoteStatus,
    }


def answer_changed(quote: Quote, message: str | None = None) -> Response | str:
    """Answer an edit: the refreshed builder for HTMX, a redirect for a plain form post."""
    return answer_change(
        lambda: htmx_responses.render(
            "quotes_admin/detail.html", "builder", **builder_context(quote)
        ),
        url_for(".detail", quote_id=quote.id),
        message,
    )


def answer_refused(quote: Quote, message: str, status: int = 422):
    return answer_refusal(url_for(".detail", quote_id=quote.id), message, status)


def answer_change(render: Callable[[], str], page_url: str, message: str | None):
    """Commit, then answer with the refreshed part of the page (HTMX, with the message as a
    toast) or a redirect to the page (a plain post, with the message flashed)."""
    db.session.commit()
    if htmx:
        return htmx_responses.trigger(render(), **({"toast": message} if message else {}))
    if message:
        flash(message, "success")
    return redirect(page_url, 303)


def answer_refusal(page_url: str, message: str, status: int):
    """Roll back, then say why: a toast for HTMX, a flashed message on the page otherwise."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=message), status
    flash(message, "danger")
    return redirect(page_url, 303)


def refuse_stale(quote: Quote, error: revisions.StaleEdit):
    """Refuse an edit drawn from an older page (409) and offer to reload the quote."""
    db.session.rollback()
    page_url = url_for(".detail", quote_id=quote.id)
    if htmx:
        return render_template("quotes_admin/_stale.html", message=error.message, url=page_url), 409
    flash(error.message, "danger")
    page = render_template("quotes_admin/detail.html", **builder_context(quote))
    return page, 409


def run_action(quote: Quote, action, *, done: str | None = None, versioned: bool = True):
    """Run an operation on the quote and answer with the builder or the refusal.

    A `versioned` action (anything that changes what the builder shows) first checks that the
    form was drawn from the quote's current revision.
    """
    try:
        if versioned:
            revisions.check(quote, revisions.parse(request.form.get(revisions.FIELD)))
        action()
    except revisions.StaleEdit as error:
        return refuse_stale(quote, error)
    except errors.NeedsApproval as error:
        return answer_refused(quote, f"{error.message} {' '.join(error.reasons)}", error.status)
    except errors.QuoteError as error:
        return answer_refused(quote, error.message, error.status)
    return answer_changed(quote, done)


def refuse_invalid(quote: Quote, form):
    return answer_refused(quote, form_errors(form) or "Check the form and try again.", 422)
