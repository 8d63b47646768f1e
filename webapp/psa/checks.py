"""The connection check every PSA runs: one item per permission, module or setup table, stored
on the connection and logged, whichever PSA answered it."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import SyncDirection
from webapp.models_base import utcnow
from webapp.psa.models import PsaConnection


@dataclass(frozen=True)
class CheckItem:
    name: str
    ok: bool
    message: str

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "message": self.message}


def store_check(connection: PsaConnection, results: list[CheckItem]) -> None:
    """Keep the newest check on the connection; a failed item is its last error, by name."""
    connection.check_results = [item.to_dict() for item in results]
    connection.checked_at = utcnow()
    failed = [item for item in results if not item.ok]
    if failed:
        core.note_error(connection, "; ".join(f"{i.name}: {i.message}" for i in failed))
    else:
        connection.last_error = ""


def record_check(connection: PsaConnection, results: list[CheckItem]) -> list[CheckItem]:
    """The admin's *Check again*: store the answer and log it."""
    store_check(connection, results)
    core.log_sync(
        connection,
        SyncDirection.PULL,
        "check",
        ok=all(item.ok for item in results),
        message=f"{sum(not i.ok for i in results)} problem(s) found.",
    )
    db.session.flush()
    return results
