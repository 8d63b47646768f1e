"""RQ job functions: each takes ids, reloads rows, does one thing, commits, and raises on faults."""

from __future__ import annotations

from webapp.extensions import db
from workers.app import job_context


def send_email(email_id: int) -> None:
    from webapp.mail.operations import deliver

    with job_context():
        deliver(email_id)
        db.session.commit()


def import_feed(run_id: int) -> None:
    from webapp.catalog.feeds import execute

    with job_context():
        execute(run_id)


def sweep_queued_jobs() -> int:
    """Enqueue jobs whose after-commit enqueue was lost (Redis unreachable at that moment)."""
    from webapp.jobs import sweep_queued_jobs as sweep

    with job_context():
        return sweep()


def reindex_products(product_ids: list[int] | None) -> int:
    """Bring this node's search index up to date with the catalog changes recorded in the
    database (`product_ids` names the change that queued the job; the log covers it)."""
    from webapp.catalog.search_sync import prune, sync

    with job_context():
        written = sync() or 0
        prune()  # change rows older than any node still needs
        db.session.commit()
        return written
