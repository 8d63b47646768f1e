"""Domain events other domains react to, sent inside the business transaction (blinker).

A receiver runs in the sender's unit of work: it may add rows (an outbox delivery, an event)
and schedule jobs with `jobs.enqueue_after_commit`, but it never commits. Domains connect
their receivers in their `subscribers.py`, imported by `create_app`.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the SalesDocument, now approved (issued approved, or released from hold by staff).
sales_document_approved = _signals.signal("sales-document-approved")
# sender: the SalesDocument, just cancelled (procurement drops its draft purchase lines).
sales_document_cancelled = _signals.signal("sales-document-cancelled")
# sender: the SalesDocument; every line is receipted, so it can be invoiced.
sales_document_ready_to_invoice = _signals.signal("sales-document-ready-to-invoice")
# sender: the PurchaseOrder, just issued to its supplier.
purchase_order_issued = _signals.signal("purchase-order-issued")
# sender: the PurchaseOrder, just cancelled after it was issued (a ledger may hold it).
purchase_order_cancelled = _signals.signal("purchase-order-cancelled")
# sender: the Receipt (a supplier invoice receipted against a PO): later pushed as a bill.
receipt_recorded = _signals.signal("receipt-recorded")
# sender: the SalesDocument; payments imported from the ledger changed what is paid.
sales_document_payment_changed = _signals.signal("sales-document-payment-changed")
# sender: the SalesDocument, just created and numbered (from the store, a quote or staff).
sales_document_created = _signals.signal("sales-document-created")
# sender: the Quote; kwargs status (the new QuoteStatus) and previous. Every status change.
quote_status_changed = _signals.signal("quote-status-changed")
# sender: the Quote; an approver opened its link (at most once a day per approver).
quote_viewed = _signals.signal("quote-viewed")
# sender: the integrations Delivery just confirmed by the outside system (an invoice posted).
integration_delivery_confirmed = _signals.signal("integration-delivery-confirmed")
# sender: the integrations Notification just opened for a failure an admin must look at.
integration_failed = _signals.signal("integration-failed")
# sender: the Quote, just created as a draft (staff, a template or a customer's request).
quote_created = _signals.signal("quote-created")
# sender: a tuple of product ids whose price may have changed, or None for "many or all"
# (a full feed, a pricing rule); kwarg reason: "cost", "fixed_price" or "pricing_rule".
product_prices_changed = _signals.signal("product-prices-changed")
# sender: an Organization at checkout (store, desk order, quote acceptance); each PSA returns
# what to offer as "which ticket does this order belong to" (webapp.psa.tickets.TicketOffer),
# or None when it syncs no tickets.
ticket_offer_wanted = _signals.signal("ticket-offer-wanted")
# sender: the SalesDocument just placed; kwarg value = the posted ticket pick ("" = a new
# ticket). A receiver refuses a pick that is not an open ticket of the organisation by
# raising ValueError (its message is for the person ordering): the caller rolls back.
ticket_chosen = _signals.signal("ticket-chosen")
