"""The one place OAuth tokens are encrypted, stored, read and forgotten (STYLE habit 9)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from webapp.accounting.interfaces import NeedsReconnect, TokenSet
from webapp.accounting.models import LedgerConnection
from webapp.models_base import utcnow


def _fernet() -> Fernet:
    key = current_app.config.get("ENCRYPTION_KEY") or ""
    if not key:
        # Derived so a laptop install works without setup; production sets ENCRYPTION_KEY
        # so rotating SECRET_KEY (sessions) does not make every stored token unreadable.
        digest = hashlib.sha256(b"accounting-tokens:" + current_app.config["SECRET_KEY"].encode())
        key = base64.urlsafe_b64encode(digest.digest()).decode()
    return Fernet(key.encode() if isinstance(key, str) else key)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def write_tokens(connection: LedgerConnection, tokens: TokenSet) -> None:
    """Encrypt and store ``tokens`` on the connection (the caller's unit of work commits)."""
    payload = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "access_expires_at": _iso(tokens.access_expires_at),
        "refresh_expires_at": _iso(tokens.refresh_expires_at),
        "scope": tokens.scope,
        "id_token": tokens.id_token,
    }
    connection.token_ciphertext = _fernet().encrypt(json.dumps(payload).encode()).decode()
    connection.access_expires_at = tokens.access_expires_at
    connection.refresh_expires_at = tokens.refresh_expires_at
    connection.last_refreshed_at = utcnow()


def read_tokens(connection: LedgerConnection) -> TokenSet:
    """Decrypt the connection's tokens; raise NeedsReconnect when there are none."""
    if not connection.token_ciphertext:
        raise NeedsReconnect(f"{connection.label} has no tokens: connect it again.")
    try:
        raw = _fernet().decrypt(connection.token_ciphertext.encode())
    except InvalidToken as exc:
        # The key changed (ENCRYPTION_KEY or SECRET_KEY rotated): only a reconnect helps.
        raise NeedsReconnect(
            f"The stored tokens of {connection.label} cannot be decrypted with the current "
            "ENCRYPTION_KEY: connect it again."
        ) from exc
    data = json.loads(raw)
    return TokenSet(
        access_token=data["access_token"],
        refresh_token=data.get("refresh_token") or "",
        access_expires_at=_parse(data.get("access_expires_at")),
        refresh_expires_at=_parse(data.get("refresh_expires_at")),
        scope=data.get("scope") or "",
        id_token=data.get("id_token") or "",
    )


def forget_tokens(connection: LedgerConnection) -> None:
    """Drop the tokens (disconnect)."""
    connection.token_ciphertext = ""
    connection.access_expires_at = None
    connection.refresh_expires_at = None


def seal(data: dict) -> str:
    """Encrypt a small dict for the session (a fresh grant while the admin picks a tenant)."""
    return _fernet().encrypt(json.dumps(data, default=str).encode()).decode()


def unseal(token: str, max_age: int = 900) -> dict | None:
    """Decrypt what ``seal`` made; None when it is missing, tampered with or too old."""
    try:
        return json.loads(_fernet().decrypt(token.encode(), ttl=max_age))
    except (InvalidToken, ValueError, AttributeError):
        return None


def token_payload(tokens: TokenSet) -> dict:
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "access_expires_at": _iso(tokens.access_expires_at),
        "refresh_expires_at": _iso(tokens.refresh_expires_at),
        "scope": tokens.scope,
    }


def tokens_from_payload(data: dict) -> TokenSet:
    return TokenSet(
        access_token=data["access_token"],
        refresh_token=data.get("refresh_token") or "",
        access_expires_at=_parse(data.get("access_expires_at")),
        refresh_expires_at=_parse(data.get("refresh_expires_at")),
        scope=data.get("scope") or "",
    )
