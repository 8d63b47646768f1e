"""OAuth 2 authorization-code flow and token refresh for any stored connection (Authlib).

The views keep ``state`` (and Xero's PKCE verifier) in the session and pop it on return, so
a wrong or replayed ``state`` is refused; the vendor refuses a replayed ``code``. Refresh
tokens rotate on every refresh (API-NOTES 1.2 / 2.2): the newest is committed in the
refresh's own transaction (``webapp.integrations.token_store``) before anything else can fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager as ContextManager
from contextlib import nullcontext
from datetime import timedelta
from typing import Any, Protocol

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from webapp.integrations.http import require_https
from webapp.integrations.interfaces import (
    NeedsReconnect,
    OAuthProvider,
    PermanentError,
    TokenSet,
    TransientError,
)
from webapp.integrations.secrets import TokenHolder, read_tokens
from webapp.models_base import utcnow

# Refresh this long before the access token expires, so a call never starts with a dead one.
EXPIRY_MARGIN = timedelta(seconds=60)


class ConnectFailed(Exception):
    """The authorization callback cannot be completed; ``message`` says why in plain words."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _client(provider: type[OAuthProvider], config: Mapping[str, Any], **kw) -> OAuth2Session:
    spec = provider.oauth
    client_id = config.get(spec.client_id_key) or ""
    if not client_id:
        raise ConnectFailed(
            f"{provider.label} is not configured: set {spec.client_id_key} and "
            f"{spec.client_secret_key}.",
            status=409,
        )
    return OAuth2Session(
        client_id,
        config.get(spec.client_secret_key) or "",
        scope=" ".join(spec.scopes),
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name
        timeout=float(config.get("ACCOUNTING_HTTP_TIMEOUT", 30)),
        **kw,
    )


def _token_url(provider: type[OAuthProvider], config: Mapping[str, Any]) -> str:
    url = config[provider.oauth.token_url_key]
    require_https(url, bool(config.get("INTEGRATIONS_ALLOW_HTTP")), provider.label)
    return url


def authorization_url(
    provider: type[OAuthProvider], config: Mapping[str, Any], redirect_uri: str
) -> tuple[str, dict[str, str]]:
    """Return the vendor URL to send the admin to, and what the session must remember."""
    state = generate_token(32)
    remember = {"provider": provider.name, "state": state, "redirect_uri": redirect_uri}
    extra: dict[str, str] = {}
    kw: dict[str, Any] = {"redirect_uri": redirect_uri}
    if provider.oauth.pkce:
        verifier = generate_token(64)
        remember["code_verifier"] = verifier
        kw["code_challenge_method"] = "S256"
        extra["code_verifier"] = verifier
    client = _client(provider, config, **kw)
    url, _ = client.create_authorization_url(
        config[provider.oauth.authorize_url_key], state=state, **extra
    )
    return url, remember


def token_set(body: Mapping[str, Any], previous: TokenSet | None = None) -> TokenSet:
    """Build a TokenSet from a token endpoint response (expires_in -> absolute times)."""
    now = utcnow()
    expires_in = body.get("expires_in")
    refresh_in = body.get("x_refresh_token_expires_in") or body.get("refresh_token_expires_in")
    refresh = body.get("refresh_token") or (previous.refresh_token if previous else "")
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_expires_at=(
            now + timedelta(seconds=int(refresh_in))
            if refresh_in
            else (previous.refresh_expires_at if previous else None)
        ),
        scope=str(body.get("scope") or (previous.scope if previous else "")),
        id_token=str(body.get("id_token") or ""),
    )


def exchange_code(
    provider: type[OAuthProvider],
    config: Mapping[str, Any],
    remembered: Mapping[str, str] | None,
    args: Mapping[str, str],
) -> TokenSet:
    """Check ``state`` against what the session remembered and trade the code for tokens."""
    if not remembered or remembered.get("provider") != provider.name:
        raise ConnectFailed("This sign-in was not started here (or was already completed).")
    if not args.get("state") or args.get("state") != remembered.get("state"):
        raise ConnectFailed("The sign-in answer does not match the request we sent (state).")
    if args.get("error"):
        raise ConnectFailed(f"{provider.label} refused the connection: {args['error']}.")
    if not args.get("code"):
        raise ConnectFailed(f"{provider.label} sent no authorization code.")
    try:
        token_url = _token_url(provider, config)
    except PermanentError as exc:
        raise ConnectFailed(exc.message, status=409) from exc
    client = _client(provider, config, redirect_uri=remembered["redirect_uri"])
    extra = {}
    if remembered.get("code_verifier"):
        extra["code_verifier"] = remembered["code_verifier"]
    try:
        body = client.fetch_token(
            token_url,
            grant_type="authorization_code",
            code=args["code"],
            **extra,
        )
    except OAuthError as exc:
        raise ConnectFailed(
            f"{provider.label} refused the authorization code ({exc.error}): "
            f"{exc.description or 'it may have been used already'}."
        ) from exc
    except requests.RequestException as exc:
        raise ConnectFailed(f"{provider.label} could not be reached: {exc}", status=502) from exc
    return token_set(body)


def refresh_token_set(
    provider: type[OAuthProvider], config: Mapping[str, Any], current: TokenSet
) -> TokenSet:
    """Trade the refresh token for a new set; NeedsReconnect when the grant is gone."""
    if not current.refresh_token:
        raise NeedsReconnect(f"{provider.label} gave no refresh token: connect again.")
    token_url = _token_url(provider, config)
    client = _client(provider, config)
    try:
        body = client.refresh_token(token_url, refresh_token=current.refresh_token)
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            raise NeedsReconnect(
                f"{provider.label} no longer accepts our refresh token ({exc.error}): "
                "an admin must connect again."
            ) from exc
        raise TransientError(f"{provider.label} token refresh failed: {exc.error}") from exc
    except requests.RequestException as exc:
        raise TransientError(f"{provider.label} token endpoint unreachable: {exc}") from exc
    return token_set(body, previous=current)


class ConnectionTokens:
    """The ``TokenSource`` for one stored connection: refreshes and stores rotated tokens.

    ``store`` opens the refresh's own transaction (``webapp.integrations.token_store.stored``):
    it yields the committed tokens with a row lock and commits what is written, so a rotated
    refresh token survives whatever the calling job does next and none of the job's own work
    is committed by a refresh. ``lock`` is the cross-process lock taken first.
    """

    def __init__(
        self,
        connection: TokenHolder,
        provider: type[OAuthProvider],
        config: Mapping[str, Any],
        store: Callable[[], ContextManager[StoredTokenSet]],
        lock: Callable[[], Any] | None = None,
        on_needs_reconnect: Callable[[str], None] | None = None,
    ) -> None:
        self.connection = connection
        self.provider = provider
        self.config = config
        self.store = store
        self.lock = lock  # a cross-process lock: two workers must not spend one refresh token
        self.on_needs_reconnect = on_needs_reconnect  # the domain marks its connection
        self._tokens: TokenSet | None = None

    def current(self) -> TokenSet:
        if self._tokens is None:
            self._tokens = read_tokens(self.connection)
        return self._tokens

    def access_token(self) -> str:
        tokens = self.current()
        expires = tokens.access_expires_at
        if expires is not None and expires - EXPIRY_MARGIN <= utcnow():
            return self.refresh()
        return tokens.access_token

    def refresh(self) -> str:
        stale = self.current()
        with self.lock() if self.lock is not None else nullcontext():
            try:
                with self.store() as stored:
                    fresh = stored.read()
                    if fresh.refresh_token != stale.refresh_token:
                        tokens = fresh  # another process refreshed meanwhile
                    else:
                        tokens = refresh_token_set(self.provider, self.config, stale)
                        stored.write(tokens)
            except NeedsReconnect as exc:
                # Marked in the caller's unit of work: every job commits after NeedsReconnect.
                if self.on_needs_reconnect is not None:
                    self.on_needs_reconnect(exc.message)
                raise
        self._tokens = tokens
        return tokens.access_token


class StoredTokenSet(Protocol):
    """What ``ConnectionTokens.store`` yields: the committed tokens, and a way to replace them."""

    def read(self) -> TokenSet: ...

    def write(self, tokens: TokenSet) -> None: ...


class StaticTokens:
    """A ``TokenSource`` for a fresh grant that is not stored yet (choosing the tenant)."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens

    def access_token(self) -> str:
        return self.tokens.access_token

    def refresh(self) -> str:
        raise NeedsReconnect("The new grant was refused; start the connection again.")
