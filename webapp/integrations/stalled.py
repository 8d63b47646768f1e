"""Deliveries whose prerequisite will not be confirmed by itself: they never wait silently.

- A prerequisite **cancelled** (its subject was cancelled, or an admin stopped it) can never be
  confirmed: the delivery waiting on it fails, with a notice naming the prerequisite and what
  to do (an admin may Retry once the prerequisite's subject is sent again).
- A prerequisite **failed** (the vendor refused it, or it ran out of tries) waits for an admin:
  the delivery keeps waiting — it goes by itself once that prerequisite is retried and
  confirmed — and its notice says which one to fix and retry.

The outbox calls ``settle`` at the start of every run (``outbox.run_sync``).
"""

from __future__ import annotations

from collections.abc import Callable

from webapp.extensions import db
from webapp.integrations import operations
from webapp.integrations.models import (
    Connection,
    Delivery,
    DeliveryStatus,
    SyncDirection,
    delivery_dependencies,
)

_DEAD = (DeliveryStatus.CANCELLED, DeliveryStatus.FAILED)


def settle(connection: Connection, sender, fire: Callable[[Delivery, str], None]) -> None:
    """Fail what waits on a cancelled prerequisite; say which failed one blocks the rest."""
    prerequisite = db.aliased(Delivery)
    rows = db.session.execute(
        db.select(Delivery, prerequisite)
        .join(delivery_dependencies, delivery_dependencies.c.delivery_id == Delivery.id)
        .join(prerequisite, prerequisite.id == delivery_dependencies.c.depends_on_id)
        .where(
            Delivery.connection_id == connection.id,
            Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.WAITING)),
            prerequisite.status.in_(_DEAD),
        )
        .order_by(Delivery.id, prerequisite.status)  # "cancelled" sorts before "failed"
        .limit(1000)
    ).all()
    seen: set[int] = set()
    for delivery, dead in rows:
        if delivery.id in seen:
            continue
        seen.add(delivery.id)
        subject = f"{delivery.kind_label} {sender.describe(delivery)}"
        needed = f"{dead.kind_label} {sender.describe(dead)}"
        reason = f" ({dead.last_error})" if dead.last_error else ""
        if dead.status == DeliveryStatus.CANCELLED:
            why = f"{subject} needs the {needed}, which was cancelled and will never be sent"
            why += f"{reason}."
            delivery.last_error = why
            delivery.next_attempt_at = None
            delivery.error_field = dead.kind_label
            delivery.error_fix = (
                f"Send the {needed} again (re-issue or re-send its document), then press Retry "
                "here; or cancel this one if it is no longer wanted."
            )
            fire(delivery, "fail")
            operations.notify(
                connection,
                delivery,
                f"{subject} cannot be sent: its prerequisite was cancelled",
                why,
                field=dead.kind_label,
                fix=delivery.error_fix,
            )
            operations.log_sync(
                connection,
                SyncDirection.PUSH,
                delivery.kind,
                delivery=delivery,
                ok=False,
                message=why,
            )
        elif not (delivery.last_error or "").startswith(
            waits := f"{subject} waits for the {needed}"
        ):
            why = f"{waits}, which failed{reason}."
            delivery.last_error = why
            operations.notify(
                connection,
                delivery,
                f"{subject} waits for a failed prerequisite",
                why,
                field=dead.kind_label,
                fix=f"Fix the {needed} and press Retry on it: this one goes as soon as it is "
                "confirmed.",
            )
