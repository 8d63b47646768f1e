"""The outbox: delivery rows written in the business transaction, sent in batches by a job.

Writing (inside the sender's unit of work): a domain calls ``ensure_delivery`` once per thing
per connection (its prerequisites as ``depends_on``; the delivery waits instead of failing)
and ``schedule_sync``, which enqueues one job per connection after commit. If Redis is down at
that moment nothing is lost: the five-minute ``sweep`` finds the due rows.

Sending (``run_sync``, from workers.integrations): picks ready deliveries of one connection in
its domain's dependency order, hands the domain's ``Sender`` batches of up to ``max_batch``,
and records one attempt per delivery. Exactly-once rests on three things: the vendor
idempotency key derived from the delivery (``Delivery.request_key``), ``maybe_sent`` committed
*before* each call (so a retry after a lost response, a timeout or a killed worker looks the
record up before creating it), and one sync job per connection at a time (a Redis lock).

A domain plugs in by registering a ``sender`` (``registry.Registration``): a class built from
the connection that turns a delivery into the vendor's payload and pushes a batch of them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from webapp import signals
from webapp.extensions import db
from webapp.integrations import operations, registry, stalled
from webapp.integrations.interfaces import (
    NeedsReconnect,
    PermanentError,
    PushResult,
    TransientError,
)
from webapp.integrations.models import (
    AttemptOutcome,
    Connection,
    ConnectionStatus,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    SyncDirection,
    delivery_dependencies,
)
from webapp.jobs import enqueue_after_commit, schedule_after_commit
from webapp.models_base import utcnow
from webapp.statemachine import StateMachine, Transition

OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.WAITING)
BACKOFF = [5, 30, 120, 600, 1800, 3600]
SYNC_JOB = "workers.integrations.sync_connection"
READY_CHUNK = 25  # deliveries picked per round of a run (whole batches, at least one)

_P, _W, _S = DeliveryStatus.PENDING, DeliveryStatus.WAITING, DeliveryStatus.SENT
# Every status change of a delivery is one of these named steps (``DELIVERY.fire``).
DELIVERY = StateMachine(
    "delivery",
    DeliveryStatus,
    [
        # A prerequisite is not confirmed yet / now it is.
        Transition("wait", frozenset({_P, _S}), DeliveryStatus.WAITING),
        Transition("ready", frozenset({_W}), DeliveryStatus.PENDING),
        # Handed to the vendor; a send after a lost answer (still "sent") looks up first.
        Transition("send", frozenset({_P, _S}), DeliveryStatus.SENT),
        Transition("requeue", frozenset({_S}), DeliveryStatus.PENDING),  # transient, or reconnect
        Transition("confirm", frozenset({_S}), DeliveryStatus.CONFIRMED),
        Transition("fail", frozenset({_P, _W, _S}), DeliveryStatus.FAILED),  # refused / never due
        Transition("retry", frozenset({DeliveryStatus.FAILED}), DeliveryStatus.PENDING),
        Transition(
            "cancel", frozenset({_P, _W, _S, DeliveryStatus.FAILED}), DeliveryStatus.CANCELLED
        ),
    ],
)


class Sender:
    """What a domain gives the outbox for one connection (``Registration.sender``).

    Subclass it, build it from the connection, and fill in ``payload``, ``push`` and
    ``confirmed``; the rest has defaults.
    """

    # Kinds in dependency order: a kind is sent only once the earlier ones of the run are done.
    kind_order: Sequence[str] = ()
    max_batch: int = 1
    http: Any = None  # the connection's IntegrationHttp (call counts, excerpts)
    # Seconds to wait after the 1st, 2nd... transient failure (None: ACCOUNTING_RETRY_BACKOFF
    # or BACKOFF); with ``max_attempts`` a delivery still failing after that many tries fails.
    backoff_steps: Sequence[float] | None = None
    max_attempts: int | None = None

    def blocked(self) -> list[str]:
        """Reasons nothing may be sent yet (e.g. mappings to choose); [] when ready."""
        return []

    def payload(self, delivery: Delivery) -> Any:
        """The vendor payload (with a ``key``); raise PermanentError when it cannot be built."""
        raise NotImplementedError

    def push(self, kind: str, items: list) -> list[PushResult]:
        """Send one batch of one kind; raise TransientError / NeedsReconnect for the batch."""
        raise NotImplementedError

    def describe(self, delivery: Delivery) -> str:
        """Name the delivery's subject in plain words (a document number)."""
        return f"{delivery.subject_type.replace('_', ' ')} #{delivery.subject_id}"

    def confirmed(self, delivery: Delivery, result: PushResult) -> str:
        """Record what the vendor now holds (links); return the sync-log message."""
        raise NotImplementedError

    def rejected(self, delivery: Delivery) -> bool:
        """A refusal the domain settles itself (True: do not fail and notify)."""
        return False

    def gave_up(self, delivery: Delivery) -> None:
        """``max_attempts`` ran out for this delivery (it is failed and notified)."""


# ============================================================================================
# Writing deliveries (inside the business transaction)
# ============================================================================================


def schedule_sync(connection: Connection) -> None:
    """Enqueue one sync job for the connection after commit (once per transaction)."""
    scheduled = db.session.info.setdefault("integration_sync_scheduled", set())
    if connection.id in scheduled:
        return
    scheduled.add(connection.id)
    enqueue_after_commit(SYNC_JOB, connection.id)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _clear_schedule(session: Session) -> None:
    session.info.pop("integration_sync_scheduled", None)


def ensure_delivery(
    connection: Connection,
    kind: str,
    subject_type: str,
    subject_id: int,
    depends_on: Iterable[Delivery] = (),
    *,
    new_subject: bool = False,
) -> Delivery:
    """Return the delivery for (connection, kind, subject), creating it once.

    ``new_subject``: the subject was made in this transaction, so it has no delivery yet and
    the look-up is skipped (the unique idempotency key still refuses a second one)."""
    key = f"{connection.id}:{kind}:{subject_type}:{subject_id}"
    delivery = (
        None
        if new_subject
        else db.session.execute(
            db.select(Delivery).filter_by(idempotency_key=key)
        ).scalar_one_or_none()
    )
    if delivery is None:
        delivery = Delivery(
            connection=connection,
            kind=str(kind),
            subject_type=subject_type,
            subject_id=subject_id,
            idempotency_key=key,
            status=DeliveryStatus.PENDING,
        )
        db.session.add(delivery)
    for dependency in depends_on:
        if dependency not in delivery.depends_on:
            delivery.depends_on.append(dependency)
    if any(d.status != DeliveryStatus.CONFIRMED for d in delivery.depends_on) and (
        delivery.status == DeliveryStatus.PENDING
    ):
        DELIVERY.fire(delivery, "wait")
    return delivery


def find_delivery(connection_id: int, kind: str, subject_type: str, subject_id: int):
    return db.session.execute(
        db.select(Delivery).filter_by(
            connection_id=connection_id, kind=kind, subject_type=subject_type, subject_id=subject_id
        )
    ).scalar_one_or_none()


def cancel_unsent(delivery: Delivery, message: str) -> None:
    """Stop a delivery that never reached the vendor; its notice closes."""
    DELIVERY.fire(delivery, "cancel")
    delivery.next_attempt_at = None
    delivery.maybe_sent = False
    operations.resolve_notifications(delivery)
    if message:
        operations.log_sync(
            delivery.connection,
            SyncDirection.PUSH,
            delivery.kind,
            delivery=delivery,
            message=message,
        )


def due_connection_ids() -> list[int]:
    """Connected connections with due work (backoff ended, or a job that was lost)."""
    now = utcnow()
    return list(
        db.session.execute(
            db.select(Delivery.connection_id)
            .join(Connection, Connection.id == Delivery.connection_id)
            .where(
                Connection.status == ConnectionStatus.CONNECTED,
                Delivery.status.in_(OPEN_STATUSES),
                db.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            )
            .distinct()
        ).scalars()
    )


# ============================================================================================
# Sending (inside a job)
# ============================================================================================


@dataclass
class SyncReport:
    """What one run did (tests, the bench and the sync log read it)."""

    confirmed: int = 0
    failed: int = 0
    api_calls: int = 0
    throttled: int = 0
    more: bool = False  # ready work remains (the job re-enqueues itself)
    transient: str = ""
    # Not empty: the connection "needs mapping" and nothing was pushed (Sender.blocked).
    needs_mapping: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)


def _ready(connection: Connection, kind_order: Sequence[str], limit: int) -> list[Delivery]:
    """Return up to ``limit`` due deliveries whose prerequisites are confirmed, of one kind:
    the first in dependency order (documents only once this run's prerequisites are done).

    The database does the picking (a NOT EXISTS on unconfirmed prerequisites, the kind's rank,
    a LIMIT), so a run over a long queue reads only what it sends.
    """
    now = utcnow()
    due = db.and_(
        Delivery.connection_id == connection.id,
        Delivery.status.in_(OPEN_STATUSES),
        db.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )
    prerequisite = aliased(Delivery)
    blocked = (
        db.select(delivery_dependencies.c.delivery_id)
        .join(prerequisite, prerequisite.id == delivery_dependencies.c.depends_on_id)
        .where(
            delivery_dependencies.c.delivery_id == Delivery.id,
            prerequisite.status != DeliveryStatus.CONFIRMED,
        )
        .exists()
    )
    # The status says what the pages show: waiting while a prerequisite is not confirmed.
    for delivery in db.session.scalars(
        db.select(Delivery)
        .where(due, Delivery.status != DeliveryStatus.WAITING, blocked)
        .limit(1000)
    ):
        DELIVERY.fire(delivery, "wait")
    for delivery in db.session.scalars(
        db.select(Delivery)
        .where(due, Delivery.status == DeliveryStatus.WAITING, ~blocked)
        .limit(1000)
    ):
        DELIVERY.fire(delivery, "ready")
    query = db.select(Delivery).where(due, ~blocked, Delivery.status != DeliveryStatus.WAITING)
    if kind_order:
        rank = db.case(
            {kind: number for number, kind in enumerate(kind_order)},
            value=Delivery.kind,
            else_=len(kind_order),
        )
        query = query.order_by(rank, Delivery.id)
    else:
        query = query.order_by(Delivery.id)
    rows = list(db.session.scalars(query.limit(limit)))
    first = rows[0].kind if rows else None
    return [d for d in rows if d.kind == first]


def backoff(
    attempts: int, retry_after: float | None, steps: Sequence[float] | None = None
) -> timedelta:
    """Exponential steps with jitter; never sooner than the vendor's Retry-After."""
    if not steps:
        raw = str(current_app.config.get("ACCOUNTING_RETRY_BACKOFF") or "")
        steps = [float(s) for s in raw.split(",") if s.strip()] or BACKOFF
    # Jitter (up to a fifth earlier) keeps connections that failed together from retrying in step.
    seconds = steps[min(max(attempts, 1), len(steps)) - 1] * random.uniform(0.8, 1.0)  # noqa: S311
    if retry_after:
        seconds = max(seconds, retry_after)
    return timedelta(seconds=seconds)


def plain(error: PermanentError) -> str:
    parts = [error.message]
    if error.field:
        parts.append(f"Field: {error.field}.")
    if error.fix:
        parts.append(f"Fix: {error.fix}")
    return " ".join(parts)


def _fail(
    connection: Connection,
    sender: Sender,
    delivery: Delivery,
    attempt: DeliveryAttempt | None,
    error: PermanentError,
) -> None:
    if attempt is not None:
        attempt.outcome = AttemptOutcome.REJECTED
        attempt.error = plain(error)
    if sender.rejected(delivery):
        return
    DELIVERY.fire(delivery, "fail")
    delivery.last_error = error.message
    delivery.error_field = error.field[:200]
    delivery.error_fix = error.fix
    operations.notify(
        connection,
        delivery,
        f"{delivery.kind_label} {sender.describe(delivery)} was rejected by "
        f"{connection.provider_label}",
        error.message,
        field=error.field,
        fix=error.fix,
    )
    operations.log_sync(
        connection,
        SyncDirection.PUSH,
        delivery.kind,
        delivery=delivery,
        ok=False,
        message=plain(error),
    )


def _give_up(connection, sender: Sender, delivery, attempt, exc: TransientError) -> None:
    """The last allowed try failed too: fail it (an admin may Retry) and tell the domain."""
    error = PermanentError(
        f"{connection.provider_label} still failed after {delivery.attempts} attempts: "
        f"{exc.message}",
        field="Delivery",
        fix="Check the receiving system, then press Retry.",
    )
    _fail(connection, sender, delivery, attempt, error)
    sender.gave_up(delivery)


def _still_open(deliveries: list[Delivery]) -> list[Delivery]:
    """Re-read the statuses under a row lock: a cancel may have stopped one meanwhile."""
    if not deliveries:
        return deliveries
    with db.session.no_autoflush:
        current = dict(
            db.session.execute(
                db.select(Delivery.id, Delivery.status)
                .where(Delivery.id.in_([d.id for d in deliveries]))
                .with_for_update()
            ).all()
        )
    kept = []
    for delivery in deliveries:
        if current.get(delivery.id) == DeliveryStatus.CANCELLED:
            # Cancelled by another transaction: take its word over this stale copy (the row's
            # value, loaded as is; not a change of this transaction's).
            set_committed_value(delivery, "status", current[delivery.id])
        else:
            kept.append(delivery)
    return kept


def _confirm(
    connection: Connection,
    sender: Sender,
    delivery: Delivery,
    attempt: DeliveryAttempt,
    result: PushResult,
) -> None:
    DELIVERY.fire(delivery, "confirm")
    delivery.remote_id = result.remote_id
    delivery.remote_number = result.remote_number[:100]
    delivery.maybe_sent = False
    delivery.confirmed_at = utcnow()
    delivery.last_error = ""
    attempt.outcome = AttemptOutcome.SUCCEEDED
    operations.resolve_notifications(delivery)
    message = sender.confirmed(delivery, result)
    signals.integration_delivery_confirmed.send(delivery)
    operations.log_sync(
        connection,
        SyncDirection.PUSH,
        delivery.kind,
        delivery=delivery,
        message=message,
        remote_id=result.remote_id,
    )


def deliver_batch(
    connection: Connection,
    sender: Sender,
    deliveries: list[Delivery],
    report: SyncReport,
) -> None:
    """Push one API batch of same-kind deliveries; commit before and after the call."""
    kind = deliveries[0].kind
    label = registry.kind_label(kind)
    http = sender.http
    items, sending = [], []
    for delivery in _still_open(deliveries):
        try:
            items.append(sender.payload(delivery))
        except PermanentError as error:
            delivery.attempts += 1
            _fail(connection, sender, delivery, None, error)
            report.failed += 1
            continue
        sending.append(delivery)
    attempts = {}
    for delivery in sending:
        delivery.attempts += 1
        DELIVERY.fire(delivery, "send")
        delivery.maybe_sent = True  # from here on a retry must look the record up first
        attempts[delivery.id] = DeliveryAttempt(delivery=delivery)
        db.session.add(attempts[delivery.id])
    # Commit point 1: what is about to be sent is durable before the vendor sees it.
    db.session.commit()
    if not sending:
        return
    calls_before = http.call_count
    started = time.monotonic()
    try:
        results = sender.push(kind, items)
    except NeedsReconnect as exc:
        for delivery in sending:
            DELIVERY.fire(delivery, "requeue")
            attempts[delivery.id].outcome = AttemptOutcome.RECONNECT
            attempts[delivery.id].error = exc.message
        operations.mark_needs_reconnect(connection, exc.message)
        _finish_attempts(attempts, http, calls_before, started)
        db.session.commit()
        raise
    except TransientError as exc:
        retrying = []
        for delivery in sending:
            attempts[delivery.id].error = exc.message
            attempts[delivery.id].http_status = exc.status
            if sender.max_attempts is not None and delivery.attempts >= sender.max_attempts:
                _give_up(connection, sender, delivery, attempts[delivery.id], exc)
                report.failed += 1
                continue
            DELIVERY.fire(delivery, "requeue")
            delivery.next_attempt_at = utcnow() + backoff(
                delivery.attempts, exc.retry_after, sender.backoff_steps
            )
            delivery.last_error = exc.message
            attempts[delivery.id].outcome = AttemptOutcome.TRANSIENT
            retrying.append(delivery)
        operations.note_error(connection, exc.message)
        if not retrying:
            _finish_attempts(attempts, http, calls_before, started)
            db.session.commit()
            raise
        sending = retrying
        operations.log_sync(
            connection,
            SyncDirection.PUSH,
            kind,
            ok=False,
            message=f"{len(sending)} {label.lower()} deliveries will be retried: {exc.message}",
        )
        # Run again when the backoff ends, not at the next five-minute sweep (RQ's own retry
        # of this job may come before a long Retry-After and find nothing due).
        schedule_after_commit(
            min(d.next_attempt_at for d in sending),
            SYNC_JOB,
            connection.id,
            job_id=f"integration-retry-{connection.id}",
        )
        _finish_attempts(attempts, http, calls_before, started)
        db.session.commit()
        raise
    by_key = {r.key: r for r in results}
    for delivery, item in zip(sending, items, strict=True):
        attempt = attempts[delivery.id]
        result = by_key.get(item.key)
        attempt.request_excerpt = result.request_excerpt if result else ""
        attempt.response_excerpt = result.response_excerpt if result else ""
        if result is not None and result.ok:
            _confirm(connection, sender, delivery, attempt, result)
            report.confirmed += 1
            report.by_kind[kind] = report.by_kind.get(kind, 0) + 1
        else:
            error = (result.error if result else None) or PermanentError(
                f"{connection.provider_label} returned no result for this {label.lower()}.",
                field=label,
                fix="Press Retry; if it fails again, check the record there.",
            )
            _fail(connection, sender, delivery, attempt, error)
            report.failed += 1
    _finish_attempts(attempts, http, calls_before, started)
    # Commit point 2: the outcome (remote ids, links, failures) is durable.
    db.session.commit()


def _finish_attempts(attempts, http, calls_before, started) -> None:
    duration = int((time.monotonic() - started) * 1000)
    calls = http.calls[calls_before:]
    last = calls[-1] if calls else None
    for attempt in attempts.values():
        attempt.duration_ms = duration
        if last is not None:
            attempt.http_status = attempt.http_status or last.status
            if not attempt.request_excerpt:
                attempt.request_excerpt = last.request_excerpt
            if not attempt.response_excerpt:
                attempt.response_excerpt = last.response_excerpt


def run_sync(
    connection: Connection,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncReport:
    """Push ready deliveries of one connection (at most ``limit`` this run).

    ``progress(n)`` is told after each API batch how many deliveries it settled (the CLI's
    progress bar). Raises TransientError (after recording it) so the job's RQ retry applies, and
    NeedsReconnect when the grant is gone (the work stays queued).
    """
    report = SyncReport()
    if not connection.is_connected:
        return report  # needs_reconnect: work waits; disconnected: nothing is sent
    sender: Sender = registry.sender(connection)
    report.needs_mapping = sender.blocked()
    # Stored too (a tax code made the default elsewhere can leave a mapping missing).
    if operations.note_mappings(connection, report.needs_mapping):
        db.session.commit()
    if report.needs_mapping:
        return report  # needs mapping: work waits until every mapping is chosen
    stalled.settle(connection, sender, DELIVERY.fire)  # a cancelled/failed prerequisite
    limit = limit or int(current_app.config.get("ACCOUNTING_JOB_BATCH", 300))
    http = sender.http
    done = 0
    try:
        size = max(1, int(sender.max_batch))
        while done < limit:
            # Whole API batches only: a run that stops mid-batch would send a half-full one.
            # A few batches at a time: every commit expires what the session holds.
            chunk = min(limit - done, max(size, READY_CHUNK))
            ready = _ready(connection, sender.kind_order, -(-chunk // size) * size)
            if not ready:
                break
            for start in range(0, len(ready), size):
                deliver_batch(connection, sender, ready[start : start + size], report)
                if progress is not None:
                    progress(len(ready[start : start + size]))
            done += len(ready)
        report.more = bool(_ready(connection, sender.kind_order, 1))
        connection.last_sync_at = utcnow()
        if report.failed == 0 and connection.status == ConnectionStatus.CONNECTED:
            connection.last_error = ""
    except TransientError as exc:
        report.transient = exc.message
        raise
    finally:
        report.api_calls = http.call_count
        report.throttled = http.throttled
        db.session.commit()
    return report
