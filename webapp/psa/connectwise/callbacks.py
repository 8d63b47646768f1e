"""Callbacks back from ConnectWise (tickets, opportunities, purchase orders, product catalog).

PSA-NOTES 2.10: registered idempotently through ``/system/callbacks`` (list ours by URL, add the
missing, re-enable the disabled, delete extras) and checked by a health job; each call is
verified before anything but ``Metadata.key_url`` is read: the signing key is fetched only from
an allow-listed host over HTTPS (``CONNECTWISE_KEY_HOSTS``; an SSRF guard), and
``x-content-signature`` must be base64(HMAC-SHA256(SHA-256(signing key), raw body)). A verified
call is a hint: the handler re-fetches the record and ``hints`` brings ours in step with it
(tickets: the cached open tickets dropped; opportunities: our quote won / lost; purchase
orders: receipts compared). ``reconcile`` polls ``lastUpdated`` for what
callbacks missed (ConnectWise retries little and disables a callback after three days).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, request
from sqlalchemy.exc import IntegrityError

from webapp.extensions import csrf, db
from webapp.integrations import operations as core
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.models import ExternalLink, InboundEvent, SyncDirection
from webapp.jobs import enqueue_after_commit
from webapp.models_base import utcnow
from webapp.psa.connectwise import hints, operations, sync
from webapp.psa.connectwise.client import NotFound, condition
from webapp.psa.models import PsaConnection

# Callback type -> (API path of the record, the link subject it may stand for).
TYPES: dict[str, tuple[str, str]] = {
    "Ticket": ("service/tickets", sync.TICKET_LINK),
    "Opportunity": ("sales/opportunities", sync.QUOTE),
    "PurchaseOrder": ("procurement/purchaseorders", sync.PO),
    "ProductCatalog": ("procurement/catalog", sync.PRODUCT),
}
# What a re-fetched record of ours changes here (the record is None when it is gone).
RECONCILE = {
    "Opportunity": hints.opportunity_changed,
    "PurchaseOrder": hints.purchase_order_changed,
}
DESCRIPTION = "MSP quoting tool"
log = logging.getLogger(__name__)
KEY_CACHE_SECONDS = 3600


# -- verification ----------------------------------------------------------------------------


class Refused(Exception):
    """The call is not from ConnectWise (or cannot be checked); nothing was read."""


def signature(signing_key: str, body: bytes) -> str:
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def key_url_allowed(url: str) -> bool:
    """HTTPS (http only with INTEGRATIONS_ALLOW_HTTP, for tests) to an allow-listed host."""
    config = current_app.config
    parts = urlsplit(url)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and config.get("INTEGRATIONS_ALLOW_HTTP")
    ):
        return False
    if parts.username or parts.password:
        return False
    host = (parts.hostname or "").lower()
    allowed = [h.strip().lower() for h in str(config.get("CONNECTWISE_KEY_HOSTS", "")).split(",")]
    return any(h and (host == h or host.endswith(f".{h}")) for h in allowed)


def _fetch_key(url: str, fresh: bool) -> str:
    from webapp.jobs import redis_conn

    cache = f"cw:signing-key:{hashlib.sha256(url.encode()).hexdigest()}"
    redis = redis_conn()
    if not fresh:
        cached = redis.get(cache)
        if cached:
            return cached.decode()
    http = IntegrationHttp(
        None,
        timeout=5.0,
        allow_http=bool(current_app.config.get("INTEGRATIONS_ALLOW_HTTP")),
        vendor="ConnectWise",
        follow_redirects=False,  # a redirect could leave the allow-listed host
    )
    try:
        response = http.request("GET", url, auth=False)
    except IntegrationError as exc:
        raise Refused(f"the signing key could not be fetched: {exc.message}") from exc
    if response.status_code != 200:
        raise Refused(f"the key URL answered {response.status_code}")
    try:
        key = str(response.json()["signing_key"])
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused("the key URL did not return a signing key") from exc
    redis.setex(cache, KEY_CACHE_SECONDS, key)
    return key


def verify(raw: bytes, header: str) -> dict:
    """Return the payload once its signature is verified; raise Refused otherwise."""
    if not header:
        raise Refused("no x-content-signature")
    try:
        key_url = json.loads(raw)["Metadata"]["key_url"]
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused("no Metadata.key_url") from exc
    if not isinstance(key_url, str) or not key_url_allowed(key_url):
        raise Refused("the key URL's host is not allow-listed")
    for fresh in (False, True):  # a cached key may have been rotated: fetch once more
        if hmac.compare_digest(signature(_fetch_key(key_url, fresh), raw), header):
            return json.loads(raw)
    raise Refused("the signature does not match")


# -- registration ----------------------------------------------------------------------------


def callback_url(connection: PsaConnection) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    # Built from the URL map, not a request: the health job registers callbacks too.
    path = current_app.url_map.bind("localhost").build(
        "psa_connectwise_callbacks.callback", {"connection_id": connection.id}
    )
    return f"{base}{path}?recordId="  # ConnectWise appends the id and action (PN 2.10)


def ensure_callbacks(connection: PsaConnection) -> dict[str, int]:
    """Register our callbacks once: add the missing, re-enable disabled ones, delete extras."""
    client = operations.client_for(connection)
    url = callback_url(connection)
    base = url.split("?")[0]
    ours = list(client.each("system/callbacks", condition("url", "contains", base)))
    wanted = {kind: None for kind in TYPES}
    counts = {"added": 0, "enabled": 0, "deleted": 0, "kept": 0}
    for entry in ours:
        kind = entry.get("type")
        same = (
            kind in wanted
            and wanted[kind] is None
            and entry.get("url") == url
            and entry.get("level") == "Owner"
            and entry.get("objectId") == 1
            and entry.get("description") == DESCRIPTION
        )
        if not same:
            client.delete(f"system/callbacks/{entry['id']}")
            counts["deleted"] += 1
            continue
        wanted[kind] = entry
        if entry.get("inactiveFlag"):
            client.patch(f"system/callbacks/{entry['id']}", {"inactiveFlag": False})
            counts["enabled"] += 1
        else:
            counts["kept"] += 1
    for kind, entry in wanted.items():
        if entry is None:
            client.create(
                "system/callbacks",
                {
                    "url": url,
                    "objectId": 1,
                    "type": kind,
                    "level": "Owner",
                    "description": DESCRIPTION,
                    "inactiveFlag": False,
                    "isSelfSuppressedFlag": True,  # not for our own writes
                },
            )
            counts["added"] += 1
    connection.options = {**(connection.options or {}), "callbacks_checked_at": _iso(utcnow())}
    core.log_sync(
        connection,
        SyncDirection.PULL,
        "callbacks",
        ok=not counts["enabled"],
        message=", ".join(f"{v} {k}" for k, v in counts.items()),
    )
    if counts["enabled"]:
        core.notify(
            connection,
            None,
            "ConnectWise had disabled our callbacks",
            f"{counts['enabled']} callback(s) were disabled by ConnectWise (it does so after "
            "three days of failures) and were enabled again; the reconciliation poll fetches "
            "what was missed.",
            field="Callbacks",
            cause="cw_callbacks_disabled",
        )
    db.session.flush()
    return counts


# -- handling (a job) ------------------------------------------------------------------------


def connection_for(payload: dict) -> PsaConnection | None:
    return db.session.scalar(
        db.select(PsaConnection).filter_by(
            provider=operations.CONNECTWISE, tenant_id=str(payload.get("CompanyId", "")).lower()
        )
    )


def handle(_provider, raw: bytes) -> None:
    """A verified callback: re-fetch the record it names (the payload is only a hint)."""
    payload = json.loads(raw)
    connection = connection_for(payload)
    if connection is None:
        return
    kind = next((k for k in TYPES if k.lower() == str(payload.get("Type", "")).lower()), None)
    if kind is None:
        raise ValueError(f"unknown callback type {payload.get('Type')!r}")
    refresh(connection, kind, int(payload["ID"]), action=str(payload.get("Action", "")))
    db.session.commit()


def refresh(
    connection: PsaConnection, kind: str, record_id: int, action: str = "", record=None
) -> str:
    """Read the record again (unless the poll just did) and bring our links up to date."""
    path, subject = TYPES[kind]
    link = db.session.scalar(
        db.select(ExternalLink).filter_by(
            connection_id=connection.id, subject_type=subject, remote_id=str(record_id)
        )
    )
    if record is None:
        try:
            record = operations.client_for(connection).get(f"{path}/{record_id}") or {}
        except NotFound:
            record = None
    if kind == "Ticket":
        hints.ticket_changed(connection)  # any ticket, ours or not, may open or close
    if record is None:
        message = f"{kind} {record_id} is gone from ConnectWise"
        if link is not None and subject == sync.PRODUCT:
            db.session.delete(link)  # recreated in the catalog the next time it is sold
            message += "; the product will be created again when next sold"
    elif link is None:
        message = f"{kind} {record_id} {action or 'changed'}; not one of ours"
    else:
        status = (record.get("status") or {}).get("name") or ""
        if kind == "Ticket" and record.get("closedFlag"):
            status = "closed"
        message = f"{kind} {record_id} {action or 'changed'}" + (f": {status}" if status else "")
        link.version = str((record.get("_info") or {}).get("lastUpdated") or "")[:40]
    if link is not None and kind in RECONCILE:
        message += RECONCILE[kind](connection, link, record)
    core.log_sync(connection, SyncDirection.PULL, f"callback {kind}", message=message)
    return message


def reconcile(connection: PsaConnection, since: datetime | None = None) -> int:
    """Poll every callback type for records changed since the last poll (forward-only)."""
    client = operations.client_for(connection)
    started = utcnow()
    last = since or _parse(connection.option("reconciled_at"))
    seen = 0
    for kind, (path, _subject) in TYPES.items():
        where = condition("lastUpdated", ">", last) if last else ""
        for record in client.each(path, where):
            refresh(connection, kind, int(record["id"]), "updated", record)
            seen += 1
    connection.options = {**(connection.options or {}), "reconciled_at": _iso(started)}
    db.session.flush()
    return seen


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _parse(text) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# -- the endpoint ----------------------------------------------------------------------------

bp = Blueprint("psa_connectwise_callbacks", __name__, url_prefix="/webhooks/connectwise")
MAX_BYTES = 256 * 1024


@bp.post("/<int:connection_id>")
@csrf.exempt  # ConnectWise signs the body instead (checked first)
def callback(connection_id: int):
    if (request.content_length or 0) > MAX_BYTES:
        return "body too large", 413
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BYTES:
        return "body too large", 413
    try:
        payload = verify(raw, request.headers.get("x-content-signature", ""))
    except Refused as exc:
        log.warning("ConnectWise callback refused: %s", exc)
        return "signature not verified", 401
    connection = db.session.get(PsaConnection, connection_id)
    if (
        connection is None
        or connection.provider != operations.CONNECTWISE
        or str(payload.get("CompanyId", "")).lower() != connection.tenant_id
    ):
        return "unknown connection", 404
    event = InboundEvent(
        provider=operations.CONNECTWISE,
        body=raw.decode("utf-8", "replace"),
        body_sha256=hashlib.sha256(raw).hexdigest(),
    )
    db.session.add(event)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # ConnectWise sent this body before: stored and handled
        return "", 204
    if str(payload.get("Type", "")).lower() == "ticket":
        hints.ticket_changed(connection)  # the checkout offers the ticket's new state at once
    enqueue_after_commit("workers.integrations.handle_inbound", event.id)
    db.session.commit()
    return "", 204
