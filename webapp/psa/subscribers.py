"""Quotes become Autotask opportunities (webapp.psa.sync), in the quote's own transaction."""

from __future__ import annotations

from webapp import signals
from webapp.psa import sync


@signals.quote_created.connect
def opportunity_for_new_quote(quote, **_extra) -> None:
    sync.queue_opportunity(quote)


@signals.quote_status_changed.connect
def opportunity_result(quote, status, **_extra) -> None:
    if status.value == "sent":
        sync.queue_quote_sync(quote, f"sent_v{quote.version}")
    if status.value == "won":
        # The customer's choices and PO number: the quote first, then the opportunity result.
        sync.queue_quote_sync(quote, "won")
    if status.value in ("won", "lost"):
        sync.queue_result(quote)
