"""Autotask's ticket webhook calls: ``POST /webhooks/autotask/<connection>`` (and its
deactivation URL). The signature is checked over the raw body before anything else."""

from __future__ import annotations

from flask import Blueprint, abort, request

from webapp.extensions import csrf, db
from webapp.psa import inbound
from webapp.psa.models import PsaConnection

bp = Blueprint("psa_webhooks", __name__, url_prefix="/webhooks/autotask")

MAX_BYTES = 256 * 1024  # a ticket event is a few kilobytes


def _receive(connection_id: int, *, deactivated: bool):
    if (request.content_length or 0) > MAX_BYTES:
        return "body too large", 413
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BYTES:
        return "body too large", 413
    connection = db.session.get(PsaConnection, connection_id)
    if connection is None or connection.provider != "autotask":
        abort(404)
    header = request.headers.get("X-Hook-Signature", "")
    if not inbound.receive(connection, raw, header, deactivated=deactivated):
        db.session.rollback()
        return "signature does not match", 401
    db.session.commit()
    return "", 200


@bp.post("/<int:connection_id>")
@csrf.exempt  # Autotask signs the body instead (checked first)
def ticket_event(connection_id: int):
    return _receive(connection_id, deactivated=False)


@bp.post("/<int:connection_id>/deactivated")
@csrf.exempt
def deactivated(connection_id: int):
    return _receive(connection_id, deactivated=True)
