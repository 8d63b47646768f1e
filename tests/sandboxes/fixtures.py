"""Run the vendor sandboxes on ephemeral ports as pytest fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from .server import LiveServer
from .specs import require_specs


class ApiSession(requests.Session):
    """A requests session that prefixes relative URLs and applies a default timeout."""

    def __init__(self, base_url: str, timeout: float = 5.0, **headers: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.default_timeout = timeout
        self.headers.update(headers)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        """Send a request; relative ``url`` is joined to ``base_url``."""
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(
            method, urljoin(self.base_url, str(url).lstrip("/")), *args, **kwargs
        )


def _factory(build: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    running: list[tuple[Any, LiveServer]] = []

    def start(**options: Any) -> Any:
        require_specs()
        sandbox = build(**options)
        server = LiveServer(sandbox.app).start()
        sandbox.base_url = server.url
        running.append((sandbox, server))
        return sandbox

    yield start
    for sandbox, server in running:
        sandbox.release()  # wake hanging requests before the server stops
        server.stop()


@pytest.fixture
def qbo_sandbox_factory() -> Iterator[Callable[..., Any]]:
    """Start QuickBooks sandboxes with custom options: ``qbo_sandbox_factory(**options)``."""
    from .quickbooks import QboSandbox

    yield from _factory(QboSandbox)


@pytest.fixture
def qbo_sandbox(qbo_sandbox_factory: Callable[..., Any]) -> Any:
    """Run a QuickBooks Online sandbox with default options; ``.base_url`` is set."""
    return qbo_sandbox_factory()


@pytest.fixture
def xero_sandbox_factory() -> Iterator[Callable[..., Any]]:
    """Start Xero sandboxes with custom options: ``xero_sandbox_factory(**options)``."""
    from .xero import XeroSandbox

    yield from _factory(XeroSandbox)


@pytest.fixture
def xero_sandbox(xero_sandbox_factory: Callable[..., Any]) -> Any:
    """Run a Xero sandbox with default options; ``.base_url`` is set."""
    return xero_sandbox_factory()


def qbo_session(sandbox: Any, realm: str | None = None, timeout: float = 5.0) -> ApiSession:
    """Return a session on ``/v3/company/<realm>/`` authorised with a freshly minted token."""
    tokens = sandbox.issue_tokens(realm)
    return ApiSession(
        sandbox.api_url(realm),
        timeout,
        Authorization=f"Bearer {tokens['access_token']}",
        Accept="application/json",
    )


def xero_session(sandbox: Any, timeout: float = 5.0, **token_options: Any) -> ApiSession:
    """Return a session on ``/api.xro/2.0/`` with token and ``xero-tenant-id`` set."""
    tokens = sandbox.issue_tokens(**token_options)
    return ApiSession(
        sandbox.api_url(),
        timeout,
        Authorization=f"Bearer {tokens['access_token']}",
        Accept="application/json",
        **{"xero-tenant-id": sandbox.tenant_id},
    )


@pytest.fixture
def qbo_api(qbo_sandbox: Any) -> ApiSession:
    """Return an authorised session on the default realm of ``qbo_sandbox``."""
    return qbo_session(qbo_sandbox)


@pytest.fixture
def xero_api(xero_sandbox: Any) -> ApiSession:
    """Return an authorised session on the default tenant of ``xero_sandbox``."""
    return xero_session(xero_sandbox)


@pytest.fixture
def autotask_sandbox_factory() -> Iterator[Callable[..., Any]]:
    """Start Autotask sandboxes with custom options: ``autotask_sandbox_factory(**options)``."""
    from .autotask import AutotaskSandbox

    yield from _factory(AutotaskSandbox)


@pytest.fixture
def autotask_sandbox(autotask_sandbox_factory: Callable[..., Any]) -> Any:
    """Run an Autotask sandbox with default options; ``.base_url`` is set."""
    return autotask_sandbox_factory()


def autotask_session(sandbox: Any, timeout: float = 5.0) -> ApiSession:
    """Return a session on the sandbox's current zone with the API user's headers."""
    return ApiSession(
        sandbox.zone_url,
        timeout,
        ApiIntegrationCode=sandbox.integration_code,
        UserName=sandbox.username,
        Secret=sandbox.secret,
        Accept="application/json",
    )


@pytest.fixture
def autotask_api(autotask_sandbox: Any) -> ApiSession:
    """Return a session on the current zone of ``autotask_sandbox``."""
    return autotask_session(autotask_sandbox)


@pytest.fixture
def connectwise_sandbox_factory() -> Iterator[Callable[..., Any]]:
    """Start ConnectWise sandboxes with custom options: ``connectwise_sandbox_factory(**o)``."""
    from .connectwise import ConnectWiseSandbox

    yield from _factory(ConnectWiseSandbox)


@pytest.fixture
def connectwise_sandbox(connectwise_sandbox_factory: Callable[..., Any]) -> Any:
    """Run a ConnectWise sandbox with default options; ``.base_url`` is set."""
    return connectwise_sandbox_factory()


def connectwise_session(sandbox: Any, timeout: float = 5.0) -> ApiSession:
    """Return a session on the sandbox's current codebase with API member keys."""
    import base64

    token = base64.b64encode(
        f"{sandbox.company_id}+{sandbox.public_key}:{sandbox.private_key}".encode()
    ).decode()
    return ApiSession(
        sandbox.api_url,
        timeout,
        Authorization=f"Basic {token}",
        clientId=sandbox.client_id,
        Accept="application/vnd.connectwise.com+json; version=2026.1",
    )


@pytest.fixture
def connectwise_api(connectwise_sandbox: Any) -> ApiSession:
    """Return a session on ``connectwise_sandbox``."""
    return connectwise_session(connectwise_sandbox)
