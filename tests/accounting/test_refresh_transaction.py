"""A token refresh is committed in its own transaction, never the calling job's (issue 11).

The vendor spends the old refresh token the moment it answers, so the rotated one must be
stored whatever the job does next, and a refresh must never commit the job's own work.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import TransientError
from webapp.integrations.models import Connection, SyncDirection, SyncLogEntry
from webapp.integrations.secrets import read_tokens
from webapp.integrations.token_store import LOCK_TIMEOUT_MS, TOKEN_COLUMNS


def _stored_refresh_token(connection) -> str:
    db.session.rollback()
    db.session.expire_all()
    return read_tokens(connection).refresh_token


def _live(qbo, refresh_token: str) -> bool:
    """The sandbox still accepts this refresh token (it is the newest of its chain)."""
    found = qbo.oauth._refresh.get(refresh_token)
    return found is not None and found.superseded_at is None


def test_a_refresh_survives_the_jobs_failed_commit(app, qbo, qbo_connection):
    before = read_tokens(qbo_connection)
    qbo.expire_access_tokens()
    provider, _http = core.build_provider(qbo_connection)
    qbo_connection.tenant_id = None  # the job's own work, refused when it commits

    assert len(provider.list_tax_rates()) > 0  # 401, refresh, retried
    with pytest.raises(IntegrityError):
        db.session.commit()

    stored = _stored_refresh_token(qbo_connection)
    assert stored != before.refresh_token
    assert _live(qbo, stored)
    assert qbo_connection.tenant_id  # the job's change was rolled back, not the tokens


def test_a_refresh_survives_the_jobs_failed_work_elsewhere(app, qbo, qbo_connection):
    """The job's own pending row is refused when it is written: a refresh that committed the
    job's session failed with it, after the vendor had already spent the old refresh token."""
    before = read_tokens(qbo_connection)
    qbo.expire_access_tokens()
    provider, _http = core.build_provider(qbo_connection)
    db.session.add(SyncLogEntry(connection_id=qbo_connection.id, direction=SyncDirection.PULL))

    assert len(provider.list_tax_rates()) > 0
    with pytest.raises(IntegrityError):
        db.session.commit()  # kind is required

    stored = _stored_refresh_token(qbo_connection)
    assert stored != before.refresh_token
    assert _live(qbo, stored)


def test_a_refresh_does_not_commit_the_jobs_pending_work(app, qbo, qbo_connection):
    before = read_tokens(qbo_connection)
    qbo.expire_access_tokens()
    provider, _http = core.build_provider(qbo_connection)
    qbo_connection.last_error = "the job's own, not committed"

    assert len(provider.list_tax_rates()) > 0
    # The in-memory connection holds the new tokens as loaded, not as a change to write.
    state = inspect(qbo_connection)
    assert not any(state.attrs[name].history.has_changes() for name in TOKEN_COLUMNS)
    assert state.attrs.last_error.history.has_changes()
    rotated = read_tokens(qbo_connection).refresh_token
    assert rotated != before.refresh_token

    db.session.rollback()  # the job fails
    db.session.expire_all()
    assert qbo_connection.last_error == ""
    assert read_tokens(qbo_connection).refresh_token == rotated
    assert _live(qbo, rotated)


def test_a_refresh_after_the_jobs_first_write(app, qbo, qbo_connection):
    """PostgreSQL: the refresh still works. SQLite (one writer): nothing is spent, the job is
    retried at once instead of waiting 30 s on its own write lock."""
    before = read_tokens(qbo_connection)
    issued = len(qbo.oauth._refresh)
    qbo.expire_access_tokens()
    provider, _http = core.build_provider(qbo_connection)
    core.log_sync(qbo_connection, SyncDirection.PULL, "payments", message="the job's own")
    db.session.flush()

    if db.engine.dialect.name == "sqlite":
        started = time.monotonic()
        with pytest.raises(TransientError, match="retried"):
            provider.list_tax_rates()
        assert time.monotonic() - started < 5
        assert len(qbo.oauth._refresh) == issued  # the vendor was not asked
        assert _stored_refresh_token(qbo_connection) == before.refresh_token
        # The retry refreshes before it writes.
        provider, _http = core.build_provider(qbo_connection)
        assert len(provider.list_tax_rates()) > 0
        assert _stored_refresh_token(qbo_connection) != before.refresh_token
        return
    assert len(provider.list_tax_rates()) > 0
    stored = _stored_refresh_token(qbo_connection)  # rolls the job back
    assert stored != before.refresh_token
    assert _live(qbo, stored)
    assert db.session.query(SyncLogEntry).filter_by(message="the job's own").count() == 0


def test_postgres_a_job_holding_the_connection_row_spends_nothing(app, qbo, qbo_connection):
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite: any uncommitted write is the case above")
    before = read_tokens(qbo_connection)
    issued = len(qbo.oauth._refresh)
    qbo.expire_access_tokens()
    provider, _http = core.build_provider(qbo_connection)
    db.session.execute(
        db.update(Connection).where(Connection.id == qbo_connection.id).values(last_error="x")
    )
    started = time.monotonic()
    with pytest.raises(TransientError, match="locked"):
        provider.list_tax_rates()
    assert time.monotonic() - started < LOCK_TIMEOUT_MS / 1000 + 5
    assert len(qbo.oauth._refresh) == issued
    assert _stored_refresh_token(qbo_connection) == before.refresh_token
