"""Expose the sandbox fixtures from ``fixtures`` to the sandbox self-tests."""

from .fixtures import (  # noqa: F401 - pytest discovers fixtures by name
    autotask_api,
    autotask_sandbox,
    autotask_sandbox_factory,
    connectwise_api,
    connectwise_sandbox,
    connectwise_sandbox_factory,
    qbo_api,
    qbo_sandbox,
    qbo_sandbox_factory,
    xero_api,
    xero_sandbox,
    xero_sandbox_factory,
)
