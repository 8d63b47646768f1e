"""Signed approval links: quote id, version and recipient, under a salt per purpose.

The token is not a secret store: its payload is readable but cannot be forged or altered
without SECRET_KEY. Whether it still works is decided by the database: the quote's current
version (an edit voids older links), its expiry date, and the decision row (one per
version) that makes a link single-use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

# One salt per purpose: a token made for one use is worthless for another.
SALTS = {"approve": "quote-approval-link"}


class InvalidToken(Exception):
    """A token that is tampered, truncated or made for something else."""


@dataclass(frozen=True)
class LinkPayload:
    quote_id: int
    version: int
    recipient_id: int
    expires_on: date


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALTS[purpose])


def make_token(
    quote_id: int, version: int, recipient_id: int, expires_on: date, purpose: str = "approve"
) -> str:
    return _serializer(purpose).dumps(
        {"q": quote_id, "v": version, "r": recipient_id, "e": expires_on.isoformat()}
    )


def read_token(token: str, purpose: str = "approve") -> LinkPayload:
    """Return the link's payload, or raise InvalidToken."""
    if not token or len(token) > 500:
        raise InvalidToken("empty or oversized token")
    try:
        data = _serializer(purpose).loads(token)
        return LinkPayload(
            quote_id=int(data["q"]),
            version=int(data["v"]),
            recipient_id=int(data["r"]),
            expires_on=date.fromisoformat(data["e"]),
        )
    except (BadData, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from None
