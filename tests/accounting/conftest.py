"""Accounting fixtures: the QuickBooks sandbox wired into the app, a stored connection."""

from __future__ import annotations

import pytest

from tests.accounting.builders import connect_qbo, point_app_at_qbo
from tests.sandboxes.fixtures import (  # noqa: F401 - pytest discovers fixtures by name
    qbo_sandbox,
    qbo_sandbox_factory,
    xero_sandbox,
    xero_sandbox_factory,
)
from webapp.extensions import db


@pytest.fixture
def qbo(app, qbo_sandbox):  # noqa: F811 - the fixture imported above
    """The QuickBooks sandbox, with the app's QBO_* settings pointing at it."""
    point_app_at_qbo(app, qbo_sandbox)
    return qbo_sandbox


@pytest.fixture
def qbo_connection(qbo, store):
    """A connected, mapped QuickBooks company (the sandbox's default realm)."""
    connection = connect_qbo(qbo)
    db.session.commit()
    return connection
