"""Purchasing jobs: plan an approved sales document's procurement."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def plan_document(document_id: int) -> str:
    """Plan a sales document in one transaction; on failure flag it, never half-plan it.

    A problem with the data (PlanningError) is recorded on the document and the job ends;
    anything else is recorded too and re-raised so RQ retries it (the run is idempotent:
    it plans only what is not yet allocated or on order).
    """
    from webapp.purchasing.planning import PlanningError, mark_needs_attention, plan_document_id

    with job_context():
        try:
            outcome = plan_document_id(document_id)
            db.session.commit()
        except PlanningError as error:
            db.session.rollback()
            mark_needs_attention(document_id, str(error))
            db.session.commit()
            return f"needs attention: {error}"
        except Exception as error:
            db.session.rollback()
            mark_needs_attention(document_id, f"{type(error).__name__}: {error}")
            db.session.commit()
            raise
        if outcome is None:
            return "nothing to plan"
        return f"planned: {len(outcome.orders)} purchase order(s)"
