"""Autotask opportunities from our quotes, through the integrations outbox.

When a quote is created, an opportunity is created for its organisation's Autotask company
(the company is created first when the organisation has none yet: a prerequisite delivery),
with the stage, status, probability, category and owner the admin chose; when the quote is
won or lost, the opportunity takes the configured stage and status. Autotask has no
idempotency key, so every create carries our reference where a query finds it (the company's
``companyNumber``, the opportunity's title starts with the quote number) and a create that may
have reached Autotask is looked up before it is repeated; every write is read back and
compared, because Autotask ignores unknown fields silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations import registry
from webapp.integrations.interfaces import PermanentError, PushResult
from webapp.integrations.models import Delivery
from webapp.integrations.outbox import Sender, ensure_delivery, find_delivery, schedule_sync
from webapp.psa import operations
from webapp.psa.autotask import contact_sync
from webapp.psa.autotask.contact_sync import CONTACT_SYNC
from webapp.psa.autotask.quotes import QuotePush, quote_state
from webapp.psa.autotask.tickets import TicketPush
from webapp.psa.models import PsaConnection

COMPANY = "psa_company"
OPPORTUNITY = "psa_opportunity"
CLOSE = "psa_opportunity_close"  # won or lost
QUOTE_SYNC = "psa_quote"  # the Autotask quote and its items
TICKET = "psa_ticket"  # a sales order on a ticket, as ticket charges
DOCUMENT = "sales_document"
WON_SALE = "won_sale"  # an order without a quote, as a won opportunity (links apart from tickets)
ORGANIZATION = "organization"
QUOTE = "quote"
registry.register_kinds(
    {
        COMPANY: "Autotask company",
        OPPORTUNITY: "Autotask opportunity",
        QUOTE_SYNC: "Autotask quote",
        TICKET: "Autotask ticket",
        CLOSE: "Opportunity result",
        CONTACT_SYNC: "Autotask contact",
    }
)


def _connections() -> list[PsaConnection]:
    return [
        c
        for c in core.active_connections(PsaConnection)
        if c.provider == operations.AUTOTASK and c.option("opportunities_enabled")
    ]


def ticket_connections() -> list[PsaConnection]:
    return [
        c
        for c in core.active_connections(PsaConnection)
        if c.provider == operations.AUTOTASK and c.option("tickets_enabled")
    ]


def queue_ticket(document) -> list[Delivery]:
    """A new sales order: its charges on the ticket picked at checkout, or on a new ticket."""
    out = []
    for connection in ticket_connections():
        needs = []
        if core.link_for(connection.id, ORGANIZATION, document.organization_id) is None:
            needs.append(
                ensure_delivery(connection, COMPANY, ORGANIZATION, document.organization_id)
            )
        out.append(ensure_delivery(connection, TICKET, DOCUMENT, document.id, needs))
        schedule_sync(connection)
    return out


def queue_won_sale(document) -> list[Delivery]:
    """An order that did not come from a quote: a won opportunity, when the admin asks for it
    (seed 002: "sync unquoted sales as won opportunities")."""
    if document.source.value == "quote":
        return []
    out = []
    for connection in _connections():
        if not connection.option("unquoted_sales_won"):
            continue
        needs = []
        if core.link_for(connection.id, ORGANIZATION, document.organization_id) is None:
            needs.append(
                ensure_delivery(connection, COMPANY, ORGANIZATION, document.organization_id)
            )
        out.append(ensure_delivery(connection, OPPORTUNITY, WON_SALE, document.id, needs))
        schedule_sync(connection)
    return out


def company_reference(organization_id: int) -> str:
    return f"MSP-ORG-{organization_id}"


def queue_opportunity(quote) -> list[Delivery]:
    """A new quote: its opportunity (and its company first, when it has none) in Autotask."""
    out = []
    for connection in _connections():
        needs = []
        if core.link_for(connection.id, ORGANIZATION, quote.organization_id) is None:
            needs.append(ensure_delivery(connection, COMPANY, ORGANIZATION, quote.organization_id))
        opportunity = ensure_delivery(connection, OPPORTUNITY, QUOTE, quote.id, needs)
        out.append(opportunity)
        out.append(ensure_delivery(connection, QUOTE_SYNC, QUOTE, quote.id, [opportunity]))
        schedule_sync(connection)
    return out


def queue_quote_sync(quote, occasion: str) -> list[Delivery]:
    """Bring the Autotask quote in step again (a version sent, the customer's choices).

    ``occasion`` names the change ("sent_v2", "won"): one delivery per change, each after the
    quote's first one; the push syncs the quote as it stands when it runs.
    """
    out = []
    for connection in _connections():
        first = find_delivery(connection.id, QUOTE_SYNC, QUOTE, quote.id)
        if first is None:
            continue  # created before the sync was switched on
        out.append(ensure_delivery(connection, QUOTE_SYNC, f"quote_{occasion}", quote.id, [first]))
        schedule_sync(connection)
    return out


def queue_result(quote) -> list[Delivery]:
    """A won or lost quote: its opportunity takes the configured stage and status."""
    out = []
    for connection in _connections():
        opportunity = find_delivery(connection.id, OPPORTUNITY, QUOTE, quote.id)
        if opportunity is None:
            continue  # created before the sync was switched on: nothing to close
        if quote.status.value == "lost" and sharing_open(connection, quote):
            continue  # another quote of ours on the opportunity is still open: not lost yet
        out.append(ensure_delivery(connection, CLOSE, QUOTE, quote.id, [opportunity]))
        schedule_sync(connection)
    return out


@dataclass(frozen=True)
class Item:
    """One delivery's record, as the outbox hands it back (matched to results by ``key``)."""

    key: str
    delivery: Delivery
    record: dict


class AutotaskSender(Sender):
    kind_order = (COMPANY, CONTACT_SYNC, OPPORTUNITY, QUOTE_SYNC, CLOSE, TICKET)
    max_batch = 1

    def __init__(self, connection: PsaConnection) -> None:
        self.connection = connection
        self.client = operations.client_for(connection)
        self.http = self.client.http
        self.quotes = QuotePush(connection, self.client)
        self.tickets = TicketPush(self.quotes)

    def blocked(self) -> list[str]:
        """Nothing is sent while the database's shared hour is half spent (PSA-NOTES 1.9)."""
        reason = operations.check_shared_budget(self.connection, self.client)
        return [reason] if reason else []

    # -- payloads ----------------------------------------------------------------------------

    def payload(self, delivery: Delivery) -> dict:
        build = {
            COMPANY: self._company,
            OPPORTUNITY: self._opportunity,
            CLOSE: self._close,
            QUOTE_SYNC: self._quote_state,
            TICKET: self._document,
            CONTACT_SYNC: self._user,
        }
        return Item(delivery.request_key, delivery, build[delivery.kind](delivery))

    def _option(self, key: str, what: str) -> int:
        value = self.connection.option(key)
        if value in (None, ""):
            raise PermanentError(
                f"Choose the {what} in Settings › PSA › Opportunities.",
                field=what,
                fix="Pick it from the list (read from Autotask), save, then press Retry.",
            )
        return int(value)

    def _company(self, delivery: Delivery) -> dict:
        from webapp.organizations.models import Organization

        organization = db.session.get(Organization, delivery.subject_id)
        if organization is None:
            raise PermanentError("The organisation was deleted.", field="Organisation")
        picked = core.link_for(self.connection.id, ORGANIZATION, organization.id)
        if picked is not None:  # staff linked an existing company (webapp.psa.companies)
            return {"linked": picked.remote_id, "name": picked.remote_number}
        if not organization.phone.strip():
            raise PermanentError(
                f"Autotask needs a phone number for the company {organization.name}.",
                field="Organisation phone",
                fix=f"Add a phone number to {organization.name}, then press Retry.",
            )
        return {
            "companyName": organization.name[:100],
            "companyNumber": company_reference(organization.id),
            "companyType": 1,  # Customer
            "phone": organization.phone[:25],
            "ownerResourceID": self._option("default_owner", "default owner"),
            "isActive": True,
        }

    def _user(self, delivery: Delivery):
        from webapp.auth.models import User

        user = db.session.get(User, delivery.subject_id)
        if user is None:
            raise PermanentError("The contact was deleted.", field="Contact")
        return user

    def _document(self, delivery: Delivery):
        from webapp.sales.models import SalesDocument

        document = db.session.get(SalesDocument, delivery.subject_id)
        if document is None:
            raise PermanentError("The sales order was deleted.", field="Sales order")
        self.tickets.check_options(document)
        return document

    def _quote_state(self, delivery: Delivery):
        state = quote_state(self._quote(delivery))
        self.quotes.check_options(state)
        return state

    def _quote(self, delivery: Delivery):
        from webapp.quotes.models import Quote

        quote = db.session.get(Quote, delivery.subject_id)
        if quote is None:
            raise PermanentError("The quote was deleted.", field="Quote")
        return quote

    def _won_sale(self, delivery: Delivery) -> dict:
        from webapp.sales.models import SalesDocument

        document = db.session.get(SalesDocument, delivery.subject_id)
        if document is None:
            raise PermanentError("The sales order was deleted.", field="Sales order")
        link = core.link_for(self.connection.id, ORGANIZATION, document.organization_id)
        if link is None:
            raise PermanentError("The organisation has no Autotask company yet.", field="Company")
        cost = sum((line.unit_cost or 0) * line.quantity for line in document.lines)
        day = document.created_at.date() if document.created_at else None
        record = {
            "companyID": int(link.remote_id),
            "title": f"{document.number} {document.title}"[:128],
            "amount": float(document.subtotal),
            "cost": float(cost),
            "ownerResourceID": self._option("default_owner", "default owner"),
            "projectedCloseDate": _datetime(day),
            "probability": 100,
            "stage": self._option("won_stage", "stage when a quote is won"),
            "status": self._option("won_status", "status when a quote is won"),
            "createDate": _datetime(day),
        }
        category = self.connection.option("opportunity_category")
        if category not in (None, ""):
            record["opportunityCategoryID"] = int(category)
        return record

    def _opportunity(self, delivery: Delivery) -> dict:
        if delivery.subject_type == WON_SALE:
            return self._won_sale(delivery)
        from webapp.quotes.approval import working_snapshot
        from webapp.quotes.selection import default_selection, totals_of

        quote = self._quote(delivery)
        picked = core.link_for(self.connection.id, QUOTE, quote.id)
        if picked is not None:  # staff attached an existing one (webapp.psa.opportunities)
            return {"linked": picked.remote_id, "name": picked.remote_number}
        link = core.link_for(self.connection.id, ORGANIZATION, quote.organization_id)
        if link is None:
            raise PermanentError("The organisation has no Autotask company yet.", field="Company")
        snapshot = working_snapshot(quote)
        totals = totals_of(snapshot, default_selection(snapshot))
        probability = int(self.connection.option("probability", 50))
        record = {
            "companyID": int(link.remote_id),
            "title": f"{quote.number} {quote.title}"[:128],
            "amount": float(totals.goods_subtotal),
            "cost": float(totals.cost),
            "ownerResourceID": self._owner(quote.owner.email),
            "projectedCloseDate": _datetime(quote.expires_on),
            "probability": probability,
            "stage": self._option("created_stage", "stage for a new quote"),
            "status": self._option("created_status", "status for a new quote"),
            "createDate": _datetime(quote.created_at.date() if quote.created_at else None),
            # Its amount and cost follow its primary quote, i.e. the quote we send (the
            # amount above stands until that quote exists).
            "useQuoteTotals": True,
        }
        contact = quote_contact(self.connection.id, quote)
        if contact is not None:
            record["contactID"] = contact
        category = self.connection.option("opportunity_category")
        if category not in (None, ""):
            record["opportunityCategoryID"] = int(category)
        return record

    def _owner(self, email: str) -> int:
        """The quote owner's Autotask resource (by email), else the configured default owner."""
        for resource in self.connection.picklists.get("Resources", []):
            if resource.get("email") and resource["email"] == email.lower():
                return int(resource["value"])
        return self._option("default_owner", "default owner")

    def _close(self, delivery: Delivery) -> dict:
        from webapp.quotes.models import QuoteStatus

        quote = self._quote(delivery)
        opportunity = core.link_for(self.connection.id, QUOTE, quote.id)
        if opportunity is None:
            raise PermanentError("The quote has no Autotask opportunity.", field="Opportunity")
        result = {QuoteStatus.WON: "won", QuoteStatus.LOST: "lost"}.get(quote.status)
        if result is None:
            raise PermanentError(
                f"The quote is {quote.status.label.lower()}, neither won nor lost.", field="Quote"
            )
        return {
            "id": int(opportunity.remote_id),
            "stage": self._option(f"{result}_stage", f"stage when a quote is {result}"),
            "status": self._option(f"{result}_status", f"status when a quote is {result}"),
        }

    # -- sending -----------------------------------------------------------------------------

    def push(self, kind: str, items: list) -> list[PushResult]:
        if kind in (QUOTE_SYNC, TICKET):
            return [self._push_quote(item) for item in items]
        if kind == CONTACT_SYNC:
            return [self._push_contact(item) for item in items]
        return [self._push(kind, item) for item in items]

    def _push_quote(self, item: Item) -> PushResult:
        try:
            pusher = self.tickets if item.delivery.kind == TICKET else self.quotes
            remote_id, number = pusher.push(item.record, _may_have_reached(item.delivery))
        except PermanentError as error:
            return PushResult(item.key, error=error)
        return PushResult(item.key, remote_id=str(remote_id), remote_number=number[:100])

    def _push_contact(self, item: Item) -> PushResult:
        try:
            remote_id, name = contact_sync.push_contact(self.connection, self.client, item.record)
        except PermanentError as error:
            return PushResult(item.key, error=error)
        return PushResult(item.key, remote_id=remote_id or "-", remote_number=name[:100])

    def _push(self, kind: str, item: Item) -> PushResult:
        delivery, record = item.delivery, item.record
        if kind in (COMPANY, OPPORTUNITY) and "linked" in record:
            return PushResult(item.key, remote_id=record["linked"],
                              remote_number=record["name"], found_existing=True)  # fmt: skip
        found = False  # matched by our reference instead of created
        try:
            if kind == CLOSE:
                self.client.update("Opportunities", record)
                remote_id = record["id"]
                entity = "Opportunities"
            else:
                entity = "Companies" if kind == COMPANY else "Opportunities"
                remote_id = self._existing(kind, record) if _may_have_reached(delivery) else None
                found = remote_id is not None
                if remote_id is None:
                    remote_id = self.client.create(entity, record)
            stored = self.client.get(entity, remote_id)
        except PermanentError as error:
            return PushResult(item.key, error=error)
        differs = _differences(record, stored)
        if differs:
            return PushResult(
                item.key,
                error=PermanentError(
                    f"Autotask did not keep {', '.join(differs)} (it ignores what it does not "
                    "accept).",
                    field=", ".join(differs),
                    fix="Check the values chosen in Settings › PSA against Autotask, then Retry.",
                ),
            )
        number = stored.get("title") or stored.get("companyName") or str(remote_id)
        return PushResult(
            item.key,
            remote_id=str(remote_id),
            remote_number=str(number)[:100],
            found_existing=found,
        )

    def _existing(self, kind: str, record: dict) -> int | None:
        """A create that may have reached Autotask: find it by our reference first."""
        if kind == COMPANY:
            filters = [{"op": "eq", "field": "companyNumber", "value": record["companyNumber"]}]
            found = self.client.query("Companies", filters, limit=2)
        else:
            number = record["title"].split(" ", 1)[0]
            filters = [
                {"op": "eq", "field": "companyID", "value": record["companyID"]},
                {"op": "beginsWith", "field": "title", "value": f"{number} "},
            ]
            found = self.client.query("Opportunities", filters, limit=2)
        return int(found[0]["id"]) if found else None

    def describe(self, delivery: Delivery) -> str:
        if delivery.subject_type in (DOCUMENT, WON_SALE):
            from webapp.sales.models import SalesDocument

            document = db.session.get(SalesDocument, delivery.subject_id)
            return document.number if document else f"sales order #{delivery.subject_id}"
        if delivery.kind == CONTACT_SYNC:
            user = self._user(delivery) if delivery.subject_id else None
            return f"contact {user.name}" if user else f"contact #{delivery.subject_id}"
        if delivery.subject_type.startswith(QUOTE):
            quote = db.session.get(_quote_model(), delivery.subject_id)
            return quote.number if quote else f"quote #{delivery.subject_id}"
        from webapp.organizations.models import Organization

        organization = db.session.get(Organization, delivery.subject_id)
        return organization.name if organization else f"organisation #{delivery.subject_id}"

    def confirmed(self, delivery: Delivery, result: PushResult) -> str:
        if delivery.kind == CLOSE:
            return f"opportunity {result.remote_id} updated"
        if delivery.kind == QUOTE_SYNC:
            return f"Autotask quote {result.remote_number} in step"  # linked as it was made
        if delivery.kind == TICKET:
            return f"charges on ticket {result.remote_number}"
        if delivery.kind == CONTACT_SYNC:
            return f"Autotask contact {result.remote_number} in step"
        core.save_link(
            self.connection,
            delivery.subject_type,
            delivery.subject_id,
            remote_id=result.remote_id,
            remote_number=result.remote_number,
        )
        what = "matched existing" if result.found_existing else "created"
        return f"{what} {result.remote_number}"


def sharing_open(connection: PsaConnection, quote) -> list:
    """Our other open quotes on the quote's Autotask opportunity (it may carry several)."""
    from webapp.integrations.models import ExternalLink
    from webapp.quotes.models import Quote, QuoteStatus

    link = core.link_for(connection.id, QUOTE, quote.id)
    if link is None:
        return []
    closed = (QuoteStatus.WON, QuoteStatus.LOST, QuoteStatus.EXPIRED, QuoteStatus.CANCELLED)
    return db.session.scalars(
        db.select(Quote)
        .join(ExternalLink, ExternalLink.subject_id == Quote.id)
        .where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.subject_type == QUOTE,
            ExternalLink.remote_id == link.remote_id,
            Quote.id != quote.id,
            Quote.status.not_in(closed),
        )
        .order_by(Quote.id)
    ).all()


def quote_contact(connection_id: int, quote) -> int | None:
    """The Autotask contact of the quote's first recipient, when linked (webapp.psa.contacts)."""
    from webapp.psa.contacts import contact_id

    for recipient in quote.recipients:
        return contact_id(connection_id, recipient.user)
    return None


def _may_have_reached(delivery: Delivery) -> bool:
    """An earlier try of this delivery may have reached Autotask (look up before creating).

    The outbox marks every push ``maybe_sent`` before it starts, the first one too; only a
    second or later try can find what an earlier one made (one query saved per create).
    """
    return delivery.maybe_sent and delivery.attempts > 1


def _quote_model():
    from webapp.quotes.models import Quote

    return Quote


def _datetime(day) -> str:
    moment = datetime.combine(day, time(0), tzinfo=UTC) if day else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _differences(sent: dict, stored: dict) -> list[str]:
    """Fields Autotask did not store as sent (names compared case-insensitively)."""
    lowered = {k.lower(): v for k, v in stored.items()}
    differs = []
    for name, value in sent.items():
        if name in ("createDate", "projectedCloseDate") or name.lower() not in lowered:
            continue
        kept = lowered[name.lower()]
        if isinstance(value, float):
            same = kept is not None and abs(float(kept) - value) < 0.005
        else:
            same = str(kept).lower() == str(value).lower()
        if not same:
            differs.append(name)
    return differs
