"""The core's rules for any connection: notices, the sync log, links, reconnects, retries.

Each domain's operations call these for its own connections; nothing here knows a ledger or a
PSA. Operations flush, never commit (the outbox job commits at its documented safe points).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from webapp import signals
from webapp.extensions import db
from webapp.integrations import registry
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import ConnectionContext, IntegrationError
from webapp.integrations.locks import redis_lock
from webapp.integrations.models import (
    Connection,
    ConnectionStatus,
    Delivery,
    ExternalLink,
    Notification,
    NotificationStatus,
    SyncDirection,
    SyncLogEntry,
)
from webapp.integrations.oauth import ConnectionTokens
from webapp.integrations.ratelimit import ConnectionLimiter
from webapp.integrations.secrets import forget_tokens, read_tokens
from webapp.integrations.token_store import stored
from webapp.models_base import utcnow
from webapp.security import log_event
from webapp.statemachine import StateMachine, Transition

log = logging.getLogger(__name__)

_C, _M, _R, _D = (
    ConnectionStatus.CONNECTED,
    ConnectionStatus.NEEDS_MAPPING,
    ConnectionStatus.NEEDS_RECONNECT,
    ConnectionStatus.DISCONNECTED,
)
# Every status change of a connection, of any domain (``CONNECTION.fire``). A connect or an
# enable may repeat (a reconnect of a working grant); a disconnected connection stays so until
# someone connects it again, whatever a late job finds.
CONNECTION = StateMachine(
    "connection",
    ConnectionStatus,
    [
        Transition("connect", frozenset({_C, _M, _R, _D}), _C),
        Transition("needs_mapping", frozenset({_C}), _M),
        Transition("mapped", frozenset({_M}), _C),
        Transition("needs_reconnect", frozenset({_C, _M, _R}), _R),
        Transition("disconnect", frozenset({_C, _M, _R}), _D),
    ],
    initial=_C,
)
# A notice is open until what caused it is gone or an admin dismisses it.
NOTICE = StateMachine(
    "notice",
    NotificationStatus,
    [Transition("resolve", frozenset({NotificationStatus.OPEN}), NotificationStatus.RESOLVED)],
)

# The cause of the notice a lost grant opens; a reconnect closes it.
RECONNECT = "reconnect"
NEEDS_MAPPING = "needs_mapping"


class IntegrationRuleError(Exception):
    """An admin action that is not allowed; ``message`` is shown as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def active_connections(model: type[Connection] = Connection) -> list[Any]:
    """Return connections (of one domain's model) that receive work: not disconnected, not
    deleted."""
    return list(
        db.session.execute(
            db.select(model)
            .where(model.status != ConnectionStatus.DISCONNECTED, model.deleted_at.is_(None))
            .order_by(model.id)
        ).scalars()
    )


# Per transaction: {model: [connections]} read by active_connections_cached.
_ACTIVE = "integration_active_connections"


def active_connections_cached(model: type[Connection] = Connection) -> list[Any]:
    """``active_connections``, read once per transaction (events are emitted by the hundred
    in one transaction, and each asked the table again: 9 ms an event).

    The copy is dropped when the transaction ends and whenever a connection is written in it
    (added, changed or removed, see the listeners below); one still pending in the session
    drops it too, as the query's autoflush would have found it. Each use re-checks
    ``is_active`` on the copy, so a status set but not yet flushed is honoured."""
    session = db.session()
    cache = session.info.setdefault(_ACTIVE, {})
    if cache and any(isinstance(pending, Connection) for pending in session.new):
        cache.clear()
    found = cache.get(model)
    if found is None:
        found = cache[model] = active_connections(model)
    return [connection for connection in found if connection.is_active]


@event.listens_for(Connection, "after_insert", propagate=True)
@event.listens_for(Connection, "after_update", propagate=True)
@event.listens_for(Connection, "after_delete", propagate=True)
def _connection_written(_mapper, _connection, target: Connection) -> None:
    session = object_session(target)
    if session is not None:
        session.info.pop(_ACTIVE, None)


@event.listens_for(Session, "after_commit")
def _transaction_ended(session: Session) -> None:
    session.info.pop(_ACTIVE, None)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, _previous_transaction) -> None:
    # Every rollback, a savepoint's too: a connection it undid must not stay in the copy.
    session.info.pop(_ACTIVE, None)


# -- connection health -----------------------------------------------------------------------


def mark_needs_reconnect(connection: Connection, message: str) -> None:
    """The grant is gone: show "reconnect", keep every delivery queued, tell the admins."""
    note_error(connection, message)
    if not CONNECTION.can(connection, "needs_reconnect"):
        db.session.flush()
        return  # disconnected meanwhile: nothing is sent to reconnect for
    already = connection.status == ConnectionStatus.NEEDS_RECONNECT
    CONNECTION.fire(connection, "needs_reconnect")
    if not already:
        notify(
            connection,
            None,
            f"{connection.label} must be reconnected",
            message,
            field="Connection",
            fix="Open Settings > Integrations and press Reconnect; queued work is sent then.",
            cause=RECONNECT,
        )
    db.session.flush()


def mark_connected(connection: Connection, actor) -> None:
    """A connect or reconnect succeeded: clear the error and close the reconnect notice."""
    CONNECTION.fire(connection, "connect")
    connection.connected_by_id = getattr(actor, "id", None)
    connection.last_error = ""
    db.session.flush()
    log_event(
        "integration.connected",
        connection_id=connection.id,
        provider=connection.provider,
        tenant=connection.tenant_name or connection.tenant_id,
        actor_id=connection.connected_by_id,
    )
    resolve_cause(connection, RECONNECT)
    log_sync(connection, SyncDirection.PULL, "connect", message=f"Connected {connection.label}.")


def note_mappings(connection: Connection, missing: list[str], *, quiet: bool = False) -> bool:
    """Store whether the connection "needs mapping" (``missing`` names what); True if changed.

    Only a working grant moves between the two: a reconnect or a disconnect says more. A
    notice tells the admins, unless ``quiet`` (just connected: the admin is on the page that
    lists what is missing). When the last mapping is chosen the notice closes and the work
    that waited is sent.
    """
    if not connection.is_connected:
        return False
    wanted = ConnectionStatus.NEEDS_MAPPING if missing else ConnectionStatus.CONNECTED
    if connection.status == wanted:
        return False
    CONNECTION.fire(connection, "needs_mapping" if missing else "mapped")
    db.session.flush()
    if missing and not quiet:
        notify(
            connection,
            None,
            f"{connection.label} needs mappings before anything is sent",
            "Missing: " + "; ".join(missing) + ".",
            field="Mappings",
            fix="Open Settings > Integrations and choose them; queued work is sent then.",
            cause=NEEDS_MAPPING,
        )
    elif not missing:
        resolve_cause(connection, NEEDS_MAPPING)
        from webapp.integrations.outbox import schedule_sync

        schedule_sync(connection)
    log_sync(
        connection,
        SyncDirection.PUSH,
        "mappings",
        ok=not missing,
        message=("Mappings needed: " + "; ".join(missing)) if missing else "Mappings complete.",
    )
    return True


def note_error(connection: Connection, message: str) -> None:
    connection.last_error = message[:2000]
    connection.last_error_at = utcnow()


def disconnect(connection: Connection, actor) -> None:
    """Revoke the grant at the vendor (best effort) and forget the tokens."""
    if not CONNECTION.can(connection, "disconnect"):
        raise IntegrationRuleError(f"{connection.label} is already disconnected.")
    revokes = hasattr(registry.provider_class(connection.provider), "revoke")
    if connection.token_ciphertext and revokes:
        try:
            provider, _http = build_provider(connection, limited=False)
            provider.revoke(read_tokens(connection))
        except IntegrationError as exc:
            # The tokens are forgotten either way; a dead grant cannot be revoked twice.
            log.warning("revoking %s failed: %s", connection.label, exc)
    forget_tokens(connection)
    CONNECTION.fire(connection, "disconnect")
    log_sync(connection, SyncDirection.PUSH, "disconnect", message=f"Disconnected by {actor}.")
    db.session.flush()
    log_event(
        "integration.disconnected",
        connection_id=connection.id,
        provider=connection.provider,
        tenant=connection.tenant_name or connection.tenant_id,
        actor=str(actor),
    )


# -- building a provider ---------------------------------------------------------------------


def limiter_for(connection_key: str, provider: Any) -> ConnectionLimiter:
    from webapp.jobs import redis_conn

    return ConnectionLimiter(
        redis_conn(),
        connection_key,
        provider.rate_limit,
        max_wait=float(current_app.config.get("ACCOUNTING_LIMITER_MAX_WAIT", 120)),
    )


def build_provider(
    connection: Connection,
    *,
    limited: bool = True,
    on_call=None,
) -> tuple[Any, IntegrationHttp]:
    """Return the provider for a stored connection and the HTTP channel it uses."""
    cls = registry.provider_class(connection.provider)
    config = current_app.config
    tokens = ConnectionTokens(
        connection,
        cls,
        config,
        store=lambda: stored(connection),
        lock=lambda: redis_lock(f"refresh:{connection.id}"),
        on_needs_reconnect=lambda message: mark_needs_reconnect(connection, message),
    )
    http = IntegrationHttp(
        tokens,
        gate=limiter_for(str(connection.id), cls) if limited else None,
        timeout=float(config.get("ACCOUNTING_HTTP_TIMEOUT", 30)),
        on_call=on_call,
        vendor=cls.label,
        allow_http=bool(config.get("INTEGRATIONS_ALLOW_HTTP")),
    )
    ctx = ConnectionContext(
        connection_id=connection.id,
        tenant_id=connection.tenant_id,
        tenant_name=connection.tenant_name,
        api_base=config[cls.oauth.api_base_key],
        http=http,
        config=config,
        options={"vendor_connection_id": connection.vendor_connection_id},
    )
    return cls(ctx), http


# -- links -----------------------------------------------------------------------------------


def link_for(connection_id: int, subject_type: str, subject_id: int) -> ExternalLink | None:
    """Return the record that stands for our ``subject`` in that connection's system."""
    return db.session.execute(
        db.select(ExternalLink).filter_by(
            connection_id=connection_id, subject_type=subject_type, subject_id=subject_id
        )
    ).scalar_one_or_none()


def save_link(
    connection: Connection,
    subject_type: str,
    subject_id: int,
    *,
    remote_id: str,
    remote_number: str = "",
    remote_url: str = "",
    version: str = "",
) -> ExternalLink:
    link = link_for(connection.id, subject_type, subject_id)
    if link is None:
        link = ExternalLink(
            connection_id=connection.id, subject_type=subject_type, subject_id=subject_id
        )
        db.session.add(link)
    link.remote_id = remote_id
    link.remote_number = remote_number
    link.remote_url = remote_url
    link.version = version
    return link


# -- notifications and the sync log ----------------------------------------------------------


def notify(
    connection: Connection | None,
    delivery: Delivery | None,
    title: str,
    message: str,
    *,
    field: str = "",
    fix: str = "",
    cause: str = "",
) -> Notification:
    """Open (or refresh) the admin notification for a failure.

    One open notice per delivery, and one per (connection, cause) for connection-wide causes;
    ``resolve_cause`` closes the latter when the cause is gone.
    """
    existing = None
    if delivery is not None:
        existing = db.session.execute(
            db.select(Notification).filter_by(
                delivery_id=delivery.id, status=NotificationStatus.OPEN
            )
        ).scalar_one_or_none()
    elif cause and connection is not None and connection.id is not None:
        existing = db.session.execute(
            db.select(Notification).filter_by(
                connection_id=connection.id, cause=cause, status=NotificationStatus.OPEN
            )
        ).scalar_one_or_none()
    note = existing or Notification(connection=connection, delivery=delivery, cause=cause)
    note.title = title[:300]
    note.message = message
    note.field = field[:200]
    note.fix = fix
    db.session.add(note)
    db.session.flush()
    signals.integration_failed.send(note)
    return note


def resolve_notifications(delivery: Delivery) -> None:
    for note in db.session.execute(
        db.select(Notification).filter_by(delivery_id=delivery.id, status=NotificationStatus.OPEN)
    ).scalars():
        NOTICE.fire(note, "resolve")
        note.resolved_at = utcnow()


def resolve_cause(connection: Connection, cause: str) -> None:
    """Close the connection's open notices of ``cause``: it is gone (e.g. reconnected)."""
    for note in db.session.execute(
        db.select(Notification).filter_by(
            connection_id=connection.id, cause=cause, status=NotificationStatus.OPEN
        )
    ).scalars():
        NOTICE.fire(note, "resolve")
        note.resolved_at = utcnow()


def dismiss_notification(note: Notification) -> None:
    NOTICE.fire(note, "resolve")
    note.resolved_at = utcnow()


def log_sync(
    connection: Connection | None,
    direction: SyncDirection,
    kind: str,
    *,
    delivery: Delivery | None = None,
    ok: bool = True,
    message: str = "",
    remote_id: str = "",
) -> None:
    db.session.add(
        SyncLogEntry(
            connection=connection,
            direction=direction,
            kind=kind,
            subject_type=delivery.subject_type if delivery else "",
            subject_id=delivery.subject_id if delivery else None,
            delivery_id=delivery.id if delivery else None,
            ok=ok,
            message=message[:2000],
            remote_id=remote_id,
        )
    )


def retry_delivery(delivery: Delivery, actor) -> None:
    """Re-queue a failed delivery after the admin fixed the cause (new idempotency key)."""
    from webapp.integrations import outbox

    if not outbox.DELIVERY.can(delivery, "retry"):
        raise IntegrationRuleError("Only failed deliveries can be retried.")
    outbox.DELIVERY.fire(delivery, "retry")
    # A new key: the vendor replays a stored rejection for a key it has seen.
    delivery.generation += 1
    delivery.next_attempt_at = None
    delivery.last_error = ""
    delivery.error_field = ""
    delivery.error_fix = ""
    resolve_notifications(delivery)
    log_sync(
        delivery.connection,
        SyncDirection.PUSH,
        delivery.kind,
        delivery=delivery,
        message=f"Retry requested by {actor}.",
    )
    outbox.schedule_sync(delivery.connection)
    db.session.flush()
