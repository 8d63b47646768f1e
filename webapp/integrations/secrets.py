"""The one place integration secrets are encrypted, stored, read, rotated and forgotten.

Keys: ``ENCRYPTION_KEYS`` is a comma-separated list of Fernet keys. The first encrypts; every
key still decrypts (``MultiFernet``), so a new key can be put in front and the old ones kept
until ``flask integrations rotate-keys`` has re-encrypted every stored secret with it. A single
``ENCRYPTION_KEY`` is accepted too; with neither, a key is derived from ``SECRET_KEY`` so a
laptop install works without setup.

The core knows no domain's tables: each domain registers the model columns that hold
ciphertext (``register_encrypted``), and rotation walks those.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import select

from webapp.integrations.interfaces import IntegrationError, NeedsReconnect, TokenSet
from webapp.models_base import utcnow


class UndecryptableSecret(IntegrationError):
    """No configured key decrypts a stored secret (a key was dropped before rotating)."""


class TokenHolder(Protocol):
    """A stored connection with OAuth tokens (e.g. accounting's LedgerConnection)."""

    label: str
    token_ciphertext: str
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    last_refreshed_at: datetime | None


def _derived_key() -> bytes:
    # Derived so a laptop install works without setup; production sets ENCRYPTION_KEYS so
    # rotating SECRET_KEY (sessions) does not make every stored token unreadable.
    # The salt keeps its old name: tokens stored before the core existed must still decrypt.
    digest = hashlib.sha256(b"accounting-tokens:" + current_app.config["SECRET_KEY"].encode())
    return base64.urlsafe_b64encode(digest.digest())


def configured_keys(config: Any = None) -> list[bytes]:
    """Return the Fernet keys in order (the first encrypts); raise on a malformed key."""
    config = config if config is not None else current_app.config
    raw = config.get("ENCRYPTION_KEYS") or config.get("ENCRYPTION_KEY") or ""
    keys = [k.strip().encode() for k in str(raw).split(",") if k.strip()]
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError as exc:
            raise ValueError(
                f"ENCRYPTION_KEYS: key {number} is not a Fernet key (32 url-safe base64 bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)."
            ) from exc
    return keys or [_derived_key()]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in configured_keys()])


def encrypt(plaintext: bytes) -> str:
    return _fernet().encrypt(plaintext).decode()


def decrypt(ciphertext: str, ttl: int | None = None) -> bytes:
    """Decrypt with any configured key; raise UndecryptableSecret when none fits."""
    try:
        return _fernet().decrypt(ciphertext.encode(), ttl=ttl)
    except InvalidToken as exc:
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with any key in ENCRYPTION_KEYS."
        ) from exc


# -- rotation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    model: type
    attribute: str
    # Set for a column that holds plain text in some rows: those with ciphertext hold
    # ``prefix + ciphertext`` (the API's kept idempotent answers), the others are not secret.
    prefix: str = ""

    def rows_query(self):
        """Every row holding ciphertext in this column (or empty, when there is no prefix)."""
        query = select(self.model)
        if self.prefix:
            column = getattr(self.model, self.attribute)
            query = query.where(column.startswith(self.prefix, autoescape=True))
        return query


_REGISTRY: list[EncryptedColumn] = []


def register_encrypted(model: type, attribute: str, *, prefix: str = "") -> None:
    """Declare that ``model.attribute`` holds ciphertext made by ``encrypt`` (for rotation).

    Every column that keeps a value of ``encrypt`` must be registered: ``flask integrations
    rotate-keys`` re-encrypts exactly these (a test finds every stored ``encrypt`` call's
    attribute and checks it is registered)."""
    column = EncryptedColumn(model, attribute, prefix)
    if column not in _REGISTRY:
        _REGISTRY.append(column)


def encrypted_columns() -> list[EncryptedColumn]:
    return list(_REGISTRY)


@dataclass
class RotationReport:
    rotated: int = 0
    empty: int = 0
    undecryptable: list[str] | None = None

    def __post_init__(self) -> None:
        self.undecryptable = self.undecryptable or []


def rotate(
    rows: Iterable[tuple[Any, str] | tuple[Any, str, str]],
    progress: Callable[[], None] | None = None,
):
    """Re-encrypt each ``(row, attribute[, prefix])`` with the first key; the caller commits.

    With a prefix, the value is ``prefix + ciphertext`` and keeps its prefix. A value no key
    decrypts is left as it is and reported (its connection must be reconnected); nothing
    else is changed for it.
    """
    fernet = _fernet()
    report = RotationReport()
    for row, attribute, *rest in rows:
        prefix = rest[0] if rest else ""
        value = getattr(row, attribute) or ""
        if not value[len(prefix) :] or not value.startswith(prefix):
            report.empty += 1
        else:
            try:
                token = fernet.rotate(value[len(prefix) :].encode()).decode()
                setattr(row, attribute, prefix + token)
                report.rotated += 1
            except InvalidToken:
                report.undecryptable.append(f"{type(row).__name__} {getattr(row, 'id', '?')}")
        if progress is not None:
            progress()
    return report


# -- OAuth token sets -------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def token_payload(tokens: TokenSet) -> dict:
    """The tokens as JSON-able data (without the id token, which only the stored copy keeps)."""
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
        id_token=data.get("id_token") or "",
    )


def write_tokens(holder: TokenHolder, tokens: TokenSet) -> None:
    """Encrypt and store ``tokens`` on the connection (the caller's unit of work commits)."""
    payload = token_payload(tokens) | {"id_token": tokens.id_token}
    holder.token_ciphertext = encrypt(json.dumps(payload).encode())
    holder.access_expires_at = tokens.access_expires_at
    holder.refresh_expires_at = tokens.refresh_expires_at
    holder.last_refreshed_at = utcnow()


def read_tokens(holder: TokenHolder) -> TokenSet:
    """Decrypt the connection's tokens; raise NeedsReconnect when there are none."""
    if not holder.token_ciphertext:
        raise NeedsReconnect(f"{holder.label} has no tokens: connect it again.")
    try:
        raw = decrypt(holder.token_ciphertext)
    except UndecryptableSecret as exc:
        # Every key that encrypted it is gone: only a reconnect helps.
        raise NeedsReconnect(
            f"The stored tokens of {holder.label} cannot be decrypted with any key in "
            "ENCRYPTION_KEYS: connect it again."
        ) from exc
    return tokens_from_payload(json.loads(raw))


def forget_tokens(holder: TokenHolder) -> None:
    """Drop the tokens (disconnect)."""
    holder.token_ciphertext = ""
    holder.access_expires_at = None
    holder.refresh_expires_at = None


def seal(data: dict) -> str:
    """Encrypt a small dict for the session (a fresh grant while the admin picks a tenant)."""
    return encrypt(json.dumps(data, default=str).encode())


def unseal(token: str, max_age: int = 900) -> dict | None:
    """Decrypt what ``seal`` made; None when it is missing, tampered with or too old."""
    try:
        return json.loads(decrypt(token, ttl=max_age))
    except (UndecryptableSecret, ValueError, AttributeError):
        return None
