"""Share sandbox building blocks: clock, OAuth 2, fault plan, idempotency, rate limits."""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit


class Clock:
    """Wall clock that tests can move forward without sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the current (possibly advanced) Unix time in seconds."""
        with self._lock:
            return time.time() + self._offset

    def utcnow(self) -> datetime:
        """Return the current (possibly advanced) time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        with self._lock:
            self._offset += seconds


def add_query(url: str, params: dict[str, str]) -> str:
    """Append query parameters to ``url``, keeping any it already has."""
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


# --------------------------------------------------------------------------------------------
# OAuth 2.0 authorization-code server (RFC 6749) with rotating refresh tokens
# --------------------------------------------------------------------------------------------


@dataclass
class OAuthClient:
    """A registered app: id, secret and allowed redirect URIs (None = any http(s) URI)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] | None = None


@dataclass
class Grant:
    """One user consent; every token descends from it. ``data`` holds vendor facts (realm...)."""

    grant_id: str
    client_id: str
    scope: str
    data: dict[str, Any]
    created_at: float
    revoked: bool = False

    @property
    def scopes(self) -> set[str]:
        """Return the granted scopes as a set."""
        return set(self.scope.split())


@dataclass
class _AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    grant: Grant
    expires_at: float
    code_challenge: str | None
    code_challenge_method: str | None
    used: bool = False


@dataclass
class AccessToken:
    """An issued bearer token."""

    token: str
    grant: Grant
    expires_at: float


@dataclass
class _RefreshToken:
    token: str
    grant: Grant
    expires_at: float
    hard_expires_at: float
    superseded_at: float | None = None
    successor_response: dict[str, Any] | None = None
    successor_token: str | None = None


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error response."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """Return the JSON body ``{"error": ..., "error_description": ...}``."""
        return {"error": self.error, "error_description": self.description}


class OAuthServer:
    """Authorization codes, access tokens and rotating refresh tokens for one vendor."""

    def __init__(
        self,
        clock: Clock,
        clients: list[OAuthClient],
        *,
        access_token_lifetime: float,
        refresh_token_lifetime: float,
        code_lifetime: float,
        refresh_grace: float = 0.0,
        refresh_hard_lifetime: float | None = None,
        token_type: str = "bearer",  # noqa: S107 - OAuth token type, not a secret
        allow_body_client_auth: bool = False,
        require_offline_access: bool = False,
        extra_token_fields: Callable[[Grant, _RefreshToken | None], dict[str, Any]] | None = None,
    ) -> None:
        self.clock = clock
        self.clients = {c.client_id: c for c in clients}
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.refresh_hard_lifetime = refresh_hard_lifetime
        self.code_lifetime = code_lifetime
        self.refresh_grace = refresh_grace
        self.token_type = token_type
        self.allow_body_client_auth = allow_body_client_auth
        self.require_offline_access = require_offline_access
        self.extra_token_fields = extra_token_fields
        self._lock = threading.RLock()
        self._codes: dict[str, _AuthCode] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self.token_requests: list[dict[str, str]] = []

    # -- authorization endpoint ---------------------------------------------------------
    def check_redirect(self, client_id: str | None, redirect_uri: str | None) -> OAuthClient:
        """Validate client and redirect URI before anything is redirected (RFC 6749 4.1.2.1)."""
        client = self.clients.get(client_id or "")
        if client is None:
            raise OAuthError("unauthorized_client", f"unknown client_id {client_id!r}")
        if not redirect_uri or urlsplit(redirect_uri).scheme not in ("http", "https"):
            raise OAuthError("invalid_request", "redirect_uri must be an absolute http(s) URL")
        if client.redirect_uris is not None and redirect_uri not in client.redirect_uris:
            raise OAuthError("invalid_request", f"redirect_uri {redirect_uri!r} not registered")
        return client

    def issue_code(
        self,
        client: OAuthClient,
        redirect_uri: str,
        scope: str,
        data: dict[str, Any],
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
    ) -> str:
        """Auto-approve the consent and return a one-time authorization code."""
        now = self.clock.now()
        grant = Grant(secrets.token_hex(8), client.client_id, scope, dict(data), now)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _AuthCode(
                code,
                client.client_id,
                redirect_uri,
                grant,
                now + self.code_lifetime,
                code_challenge,
                code_challenge_method,
            )
        return code

    # -- token endpoint -----------------------------------------------------------------
    def authenticate_client(self, form: dict[str, str], authorization: str | None) -> OAuthClient:
        client_id = secret = None
        if authorization and authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                client_id, _, secret = raw.partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
        elif self.allow_body_client_auth and form.get("client_id"):
            client_id, secret = form.get("client_id"), form.get("client_secret")
        else:
            raise OAuthError("invalid_client", "client authentication required", 401)
        client = self.clients.get(client_id or "")
        if client is None:
            raise OAuthError("invalid_client", "unknown client", 401)
        if secret is None and self.allow_body_client_auth and form.get("code_verifier"):
            return client  # public client using PKCE; the verifier is checked with the code
        if not secrets.compare_digest(secret or "", client.client_secret):
            raise OAuthError("invalid_client", "bad client secret", 401)
        return client

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """Handle a token request; return the JSON body or raise ``OAuthError``."""
        self.token_requests.append(dict(form))
        client = self.authenticate_client(form, authorization)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form)
        if grant_type == "refresh_token":
            return self._refresh_grant(client, form)
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} not supported")

    def _exchange_code(self, client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            if code is None or code.client_id != client.client_id:
                raise OAuthError("invalid_grant", "unknown authorization code")
            # RFC 6749 4.1.2: codes are single-use; a replay must be refused.
            if code.used:
                raise OAuthError("invalid_grant", "authorization code already used")
            if self.clock.now() > code.expires_at:
                raise OAuthError("invalid_grant", "authorization code expired")
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri does not match the authorize call")
            if code.code_challenge:
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if code.code_challenge_method == "plain":
                    expected = verifier
                if not verifier or not secrets.compare_digest(expected, code.code_challenge):
                    raise OAuthError("invalid_grant", "PKCE code_verifier does not match")
            code.used = True
            return self._issue(code.grant)

    def _refresh_grant(self, client: OAuthClient, form: dict[str, str]) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            rt = self._refresh.get(form.get("refresh_token", ""))
            if rt is None or rt.grant.client_id != client.client_id or rt.grant.revoked:
                raise OAuthError("invalid_grant", "unknown or revoked refresh token")
            if now > rt.expires_at or now > rt.hard_expires_at:
                raise OAuthError("invalid_grant", "refresh token expired")
            if rt.superseded_at is not None:
                # Rotation: a used refresh token is dead, except within the vendor's grace
                # window, where the retry gets the same successor token set back.
                successor = self._refresh.get(rt.successor_token or "")
                fresh = successor is not None and successor.superseded_at is None
                if now - rt.superseded_at <= self.refresh_grace and fresh:
                    assert rt.successor_response is not None
                    return dict(rt.successor_response)
                raise OAuthError("invalid_grant", "refresh token already used (rotated)")
            response = self._issue(rt.grant, previous=rt)
            rt.superseded_at = now
            rt.successor_response = dict(response)
            rt.successor_token = response.get("refresh_token")
            return response

    def _issue(self, grant: Grant, previous: _RefreshToken | None = None) -> dict[str, Any]:
        now = self.clock.now()
        access = AccessToken(secrets.token_urlsafe(32), grant, now + self.access_token_lifetime)
        self._access[access.token] = access
        body: dict[str, Any] = {
            "token_type": self.token_type,
            "access_token": access.token,
            "expires_in": int(self.access_token_lifetime),
        }
        new_rt: _RefreshToken | None = None
        if not self.require_offline_access or "offline_access" in grant.scopes:
            hard = (
                previous.hard_expires_at
                if previous is not None
                else now + (self.refresh_hard_lifetime or math.inf)
            )
            new_rt = _RefreshToken(
                secrets.token_urlsafe(32),
                grant,
                min(now + self.refresh_token_lifetime, hard),
                hard,
            )
            self._refresh[new_rt.token] = new_rt
            body["refresh_token"] = new_rt.token
        if self.extra_token_fields is not None:
            body.update(self.extra_token_fields(grant, new_rt))
        return body

    # -- revocation, validation, knobs --------------------------------------------------
    def revoke(self, token: str) -> bool:
        """Revoke the grant behind a refresh or access token; return whether it was known."""
        with self._lock:
            found = self._refresh.get(token) or self._access.get(token)
            if found is None:
                return False
            found.grant.revoked = True
            return True

    def check_bearer(self, authorization: str | None) -> tuple[AccessToken | None, str]:
        """Return ``(token, "")`` for a live bearer token, else ``(None, reason)``."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None, "missing bearer token"
        with self._lock:
            access = self._access.get(authorization[7:].strip())
        if access is None:
            return None, "unknown access token"
        if access.grant.revoked:
            return None, "token revoked"
        if self.clock.now() >= access.expires_at:
            return None, "token expired"
        return access, ""

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired now (forces the client to refresh)."""
        now = self.clock.now()
        with self._lock:
            for access in self._access.values():
                access.expires_at = min(access.expires_at, now - 1)

    def mint(self, client_id: str | None = None, scope: str = "", **data: Any) -> dict[str, Any]:
        """Issue a token set without the browser dance (for tests of code that only calls APIs)."""
        client = self.clients[client_id] if client_id else next(iter(self.clients.values()))
        grant = Grant(secrets.token_hex(8), client.client_id, scope, data, self.clock.now())
        with self._lock:
            return self._issue(grant)


# --------------------------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------------------------


@dataclass
class Fault:
    """One planned misbehaviour for one request."""

    kind: str  # "status" | "hang" | "drop"
    path: str | None = None
    status: int = 500
    retry_after: int | None = None
    seconds: float = 0.0
    after_commit: bool = False
    mode: str = "reset"  # drop: "reset" closes the socket, "502" answers Bad Gateway


class FaultPlan:
    """A queue of faults consumed by matching requests, in order."""

    def __init__(self, api_prefix: str) -> None:
        self.api_prefix = api_prefix
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()

    def _add(self, n: int, fault: Fault) -> None:
        with self._lock:
            for _ in range(n):
                self._faults.append(Fault(**fault.__dict__))

    def fail_next(
        self, n: int = 1, status: int = 500, retry_after: int | None = None, path: str | None = None
    ) -> None:
        """Answer the next ``n`` matching requests with ``status`` (nothing is processed)."""
        self._add(n, Fault("status", path, status=status, retry_after=retry_after))

    def throttle_next(self, n: int = 1, retry_after: int = 1, path: str | None = None) -> None:
        """Answer the next ``n`` matching requests with 429 and ``Retry-After``."""
        self.fail_next(n, status=429, retry_after=retry_after, path=path)

    def hang_next(
        self, n: int = 1, seconds: float = 5.0, after_commit: bool = False, path: str | None = None
    ) -> None:
        """Stall the next ``n`` matching requests; ``after_commit`` stalls after processing."""
        self._add(n, Fault("hang", path, seconds=seconds, after_commit=after_commit))

    def drop_next(self, n: int = 1, mode: str = "reset", path: str | None = None) -> None:
        """Process the next ``n`` matching requests, then lose the response (reset or 502)."""
        if mode not in ("reset", "502"):
            raise ValueError("mode must be 'reset' or '502'")
        self._add(n, Fault("drop", path, mode=mode))

    def take(self, path: str) -> Fault | None:
        """Pop the first queued fault that matches ``path``."""
        with self._lock:
            for fault in self._faults:
                wanted = fault.path if fault.path is not None else self.api_prefix
                if wanted in path:
                    self._faults.remove(fault)
                    return fault
        return None

    @property
    def pending(self) -> int:
        """Return the number of faults not yet consumed."""
        with self._lock:
            return len(self._faults)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the sandbox is shutting down."""
        self._released.wait(seconds)

    def release(self) -> None:
        """Wake every hanging request (called on teardown)."""
        self._released.set()


def drop_connection(environ: dict[str, Any]) -> None:
    """Shut the client socket so the response never arrives (werkzeug dev server only)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return
    # werkzeug treats the write error that follows as a dropped connection, quietly.
    # An RST (linger 0) makes the client see a reset instead of a clean FIN.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def install_fault_hooks(app, sb, before_fault=None) -> None:
    """Apply a request's injected fault after the handler ran (so a create is committed
    before the connection is dropped), and free its concurrency slot afterwards."""
    from flask import Response, g, request

    @app.after_request
    def apply_fault(response: Response) -> Response:
        if before_fault is not None:
            before_fault(response)
        fault: Fault | None = g.get("fault")
        if fault is None:
            return response
        if fault.kind == "hang":
            sb.faults.sleep(fault.seconds)
            return response
        if fault.mode == "502":
            return Response(
                "<html><body><h1>502 Bad Gateway</h1></body></html>", 502, mimetype="text/html"
            )
        drop_connection(request.environ)
        return response

    @app.teardown_request
    def release_slot(_exc: BaseException | None) -> None:
        if g.get("slot") is not None:
            sb.limiter.leave(g.slot)


# --------------------------------------------------------------------------------------------
# Idempotency: same key -> same stored response, never a second execution
# --------------------------------------------------------------------------------------------


@dataclass
class StoredResponse:
    """A response captured for replay."""

    status: int
    body: bytes
    content_type: str


class IdempotencyStore:
    """Per-key lock plus captured response; concurrent duplicates wait for the first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key_locks: dict[Any, threading.Lock] = {}
        self._stored: dict[Any, StoredResponse] = {}
        self.replays = 0

    @contextmanager
    def claim(self, key: Any) -> Iterator[StoredResponse | None]:
        """Hold the key's lock; yield the stored response or None if the key is new."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            stored = self._stored.get(key)
            if stored is not None:
                self.replays += 1
            yield stored

    def store(self, key: Any, response: StoredResponse) -> None:
        """Remember the response for ``key`` (call inside ``claim``)."""
        self._stored[key] = response

    def __len__(self) -> int:
        return len(self._stored)


# --------------------------------------------------------------------------------------------
# Rate limits: sliding windows plus a concurrency gauge
# --------------------------------------------------------------------------------------------


@dataclass
class Window:
    """``limit`` calls per ``seconds``; ``name`` is reported when it trips."""

    name: str
    limit: int
    seconds: float


@dataclass
class LimitDecision:
    """Outcome of ``RateLimiter.enter``."""

    allowed: bool
    problem: str | None = None
    retry_after: int = 0
    remaining: dict[str, int] = field(default_factory=dict)


class RateLimiter:
    """Sliding-window call counters and an in-flight counter, per key (tenant/realm/app)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, Any], deque[float]] = {}
        self._in_flight: dict[Any, int] = {}

    def enter(
        self, windows: list[tuple[Window, Any]], concurrent: tuple[str, int, Any] | None
    ) -> LimitDecision:
        """Count one call against every ``(window, key)``; refuse if any limit is exhausted."""
        now = self.clock.now()
        with self._lock:
            if concurrent is not None:
                name, limit, key = concurrent
                if self._in_flight.get(key, 0) >= limit:
                    return LimitDecision(False, name, 1, self._remaining(windows, now))
            for window, key in windows:
                calls = self._prune(window, key, now)
                if len(calls) >= window.limit:
                    wait = max(1, math.ceil(calls[0] + window.seconds - now))
                    return LimitDecision(False, window.name, wait, self._remaining(windows, now))
            for window, key in windows:
                self._calls[(window.name, key)].append(now)
            if concurrent is not None:
                self._in_flight[concurrent[2]] = self._in_flight.get(concurrent[2], 0) + 1
            return LimitDecision(True, None, 0, self._remaining(windows, now))

    def leave(self, key: Any) -> None:
        """Release one in-flight slot for ``key``."""
        with self._lock:
            self._in_flight[key] = max(0, self._in_flight.get(key, 0) - 1)

    def in_flight(self, key: Any) -> int:
        """Return how many requests for ``key`` are being processed."""
        with self._lock:
            return self._in_flight.get(key, 0)

    def _prune(self, window: Window, key: Any, now: float) -> deque[float]:
        calls = self._calls.setdefault((window.name, key), deque())
        while calls and calls[0] <= now - window.seconds:
            calls.popleft()
        return calls

    def _remaining(self, windows: list[tuple[Window, Any]], now: float) -> dict[str, int]:
        return {w.name: max(0, w.limit - len(self._prune(w, key, now))) for w, key in windows}
