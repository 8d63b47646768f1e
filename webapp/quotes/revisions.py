"""The quote builder's version check: an edit drawn from an older page changes nothing.

Every builder form carries the quote's `revision` as it was drawn. The view checks it against
the quote it loaded (`check`), and the edit itself takes the next revision with a conditional
UPDATE (`advance`), so of two requests drawn from the same page only one can win even when
they run at once: the other's UPDATE matches no row and it is refused like a stale page.
"""

from __future__ import annotations

from sqlalchemy import update

from webapp.extensions import db
from webapp.parsing import whole_number
from webapp.quotes.errors import QuoteError
from webapp.quotes.models import Quote

FIELD = "revision"


class StaleEdit(QuoteError):
    """The page the edit was made on is older than the quote; nothing was changed."""

    status = 409

    def __init__(self, quote: Quote):
        super().__init__(
            f"Quote {quote.number} was changed in another tab or by someone else since this "
            "page was drawn, so this edit was not saved. Reload the quote to see the current "
            "version, then make the change again."
        )


class RevisionMissing(QuoteError):
    status = 400

    def __init__(self):
        super().__init__("The form carries no quote revision: reload the quote and try again.")


def parse(raw: object) -> int:
    """Return the revision a form was drawn from, or raise RevisionMissing."""
    seen = whole_number(raw, minimum=1)
    if seen is None:
        raise RevisionMissing()
    return seen


def check(quote: Quote, seen: int) -> None:
    """Refuse an edit drawn from any revision but the quote's current one."""
    if seen != quote.revision:
        raise StaleEdit(quote)


def advance(quote: Quote) -> None:
    """Take the next revision, or raise StaleEdit if another request took it first."""
    loaded = quote.revision
    claimed = db.session.execute(
        update(Quote)
        .where(Quote.id == quote.id, Quote.revision == loaded)
        .values(revision=loaded + 1),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.expire(quote, ["revision"])
    if not claimed:
        raise StaleEdit(quote)
