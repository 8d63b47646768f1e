"""Fixtures for the Xero provider: the Xero sandbox and a provider connected to it."""

from __future__ import annotations

import pytest

from tests.accounting.xero.builders import connect
from tests.sandboxes.fixtures import (  # noqa: F401 - pytest discovers fixtures by name
    xero_sandbox,
    xero_sandbox_factory,
)
from tests.sandboxes.xero import XeroSandbox
from webapp.accounting.xero.provider import XeroProvider


@pytest.fixture
def slept() -> list[float]:
    """The waits the ``xero`` provider's HTTP channel was asked to sleep (429 Retry-After)."""
    return []


@pytest.fixture
def xero(xero_sandbox: XeroSandbox, slept: list[float]) -> XeroProvider:  # noqa: F811
    """A provider connected to a fresh sandbox whose 429 waits are recorded, not slept."""
    return connect(xero_sandbox, sleep=slept.append)
