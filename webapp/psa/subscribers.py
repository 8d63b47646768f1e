"""Quotes become Autotask opportunities (webapp.psa.sync), in the quote's own transaction."""

from __future__ import annotations

from webapp import signals
from webapp.psa import sync


@signals.quote_created.connect
def opportunity_for_new_quote(quote, **_extra) -> None:
    sync.queue_opportunity(quote)


@signals.quote_status_changed.connect
def opportunity_result(quote, status, **_extra) -> None:
    if status.value in ("won", "lost"):
        sync.queue_result(quote)


from webapp.psa.connectwise import subscribers as _connectwise  # noqa: E402, F401
