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


@signals.sales_document_created.connect
def ticket_for_new_order(document, **_extra) -> None:
    sync.queue_ticket(document)
    sync.queue_won_sale(document)


@signals.ticket_offer_wanted.connect
def ticket_offer(organization, **_extra):
    from webapp.psa import tickets

    if not tickets.ticketing_connections():
        return None
    return tickets.offer(organization)


@signals.ticket_chosen.connect
def ticket_chosen(document, value="", **_extra) -> None:
    from webapp.psa import tickets

    if not tickets.ticketing_connections():
        return
    try:
        tickets.apply_choice(document, value)
    except tickets.TicketChoiceError as refused:
        raise ValueError(str(refused)) from None


from webapp.psa.connectwise import subscribers as _connectwise  # noqa: E402, F401
