"""Security jobs: forget security events once they have been kept their retention period."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def prune_security_events() -> int:
    """Delete security events older than SECURITY_EVENTS_RETENTION_DAYS (0 keeps them)."""
    from webapp.security import prune_security_events as prune

    with job_context():
        deleted = prune()
        db.session.commit()
        return deleted
