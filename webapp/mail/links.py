"""One-time links in emails (invitations, quote approvals): never stored, issued at delivery.

Whoever can read a stored email must not be able to use its link: a salesperson who opens
an admin's invitation could set the admin's password. So an email with a single-use link is
stored with `REDACTED` where the link goes, plus what it is a link *to* (a kind and a
reference). Each delivery — the first, a retry, a resend — asks the domain that owns the
link to issue a fresh one (`register` below), and the link exists only in the message that
goes out over SMTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

REDACTED = "[link removed — re-issued on resend]"


class LinkUnavailable(Exception):
    """The owning domain will not issue the link again; the message says why."""


@dataclass(frozen=True)
class OneTimeLink:
    """What a one-time link points at: a registered `kind` and the reference it needs."""

    kind: str  # e.g. "invitation", "quote-approval"
    ref: str  # e.g. the user id; never the token itself


# kind -> issue(ref, to_address) -> absolute URL; raises LinkUnavailable.
Issuer = Callable[[str, str], str]
_issuers: dict[str, Issuer] = {}


def register(kind: str, issuer: Issuer) -> None:
    """Let the domain owning `kind` issue its links (called when its module is imported)."""
    _issuers[kind] = issuer


def issue(link: OneTimeLink, to_address: str) -> str:
    """Return a fresh link for an email to `to_address`, or raise LinkUnavailable."""
    issuer = _issuers.get(link.kind)
    if issuer is None:
        raise LinkUnavailable(f"Nothing issues {link.kind!r} links.")
    return issuer(link.ref, to_address)
