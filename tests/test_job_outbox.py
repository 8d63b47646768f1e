"""Jobs enqueued after a commit survive Redis being unreachable at that moment."""

from __future__ import annotations

from datetime import timedelta

from rq.job import Job

from tests.conftest import redis_unreachable
from webapp import jobs
from webapp.extensions import db
from webapp.jobs import QueuedJob, enqueue_after_commit, get_queue, sweep_queued_jobs
from webapp.mail.models import EmailStatus, OutboundEmail
from webapp.mail.operations import queue_email


def _invite(store) -> OutboundEmail:
    return queue_email(
        to="a@example.com",
        subject="Hi",
        template="invitation",
        topic="t",
        user=store.customer,
        inviter=store.admin,
        link="http://x/1",
        days=7,
    )


def _rows() -> list[QueuedJob]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(QueuedJob)))


def test_a_committed_job_is_enqueued_and_its_row_deleted(app, store):
    email = _invite(store)
    db.session.commit()
    assert _rows() == []
    job = Job.fetch(f"email-{email.id}", connection=jobs.redis_conn())
    assert job.func_name == "workers.jobs.send_email"
    assert job.args == (email.id,)


def test_a_rolled_back_job_leaves_neither_row_nor_job(app, store):
    _invite(store)
    db.session.rollback()
    assert _rows() == []
    assert get_queue().count == 0


def test_sweep_recovers_a_job_lost_while_redis_was_down(app, store, run_jobs, mailbox):
    with redis_unreachable(app):
        email = _invite(store)
        db.session.commit()  # the enqueue fails after the commit: no error reaches the caller
    [row] = _rows()
    assert (row.func, row.args) == ("workers.jobs.send_email", [email.id])
    assert row.job_id == f"email-{email.id}"
    assert get_queue().count == 0

    assert sweep_queued_jobs() == 0  # younger than JOB_SWEEP_AFTER: left to its own hook
    assert len(_rows()) == 1
    assert sweep_queued_jobs(older_than=timedelta(0)) == 1
    assert _rows() == []
    run_jobs()
    assert [m["Subject"] for m in mailbox.to("a@example.com")] == ["Hi"]
    assert db.session.get(OutboundEmail, email.id).status is EmailStatus.SENT


def test_sweep_does_not_enqueue_twice_when_only_the_row_delete_was_lost(app, store):
    email = _invite(store)
    db.session.commit()
    job = Job.fetch(f"email-{email.id}", connection=jobs.redis_conn())
    # As if the delete after the enqueue had failed: the row is back, its job is in Redis.
    db.session.add(
        QueuedJob(
            id=job.meta["queued_job"],
            func="workers.jobs.send_email",
            args=[email.id],
            queue="default",
            job_id=job.id,
            retry_max=1,
            retry_intervals=[1],
        )
    )
    db.session.commit()
    assert sweep_queued_jobs(older_than=timedelta(0)) == 0
    assert _rows() == []
    assert get_queue().count == 1


def test_sweep_enqueues_a_row_whose_job_id_belongs_to_an_older_job(app, store):
    # Planning reuses one job id per document: an old finished job of that id is not this one.
    enqueue_after_commit("workers.jobs.reindex_products", None, job_id="reindex-all")
    db.session.commit()
    with redis_unreachable(app):
        enqueue_after_commit("workers.jobs.reindex_products", [1], job_id="reindex-all")
        db.session.commit()
    assert sweep_queued_jobs(older_than=timedelta(0)) == 1
    assert Job.fetch("reindex-all", connection=jobs.redis_conn()).args == ([1],)


def test_the_clock_runs_the_sweep_every_minute():
    from workers.schedule import SCHEDULE

    [entry] = [p for p in SCHEDULE if p.func == "workers.jobs.sweep_queued_jobs"]
    assert entry.cron == "* * * * *"


def test_releasing_a_savepoint_does_not_enqueue_before_the_outer_commit(app, store):
    email = _invite(store)
    with db.session.begin_nested():  # e.g. taking a document number
        pass
    assert get_queue().count == 0  # the outer transaction may still roll back
    db.session.commit()
    assert [job.args for job in get_queue().jobs] == [(email.id,)]
    assert _rows() == []
