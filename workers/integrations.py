"""RQ jobs of the integrations core."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def handle_inbound(event_id: int) -> None:
    """Handle one stored, verified webhook with its provider's handler."""
    from webapp.integrations.inbound import handle

    with job_context():
        handle(event_id)
        db.session.commit()
