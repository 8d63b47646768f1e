"""Make, find and revoke API keys; keep and prune idempotent responses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from webapp.api.models import ApiKey, IdempotencyRecord
from webapp.auth.models import Role, User
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization
from webapp.security import log_event

# name -> what it allows, as the Settings › API page explains it.
SCOPES: dict[str, str] = {
    "catalog:read": "Products, categories, brands and suppliers",
    "catalog:write": "Upsert supplier offers (and new products) in bulk",
    "organizations:read": "Organizations, their contacts and addresses",
    "organizations:write": "Change an organization's payment terms",
    "staff:read": "The MSP's staff (names, emails, roles)",
    "quotes:read": "Quotes with their sections and lines",
    "quotes:write": "Create, edit and send quotes",
    "orders:read": "Sales orders, their lines and payments",
    "orders:write": "Key in and cancel sales orders",
    "purchasing:read": "Purchase orders, receipts, costs and accounts payable",
    "purchasing:write": "Issue and receipt purchase orders",
    "webhooks:manage": "Webhook endpoints: add, change, rotate secrets, test, deliveries",
}
# What a key limited to one customer organization may hold: reads of that organization's
# own records, never costs, suppliers or purchasing.
CUSTOMER_SCOPES = frozenset({"catalog:read", "organizations:read", "quotes:read", "orders:read"})

KEY_PREFIX = "msp_"
# Stripe keeps keys at least 24 hours; so do we (PSA-NOTES §4.2).
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_EXPIRY_DAYS = 3650
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # "msp_" and 4 random bytes in hex


class ApiKeyError(ValueError):
    """A key that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    *,
    name: str,
    scopes: list[str],
    actor: User,
    organization: Organization | None = None,
    expires_at: datetime | None = None,
) -> NewKey:
    """Make a key; the secret is returned once and only its SHA-256 is kept."""
    name = name.strip()
    if not name:
        raise ApiKeyError("Give the key a name, e.g. the system that will use it.")
    if len(name) > 100:
        raise ApiKeyError("The name is longer than 100 characters.")
    if actor.role is not Role.ADMIN:
        raise ApiKeyError("Only an admin can make API keys.")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"Unknown scope: {', '.join(unknown)}.")
    if not scopes:
        raise ApiKeyError("Choose at least one scope.")
    if organization is not None:
        refused = sorted(set(scopes) - CUSTOMER_SCOPES)
        if refused:
            raise ApiKeyError(
                "A key limited to one organization can only read; not allowed: "
                + ", ".join(refused)
                + "."
            )
    if expires_at is not None:
        now = utcnow()
        if expires_at <= now:
            raise ApiKeyError("The expiry must be in the future.")
        if expires_at > now + timedelta(days=MAX_EXPIRY_DAYS):
            raise ApiKeyError(f"The expiry must be within {MAX_EXPIRY_DAYS // 365} years.")
    # 8 characters to find the row, 32 random bytes as the secret part.
    prefix = KEY_PREFIX + secrets.token_hex(4)
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_digest(secret),
        scopes=sorted(set(scopes)),
        organization=organization,
        created_by=actor,
        expires_at=expires_at,
    )
    db.session.add(key)
    db.session.flush()
    log_event(
        "api.key.created",
        key_id=key.id,
        key_name=key.name,
        key_prefix=key.prefix,
        scopes=" ".join(key.scopes),
        organization_id=key.organization_id,
        actor_id=actor.id,
    )
    return NewKey(key, secret)


def revoke_key(key: ApiKey, actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise ApiKeyError("Only an admin can revoke API keys.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.flush()
        log_event(
            "api.key.revoked",
            key_id=key.id,
            key_name=key.name,
            key_prefix=key.prefix,
            actor_id=actor.id,
        )


def find_key(secret: str) -> ApiKey | None:
    """Return the live key this secret belongs to (None: unknown, revoked or expired)."""
    prefix, separator, rest = (
        secret[:PREFIX_LENGTH],
        secret[PREFIX_LENGTH:][:1],
        secret[PREFIX_LENGTH + 1 :],
    )
    if not prefix.startswith(KEY_PREFIX) or separator != "_" or not rest or len(secret) > 200:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.key_hash, _digest(secret)):
        return None
    if key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= utcnow():
        return None
    if not key.created_by.active or key.created_by.role is not Role.ADMIN:
        return None  # the admin it acts as left or lost the role: the key goes with them
    return key


def note_use(key: ApiKey) -> bool:
    """Record the key's last use, at most once a minute (a write per request is waste)."""
    now = utcnow()
    if key.last_used_at is not None and now - key.last_used_at < timedelta(minutes=1):
        return False
    key.last_used_at = now
    return True


def prune_idempotency_records(now: datetime | None = None) -> int:
    """Delete stored responses older than the 24 hours they are kept."""
    cutoff = (now or utcnow()) - IDEMPOTENCY_TTL
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
    )
    return result.rowcount or 0
