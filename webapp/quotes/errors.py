"""Every refused quote action: the base class and the refusals several modules raise."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webapp.quotes.models import QuoteStatus


class QuoteError(Exception):
    """A refused quote action; `message` is for people, `status` the HTTP status."""

    status = 422

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class QuoteLocked(QuoteError):
    status = 409


class QuoteChanged(QuoteError):
    """Someone else changed the quote's status or version meanwhile."""

    status = 409


class IllegalTransition(QuoteError):
    status = 409

    def __init__(self, current: QuoteStatus, wanted: QuoteStatus):
        super().__init__(
            f"A quote that is {current.label.lower()} cannot become {wanted.label.lower()}."
        )
        self.current = current
        self.wanted = wanted


class NeedsApproval(QuoteError):
    status = 409

    def __init__(self, reasons: list[str]):
        super().__init__("A manager must approve this quote before it is sent.")
        self.reasons = reasons
