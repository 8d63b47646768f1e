"""API jobs: forget idempotent responses once they have been kept their 24 hours."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def prune_idempotency_records() -> int:
    """Delete stored Idempotency-Key responses older than 24 hours."""
    from webapp.api.operations import prune_idempotency_records as prune

    with job_context():
        deleted = prune()
        db.session.commit()
        return deleted
