"""The routes every PSA settings page shares (Autotask, ConnectWise): Check again, read the
lookups again, the lookups block the page polls while a read runs, Disconnect (admins).

A provider's blueprint calls ``connection_routes`` with its own operations and page; the
templates' matching parts are the macros of ``psa_admin/_settings.html``.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, url_for
from flask_login import current_user

from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.operations import IntegrationRuleError
from webapp.psa.models import PsaConnection


def connection_of(provider: str, connection_id: int) -> PsaConnection:
    """The provider's connection, or 404 (another provider's id is not found either)."""
    found = db.session.get(PsaConnection, connection_id)
    if found is None or found.provider != provider:
        abort(404)
    return found


def connection_routes(
    bp: Blueprint,
    *,
    provider: str,
    vendor: str,
    prefix: str,
    noun: str,
    run_check: Callable[[PsaConnection], object],
    request_lookups: Callable[[PsaConnection], None],
    disconnect: Callable[[PsaConnection, str], None],
    lookups_block: Callable[[PsaConnection], str],
    forgotten: str,
) -> None:
    """Add ``check``, ``refresh_<noun>``, ``<noun>`` (GET, the polled block) and ``disconnect``
    under ``{prefix}/<connection_id>/`` to ``bp``; each answers with a redirect to ``.index``."""

    def check(connection_id: int):
        connection = connection_of(provider, connection_id)
        try:
            run_check(connection)
        except IntegrationError as exc:
            db.session.rollback()
            abort(502, description=f"{vendor} could not be checked: {exc.message}")
        db.session.commit()
        flash("Connection checked.", "success")
        return redirect(url_for(".index"), 303)

    def refresh(connection_id: int):
        request_lookups(connection_of(provider, connection_id))
        db.session.commit()
        return redirect(url_for(".index"), 303)

    def block(connection_id: int):
        return lookups_block(connection_of(provider, connection_id))

    def disconnect_view(connection_id: int):
        connection = connection_of(provider, connection_id)
        try:
            disconnect(connection, current_user.name)
        except IntegrationRuleError as exc:
            abort(409, description=exc.message)
        db.session.commit()
        flash(f"Disconnected {connection.label}; {forgotten}", "success")
        return redirect(url_for(".index"), 303)

    admin = staff_required(Role.ADMIN)
    rule = f"{prefix}/<int:connection_id>"
    bp.add_url_rule(f"{rule}/check", "check", admin(check), methods=["POST"])
    bp.add_url_rule(f"{rule}/{noun}", f"refresh_{noun}", admin(refresh), methods=["POST"])
    bp.add_url_rule(f"{rule}/{noun}", noun, admin(block), methods=["GET"])
    bp.add_url_rule(f"{rule}/disconnect", "disconnect", admin(disconnect_view), methods=["POST"])
