"""The test helper run_jobs() fails a test on any job that raised, retry pending or not."""

from __future__ import annotations

import pytest
from rq import Retry

from webapp.jobs import get_queue


def raise_a_bug() -> None:
    raise RuntimeError("a bug in a job")


def do_nothing() -> None:
    return None


def test_a_job_that_raises_while_a_retry_is_pending_fails_the_test(app, run_jobs):
    get_queue().enqueue(f"{__name__}.raise_a_bug", retry=Retry(max=3, interval=60))
    with pytest.raises(AssertionError, match="a bug in a job"):
        run_jobs()


def test_a_job_that_raises_with_no_retry_left_fails_the_test(app, run_jobs):
    get_queue().enqueue(f"{__name__}.raise_a_bug")
    with pytest.raises(AssertionError, match="a bug in a job"):
        run_jobs()


def test_allow_failures_lets_a_test_expect_a_raising_job(app, run_jobs):
    get_queue().enqueue(f"{__name__}.raise_a_bug", retry=Retry(max=3, interval=60))
    get_queue().enqueue(f"{__name__}.do_nothing")
    assert run_jobs(allow_failures=True) == 2


def test_jobs_that_succeed_pass(app, run_jobs):
    get_queue().enqueue(f"{__name__}.do_nothing")
    assert run_jobs() == 1
