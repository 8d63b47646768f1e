"""What a ConnectWise callback (or the poll) does with the record it read again (flush only).

A callback only hints that a record changed (PSA-NOTES 2.10); the handler reads the record
again and brings ours in step with it:

- a ticket: the checkout's cached open tickets of the connection are dropped (any ticket, ours
  or not, may have opened or closed), as the Autotask ticket webhook does;
- an opportunity of one of our sent quotes: a won status there wins the quote here, a lost
  status loses it (through the quotes domain's operations); deleted there: a notice;
- a purchase order of ours: what ConnectWise shows received is compared with our receipts;
  a difference (or the PO deleted there) is a notice naming the lines, closed once back in step.
"""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import Delivery, ExternalLink
from webapp.integrations.outbox import OPEN_STATUSES
from webapp.models_base import utcnow
from webapp.psa.connectwise import operations
from webapp.psa.connectwise.sync import PRODUCT, PURCHASE_ORDER, RECEIPT
from webapp.psa.models import PsaConnection
from webapp.psa.tickets import forget_open_tickets


def ticket_changed(connection: PsaConnection) -> None:
    """A ticket was created, changed or deleted: the cached open tickets are stale."""
    forget_open_tickets(connection.id)


def _status_flag(connection: PsaConnection, status_id: str, flag: str) -> bool:
    """Whether ConnectWise's opportunity status carries ``flag`` (``wonFlag``, ``lostFlag``);
    without the lookups, the statuses chosen in the settings stand for them."""
    for row in connection.picklists.get("opportunity_statuses", []):
        if row["value"] == status_id:
            return bool(row.get(flag))
    chosen = connection.option("won_status" if flag == "wonFlag" else "lost_status")
    return bool(status_id) and status_id == str(chosen or "")


def opportunity_changed(connection: PsaConnection, link: ExternalLink, record) -> str:
    """Our sent quote follows its opportunity's result; returns what was done ('' if nothing)."""
    from webapp.quotes import lifecycle as quotes
    from webapp.quotes.models import Quote, QuoteStatus

    quote = db.session.get(Quote, link.subject_id)
    if quote is None or quote.status != QuoteStatus.SENT:
        return ""
    cause = f"cw_opportunity_gone:{quote.id}"
    if record is None:
        core.notify(
            connection,
            None,
            f"The ConnectWise opportunity of {quote.number} was deleted",
            f"Opportunity {link.remote_id} of quote {quote.number} is gone from ConnectWise; "
            "the quote's result and later versions cannot reach it.",
            field="Opportunity",
            fix="Pick another open opportunity on the quote page, or mark the quote lost if "
            "the customer said no.",
            cause=cause[:50],
        )
        return f"; quote {quote.number} has no opportunity any more"
    status = record.get("status") or {}
    status_id, name = str(status.get("id") or ""), status.get("name") or status.get("id")
    if _status_flag(connection, status_id, "wonFlag"):
        quotes.transition(quote, QuoteStatus.WON, None, f"won in ConnectWise ({name})")
        quote.decided_at = utcnow()
        return f"; quote {quote.number} won"
    if _status_flag(connection, status_id, "lostFlag"):
        quotes.mark_lost(quote, None, f"lost in ConnectWise ({name})")
        return f"; quote {quote.number} lost"
    return ""


def purchase_order_changed(connection: PsaConnection, link: ExternalLink, record) -> str:
    """Compare what ConnectWise shows received on our PO with our receipts; a notice on a
    difference (or when the PO was deleted there), closed when they agree again."""
    from webapp.purchasing.models import PurchaseOrder

    po = db.session.get(PurchaseOrder, link.subject_id)
    if po is None:
        return ""
    cause = f"cw_po_receipts:{po.id}"
    if record is not None and _receipts_on_their_way(connection, po):
        return ""  # ours are not all there yet: compared once they are
    if record is None:
        problems = [f"ConnectWise purchase order {link.remote_id} was deleted"]
    else:
        problems = _receipt_differences(connection, po, int(link.remote_id))
    if not problems:
        core.resolve_cause(connection, cause)
        return ""
    text = "; ".join(problems)
    core.notify(
        connection,
        None,
        f"{po.number} differs in ConnectWise",
        f"{po.number}: {text}.",
        field="Purchase order lines",
        fix="If ConnectWise is right, correct the receipt here; otherwise receive the line "
        "again on the ConnectWise purchase order. This notice closes once they agree.",
        cause=cause[:50],
    )
    return f"; {text}"


def _receipts_on_their_way(connection: PsaConnection, po) -> bool:
    """Whether the PO or one of its receipts still has a delivery to make."""
    receipts = [receipt.id for receipt in po.receipts]
    return (
        db.session.scalar(
            db.select(Delivery.id)
            .where(
                Delivery.connection_id == connection.id,
                Delivery.status.in_(OPEN_STATUSES),
                db.or_(
                    db.and_(Delivery.kind == PURCHASE_ORDER, Delivery.subject_id == po.id),
                    db.and_(Delivery.kind == RECEIPT, Delivery.subject_id.in_(receipts)),
                ),
            )
            .limit(1)
        )
        is not None
    )


def _receipt_differences(connection: PsaConnection, po, remote_po: int) -> list[str]:
    ours: dict[int, tuple[str, int]] = {}  # catalog item -> (our line, quantity receipted)
    for line in po.lines:
        catalog = core.link_for(connection.id, PRODUCT, line.product_id)
        if catalog is None or line.sales_document_id is None:
            continue  # only lines serving a sales order went to ConnectWise
        name, received = ours.get(int(catalog.remote_id), (line.description, 0))
        ours[int(catalog.remote_id)] = (name, received + line.quantity_received)
    theirs: dict[int, int] = {}
    client = operations.client_for(connection)
    for item in client.each(f"procurement/purchaseorders/{remote_po}/lineitems"):
        catalog_id = (item.get("product") or {}).get("id")
        if (item.get("receivedStatus") or "Waiting") != "Waiting":
            theirs[catalog_id] = theirs.get(catalog_id, 0) + int(item.get("receivedQuantity") or 0)
    problems = []
    for catalog_id, (name, received) in ours.items():
        shown = theirs.get(catalog_id, 0)
        if shown != received:
            problems.append(f"“{name}” received {received} here, {shown} in ConnectWise")
    return problems
