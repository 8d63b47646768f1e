"""Many processes find the access token expired at once: exactly one of them refreshes it."""

from __future__ import annotations

import subprocess
import sys

from tests.accounting.builders import worker_env
from webapp.extensions import db
from webapp.integrations.models import ConnectionStatus
from webapp.integrations.secrets import read_tokens

# Each process builds the provider for the stored connection and makes one API call, which
# the sandbox answers 401 (its access tokens were expired), so each of them wants to refresh.
CALL = """
import sys
from webapp.accounting import operations
from webapp.integrations import operations as core
from webapp.accounting.models import LedgerConnection
from webapp.extensions import db
from workers.app import job_context

with job_context():
    connection = db.session.get(LedgerConnection, int(sys.argv[1]))
    provider, http = core.build_provider(connection)
    print(len(provider.list_tax_rates()))
"""

PROCESSES = 4


def test_concurrent_refresh_spends_the_refresh_token_once(app, qbo, qbo_connection):
    before = read_tokens(qbo_connection)
    issued_before = len(qbo.oauth._refresh)
    qbo.expire_access_tokens()
    env = worker_env(app)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CALL, str(qbo_connection.id)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results = [worker.communicate(timeout=120) for worker in workers]

    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err[-3000:]
        assert int(out.strip().splitlines()[-1]) > 0
    # One refresh: one new refresh token issued, and the connection never asked to reconnect.
    assert len(qbo.oauth._refresh) == issued_before + 1
    db.session.expire_all()
    assert qbo_connection.status == ConnectionStatus.CONNECTED
    assert read_tokens(qbo_connection).refresh_token != before.refresh_token
