"""HTTP for every vendor client: bearer token, refresh on 401, rate limiter, faults -> typed errors.

One channel per connection. It refuses plain http unless ``allow_http`` (tests and local
sandboxes: ``INTEGRATIONS_ALLOW_HTTP``), waits for the connection's budget, honours
``Retry-After`` in seconds or as an HTTP-date, and lets the provider ``classify`` a response by
its content first (vendors answer 500 for permission errors, or 200 with an error body).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests

from webapp.integrations.interfaces import (
    IntegrationError,
    NeedsReconnect,
    PermanentError,
    RateLimited,
    TransientError,
)

EXCERPT_CHARS = 4000


class TokenSource(Protocol):
    """Where a client gets its access token; the core saves rotated tokens on refresh."""

    def access_token(self) -> str:
        """Return a current access token (refreshing first if it has expired)."""
        ...

    def refresh(self) -> str:
        """Refresh now (the vendor said 401); return the new access token or raise
        NeedsReconnect."""
        ...


class Gate(Protocol):
    """The per-connection rate limiter (webapp.integrations.ratelimit.ConnectionLimiter)."""

    def slot(self, batch: bool = False, endpoint: str = "") -> AbstractContextManager[None]:
        """Wait for a call slot (per-minute and concurrency, the latter per ``endpoint`` when
        one is named); hold it during the call."""
        ...

    def pause(self, seconds: float) -> None:
        """Block every caller of this connection for ``seconds`` (a 429's Retry-After)."""
        ...


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """Return a short printable form of a body for attempt rows and the notification View."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        value = json.dumps(value, default=str, indent=1)
    return value if len(value) <= limit else value[:limit] + f"\n… ({len(value) - limit} more)"


def retry_after_seconds(response: requests.Response, now: datetime | None = None) -> float | None:
    """Return the Retry-After header in seconds: delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def require_https(url: str, allow_http: bool, vendor: str = "The vendor") -> None:
    """Refuse to send credentials over plain http (outside tests and local sandboxes)."""
    if url.lower().startswith("https://"):
        return
    if allow_http and url.lower().startswith("http://"):
        return
    raise PermanentError(
        f"{vendor}'s address {url.split('?')[0]!r} is not HTTPS; credentials are only sent "
        "over HTTPS.",
        field="API base URL",
        fix="Set the vendor's base URL to an https:// address (INTEGRATIONS_ALLOW_HTTP is "
        "for tests and local sandboxes only).",
    )


@dataclass
class CallRecord:
    method: str
    url: str
    status: int | None
    duration_ms: int
    request_excerpt: str
    response_excerpt: str


@dataclass
class IntegrationHttp:
    """One connection's HTTP channel; every vendor call goes through ``request``."""

    tokens: TokenSource | None
    gate: Gate | None = None
    timeout: float = 30.0
    # 429s with a Retry-After at most this long are waited out in-process (then retried).
    max_inline_wait: float = 10.0
    max_throttle_retries: int = 3
    session: requests.Session = field(default_factory=requests.Session)
    default_headers: dict[str, str] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
    throttled: int = 0  # 429s seen (bench/sync log)
    on_call: Callable[[CallRecord], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    vendor: str = "The vendor"  # how messages name the other side ("Xero", "Autotask")
    allow_http: bool = False
    # Provider hook: an error this response means whatever its status (None: use the status).
    classify: Callable[[requests.Response], IntegrationError | None] | None = None
    # Outbound webhooks never follow a redirect (a 3xx is the receiver's failure).
    follow_redirects: bool = True
    # Provider hook: the endpoint a URL calls, for vendors that limit concurrent requests per
    # endpoint (Autotask); None: one concurrency limit for the whole connection.
    endpoint_of: Callable[[str], str] | None = None

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def last_call(self) -> CallRecord | None:
        return self.calls[-1] if self.calls else None

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        basic_auth: tuple[str, str] | None = None,
        batch: bool = False,
    ) -> requests.Response:
        """Send one call; return the response for 1xx-4xx except 401/429.

        Raises TransientError (5xx, timeouts, resets), RateLimited (429 beyond the inline
        wait), NeedsReconnect (401 after one refresh). ``batch`` counts the call against the
        vendor's batch-endpoint limit too.
        """
        require_https(url, self.allow_http, self.vendor)
        refreshed = False
        throttles = 0
        while True:
            token = self.tokens.access_token() if (auth and self.tokens) else ""
            response = self._send(
                method, url, params, json_body, data, headers, token, basic_auth, batch
            )
            if self.classify is not None and (error := self.classify(response)) is not None:
                raise error
            if response.status_code == 401 and auth and self.tokens and not refreshed:
                refreshed = True
                self.tokens.refresh()
                continue
            if response.status_code == 401 and auth:
                raise NeedsReconnect(f"{self.vendor} refused our access token after a refresh.")
            if response.status_code == 429:
                self.throttled += 1
                wait = retry_after_seconds(response)
                wait = 1.0 if wait is None else wait
                if self.gate is not None:
                    self.gate.pause(wait)
                throttles += 1
                if wait <= self.max_inline_wait and throttles <= self.max_throttle_retries:
                    self.sleep(wait)
                    continue
                raise RateLimited(
                    f"{self.vendor}'s rate limit was reached.", retry_after=wait, status=429
                )
            if response.status_code >= 500:
                raise TransientError(
                    f"{self.vendor} answered {response.status_code} (a temporary fault).",
                    retry_after_seconds(response),
                    status=response.status_code,
                    outcome_unknown=True,
                )
            return response

    def _send(self, method, url, params, json_body, data, headers, token, basic_auth, batch):
        merged = {"Accept": "application/json", **self.default_headers, **(headers or {})}
        if token:
            merged["Authorization"] = f"Bearer {token}"
        body_for_log = json_body if json_body is not None else data
        if self.gate is None:
            slot = nullcontext()
        elif self.endpoint_of is not None:
            slot = self.gate.slot(batch, endpoint=self.endpoint_of(url))
        else:
            slot = self.gate.slot(batch)
        started = time.monotonic()
        status = None
        text = ""
        try:
            with slot:
                try:
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        json=json_body,
                        data=data,
                        headers=merged,
                        auth=basic_auth,
                        timeout=self.timeout,
                        allow_redirects=self.follow_redirects,
                    )
                except requests.ConnectTimeout as exc:
                    text = str(exc)
                    raise TransientError(f"{self.vendor} could not be reached (timeout).") from exc
                except requests.Timeout as exc:
                    text = str(exc)
                    raise TransientError(
                        f"{self.vendor} did not answer in time; "
                        "the request may have been processed.",
                        outcome_unknown=True,
                    ) from exc
                except requests.ConnectionError as exc:
                    text = str(exc)
                    raise TransientError(
                        f"The connection to {self.vendor} was lost; "
                        "the request may have been processed.",
                        outcome_unknown=True,
                    ) from exc
                status = response.status_code
                text = response.text
                return response
        finally:
            record = CallRecord(
                method,
                url,
                status,
                int((time.monotonic() - started) * 1000),
                excerpt(body_for_log),
                excerpt(text),
            )
            self.calls.append(record)
            if self.on_call is not None:
                self.on_call(record)
