"""What every API view module shares: the access helpers and the customer-key limits."""

from __future__ import annotations

from webapp.api.problems import problem
from webapp.api.security import organization_limit
from webapp.extensions import db


def not_found(what: str, ident: int):
    return problem(404, f"There is no {what} {ident} (or this key may not see it).")


def get_or_404(model, ident: int, what: str):
    row = db.session.get(model, ident)
    if row is None:
        raise not_found(what, ident)
    return row


def msp_only(what: str) -> None:
    """Refuse a customer-scoped key what only the MSP may see (costs, suppliers)."""
    if organization_limit() is not None:
        raise problem(403, f"A key limited to one organization cannot read {what}.")
