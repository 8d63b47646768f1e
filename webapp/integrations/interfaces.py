"""What every outside system's provider and the integrations core share: errors and plain data.

Nothing here knows a ledger or a PSA. Providers raise these errors; the core's HTTP channel,
limiter, OAuth and outbox speak them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from webapp.integrations.http import IntegrationHttp


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class IntegrationError(Exception):
    """Base of every error a provider raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientError(IntegrationError):
    """Nothing is known to be wrong with the data: try again later (network, 429, 5xx).

    ``retry_after`` is the vendor's Retry-After in seconds when it gave one. ``outcome_unknown``
    is true when the request may have been processed (timeout, reset after sending).
    """

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        status: int | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status
        self.outcome_unknown = outcome_unknown


class RateLimited(TransientError):
    """The vendor answered 429 (or our own limiter is full); wait ``retry_after`` seconds."""


class PermanentError(IntegrationError):
    """The ledger rejected the data; retrying the same request cannot help.

    ``message`` says what is wrong in plain words, ``field`` names our field (or the vendor's
    element) at fault and ``fix`` tells the admin what to change before pressing Retry.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str = "",
        fix: str = "",
        vendor_code: str = "",
        vendor_detail: str = "",
    ) -> None:
        super().__init__(message)
        self.field = field
        self.fix = fix
        self.vendor_code = vendor_code
        self.vendor_detail = vendor_detail

    def __repr__(self) -> str:
        return f"PermanentError({self.message!r}, field={self.field!r})"


class AuthError(IntegrationError):
    """The vendor refused our credentials."""


class NeedsReconnect(AuthError):
    """The grant is revoked or expired: an admin must connect again; work waits meanwhile."""


class UnsupportedOperation(IntegrationError):
    """The provider has no such capability (see its ``supports``)."""


@dataclass(frozen=True)
class PushResult:
    """What happened to one item of a push, matched to the input by ``key``."""

    key: str
    remote_id: str = ""
    remote_number: str = ""
    remote_url: str = ""  # deep link for staff (the vendor's web UI)
    error: PermanentError | None = None
    found_existing: bool = False  # matched by look-up, nothing created
    request_excerpt: str = ""
    response_excerpt: str = ""
    # Version token for later updates (QuickBooks SyncToken); empty elsewhere.
    version: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.remote_id)


@dataclass(frozen=True)
class TokenSet:
    """OAuth tokens of one connection, decrypted (only ``integrations.secrets`` stores them)."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scope: str = ""
    id_token: str = ""


@dataclass(frozen=True)
class RateLimit:
    """Published per-connection limits the core's Redis limiter enforces."""

    per_minute: int
    concurrent: int
    per_day: int | None = None
    per_hour: int | None = None  # Autotask: 10,000 requests an hour per database
    batch_per_minute: int | None = None  # QuickBooks: 40 /batch requests per minute


@dataclass(frozen=True)
class OAuthSpec:
    """OAuth 2 facts for the core's authorization-code flow (webapp.integrations.oauth).

    The ``*_key`` fields name ``app.config`` keys, so every URL is configurable.
    """

    authorize_url_key: str
    token_url_key: str
    client_id_key: str
    client_secret_key: str
    api_base_key: str
    scopes: tuple[str, ...]
    revoke_url_key: str = ""
    pkce: bool = False
    # Where the tenant comes from: "callback" (QuickBooks realmId) or "connections" (Xero).
    tenant_source: str = "callback"


@dataclass
class ConnectionContext:
    """Everything a provider needs for one connection during one job or request."""

    connection_id: int | None  # None while choosing a tenant during connect
    tenant_id: str
    tenant_name: str
    api_base: str
    http: IntegrationHttp
    config: Mapping[str, Any]  # app.config (read only)
    # Per-connection choices, so mapping functions need no database.
    options: Mapping[str, Any] = field(default_factory=dict)


class OAuthProvider(Protocol):
    """What the core's OAuth flow needs of a provider class (ledger or PSA)."""

    name: ClassVar[str]  # registry key, e.g. "xero"
    label: ClassVar[str]  # shown to staff, e.g. "Xero"
    oauth: ClassVar[OAuthSpec]
