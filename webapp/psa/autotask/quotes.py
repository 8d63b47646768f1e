"""Our quote -> an Autotask quote with its items, on the quote's opportunity (seed 001).

One push brings the Autotask quote in step with our quote as it stands: the accepted version
with the customer's choices and PO number once accepted, else the version sent, else the
working copy. Products and Services the items point at are found (by our reference) or
created first; a new QuoteLocation is made per quote from the organisation's address
(PSA-NOTES 1.2). The tax category is set only when an item is created and never sent again.

The quote we send is the opportunity's primary quote (``primaryQuote``), so the opportunity
(created with ``useQuoteTotals``) shows its totals.

No duplicates without an idempotency key: the quote carries our number in
``externalQuoteNumber``, products ``externalProductID``, services our reference in their
description; items are linked to our lines as soon as they are created, and a sync reads the
quote's items first and adopts an identical unlinked one instead of creating it again. Every
write is read back and compared (Autotask ignores what it does not accept; a Service item
takes the Service's period whatever was sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.integrations.models import ExternalLink
from webapp.psa.autotask import mapping
from webapp.psa.autotask.client import AutotaskClient
from webapp.psa.models import PsaConnection

AT_QUOTE = "at_quote"  # link: our quote -> the Autotask quote (the opportunity is "quote")
ITEM_REFS = (mapping.LINE, mapping.SHIPPING_REF, mapping.SURCHARGE_REF)
SETTINGS = "Settings › PSA › Quote items and tickets"


@dataclass
class QuoteState:
    """What the Autotask quote should show now."""

    quote: object
    snapshot: dict
    chosen: dict[str, int]
    customer_po: str
    items: list[mapping.WantedItem]
    taxable: bool


def quote_state(quote) -> QuoteState:
    """The accepted version and choices, else the version sent, else the working copy."""
    from webapp.quotes.approval import working_snapshot
    from webapp.quotes.models import DecisionOutcome, QuoteDecision
    from webapp.quotes.selection import default_selection, from_record, totals_of

    decision = db.session.scalar(
        db.select(QuoteDecision)
        .filter_by(quote_id=quote.id, outcome=DecisionOutcome.ACCEPTED)
        .order_by(QuoteDecision.id.desc())
        .limit(1)
    )
    if decision is not None:
        snapshot = decision.version.snapshot
        chosen = from_record(snapshot, decision.selection)
        po = decision.customer_po
    else:
        version = quote.current_version
        snapshot = version.snapshot if version is not None else working_snapshot(quote)
        chosen = default_selection(snapshot)
        po = ""
    totals = totals_of(snapshot, chosen).document
    picked = {c.key: c.quantity for c in chosen}
    items = mapping.wanted_items(
        snapshot, picked, surcharge=totals.surcharge, shipping=totals.shipping
    )
    taxable = Decimal(snapshot.get("default_tax_rate") or 0) > 0
    return QuoteState(quote, snapshot, picked, po, items, taxable)


def _when(day: date | str | None) -> str:
    if isinstance(day, str):
        day = date.fromisoformat(day)
    moment = datetime.combine(day or datetime.now(UTC).date(), time(0), tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _lower(record: dict) -> dict:
    return {k.lower(): v for k, v in record.items()}


def differences(sent: dict, stored: dict, skip: tuple[str, ...] = ()) -> list[str]:
    """Fields Autotask did not store as sent (names compared case-insensitively)."""
    kept = _lower(stored)
    out = []
    for name, value in sent.items():
        if name in skip or name.lower() not in kept:
            continue
        have = kept[name.lower()]
        if isinstance(value, bool) or value is None:
            same = bool(have) == bool(value) if value is not None else have in (None, "")
        elif isinstance(value, float | int):
            same = have is not None and abs(float(have) - float(value)) < 0.005
        else:
            same = str(have or "") == str(value)
        if not same:
            out.append(name)
    return out


def line_failures(failed: list[tuple[str, PermanentError]], total: int) -> PermanentError:
    """One error for a document some of whose lines could not be synced: each line named with
    why (the other lines are in Autotask; Retry sends only what is still missing or wrong)."""
    if len(failed) == 1 and total == 1:
        return failed[0][1]
    names = ", ".join(name for name, _ in failed)
    why = "; ".join(f"“{name}”: {error.message}" for name, error in failed)
    fixes = list(dict.fromkeys(error.fix for _, error in failed if error.fix))
    return PermanentError(
        f"{len(failed)} of {total} lines could not be synced (the other lines are in Autotask): "
        f"{why}",
        field="; ".join(error.field or name for name, error in failed)[:200] or names,
        fix=" ".join(fixes)
        if len(fixes) == 1
        else (
            "Fix each line as said above, then press Retry: only what is missing or wrong is "
            "sent again."
        ),
    )


class QuotePush:
    """Bring one Autotask quote in step with ours (called by the Autotask sender)."""

    def __init__(self, connection: PsaConnection, client: AutotaskClient) -> None:
        self.connection = connection
        self.client = client

    # -- configuration -----------------------------------------------------------------------

    def code(self, key: str, what: str) -> int:
        value = self.connection.option(key)
        if value in (None, ""):
            raise PermanentError(
                f"Choose the {what} in {SETTINGS}.",
                field=what,
                fix="Pick it from the list (read from Autotask), save, then press Retry.",
            )
        return int(value)

    def check_options(self, state: QuoteState) -> None:
        """Name a missing setting before anything is sent."""
        for item in state.items:
            if item.item_type == mapping.PRODUCT:
                self.code("product_material_code", "product material code")
            elif item.item_type == mapping.SERVICE:
                self.code("recurring_billing_code", "recurring service billing code")
            elif item.item_type == mapping.SHIPPING:
                self.code("shipping_type", "shipping type")
            elif item.ref_type == mapping.SURCHARGE_REF:
                self.code("surcharge_material_code", "payment surcharge material code")
            else:
                self.code("service_material_code", "non-recurring service material code")

    def tax_category(self, billing_code: int) -> int | None:
        for code in self.connection.picklists.get("BillingCodes", []):
            if code["value"] == str(billing_code) and code.get("tax_category"):
                return int(code["tax_category"])
        return None

    def shipping_code(self, shipping_type: int) -> int | None:
        for kind in self.connection.picklists.get("ShippingTypes", []):
            if kind["value"] == str(shipping_type) and kind.get("billing_code"):
                return int(kind["billing_code"])
        return None

    # -- the push ----------------------------------------------------------------------------

    def push(self, state: QuoteState, maybe_sent: bool) -> tuple[int, str]:
        quote = state.quote
        opportunity = core.link_for(self.connection.id, "quote", quote.id)
        if opportunity is None:
            raise PermanentError("The quote has no Autotask opportunity yet.", field="Opportunity")
        quote_id, created, number = self._quote(state, int(opportunity.remote_id), maybe_sent)
        existing = [] if created else self._items(quote_id)
        sent, failed = self._write_items(state, quote_id, existing)
        failed += self._read_back_items(quote_id, sent)
        if failed:
            raise line_failures(failed, len(state.items))
        return quote_id, number

    def _quote(self, state: QuoteState, opportunity_id: int, maybe_sent: bool):
        quote = state.quote
        record = {
            "name": f"{quote.number} {quote.title}"[:100],
            "expirationDate": _when(state.snapshot["expires_on"]),
            "externalQuoteNumber": quote.number,
            # An opportunity may carry several quotes and exactly one is primary: the one whose
            # totals the opportunity shows (useQuoteTotals) and the one that wins with it. The
            # quote we send is it; a re-sent version takes it back from a quote made primary
            # in Autotask meanwhile (PSA-NOTES 1.2; Autotask un-sets the others itself).
            "primaryQuote": True,
        }
        if state.customer_po:
            record["purchaseOrderNumber"] = state.customer_po[:50]
        link = core.link_for(self.connection.id, AT_QUOTE, quote.id)
        remote_id = int(link.remote_id) if link else None
        if remote_id is None and maybe_sent:
            remote_id = self._find_quote(quote.number, opportunity_id)
        created = False
        if remote_id is None:
            remote_id = self._create_quote(quote, record, opportunity_id)
            created = True
        else:
            self.client.update("Quotes", {"id": remote_id, **record})
        if link is None:
            core.save_link(self.connection, AT_QUOTE, quote.id, remote_id=str(remote_id),
                           remote_number=quote.number)  # fmt: skip
            db.session.flush()
        stored = self.client.get("Quotes", remote_id)
        differs = differences(record, stored, skip=("expirationDate",))
        if differs:
            raise PermanentError(
                f"Autotask did not keep the quote's {', '.join(differs)}.",
                field=", ".join(differs),
                fix="Check the quote in Autotask, then press Retry.",
            )
        return remote_id, created, str(stored.get("quoteNumber") or stored.get("name") or remote_id)

    def _find_quote(self, number: str, opportunity_id: int) -> int | None:
        found = self.client.query(
            "Quotes",
            [
                {"op": "eq", "field": "externalQuoteNumber", "value": number},
                {"op": "eq", "field": "opportunityID", "value": opportunity_id},
            ],
            limit=2,
        )
        return int(found[0]["id"]) if found else None

    def _create_quote(self, quote, record: dict, opportunity_id: int) -> int:
        location = self.client.create("QuoteLocations", mapping.location_record(quote.organization))
        company = core.link_for(self.connection.id, "organization", quote.organization_id)
        full = {
            **record,
            "opportunityID": opportunity_id,
            "effectiveDate": _when(None),
            "billToLocationID": location,
            "shipToLocationID": location,
            "soldToLocationID": location,
            "description": (quote.intro or "")[:2000],
        }
        from webapp.psa.sync import quote_contact

        contact = quote_contact(self.connection.id, quote)
        if contact is not None:
            full["contactID"] = contact
        if company is not None:
            # The tax region is the company's default (seed 001), set when the quote is made;
            # read once per company and kept on its link ("-" for none).
            if not company.version:
                region = self.client.get("Companies", int(company.remote_id)).get("taxRegionID")
                company.version = str(region or "-")
            if company.version != "-":
                full["taxRegionID"] = int(company.version)
        return self.client.create("Quotes", full)

    def _items(self, quote_id: int) -> list[dict]:
        return self.client.query(
            "QuoteItems", [{"op": "eq", "field": "quoteID", "value": quote_id}]
        )

    def _target(self, item: mapping.WantedItem) -> tuple[int, int]:
        """(id the item points at, billing code whose tax category it takes)."""
        if item.item_type == mapping.PRODUCT:
            code = self.code("product_material_code", "product material code")
            return self._product(item.line, code), code
        if item.item_type == mapping.SERVICE:
            code = self.code("recurring_billing_code", "recurring service billing code")
            return self._service(item.line, code), code
        if item.item_type == mapping.SHIPPING:
            kind = self.code("shipping_type", "shipping type")
            return kind, self.shipping_code(kind) or 0
        if item.ref_type == mapping.SURCHARGE_REF:
            code = self.code("surcharge_material_code", "payment surcharge material code")
            return code, code
        code = self.code("service_material_code", "non-recurring service material code")
        return code, code

    def _write_items(self, state: QuoteState, quote_id: int, existing: list[dict]) -> list:
        by_id = {int(i["id"]): i for i in existing}
        claimed: set[int] = set()
        sent = []
        failed: list[tuple[str, PermanentError]] = []
        for item in state.items:
            try:
                sent.append(self._write_item(state, quote_id, item, by_id, claimed))
            except PermanentError as error:  # this line only: the others are still synced
                failed.append((item.name, error))
                link = core.link_for(self.connection.id, item.ref_type, item.ref_id)
                if link is not None and link.remote_id.isdigit():
                    claimed.add(int(link.remote_id))  # its item stays as it was
        self._remove_dropped(quote_id, by_id, claimed)
        return sent, failed

    def _write_item(self, state: QuoteState, quote_id: int, item, by_id: dict, claimed: set):
        target, code = self._target(item)
        record = mapping.item_record(item, target)
        record["isTaxable"] = state.taxable and (
            item.line is None or Decimal(item.line["tax_rate"]) > 0
        )
        link = core.link_for(self.connection.id, item.ref_type, item.ref_id)
        current = by_id.get(int(link.remote_id)) if link else None
        if current is None:
            current = _same(record, by_id, claimed)  # a create whose answer was lost
        if current is not None and int(current.get("quoteItemType") or 0) != item.item_type:
            # Recurring <-> one-off: the item changes type, so it is replaced (seed 001).
            self.client.delete_child("Quotes", quote_id, "Items", int(current["id"]))
            current = None
        if current is not None:
            item_id = int(current["id"])
            self.client.update_child("Quotes", quote_id, "Items", {"id": item_id, **record})
        else:
            tax = self.tax_category(code) if code else None
            if tax:
                record["taxCategoryID"] = tax  # only at creation (seed 001)
            item_id = self.client.create_child("Quotes", quote_id, "Items", record)
        claimed.add(item_id)
        core.save_link(self.connection, item.ref_type, item.ref_id, remote_id=str(item_id),
                       remote_number=str(item.item_type))  # fmt: skip
        db.session.flush()
        return item, item_id, record

    def _remove_dropped(self, quote_id: int, by_id: dict, claimed: set[int]) -> None:
        """Items of lines that are gone (only ours: items staff added in Autotask stay)."""
        left = [str(i) for i in by_id if i not in claimed]
        if not left:
            return
        ours = db.session.scalars(
            db.select(ExternalLink).where(
                ExternalLink.connection_id == self.connection.id,
                ExternalLink.subject_type.in_(ITEM_REFS),
                ExternalLink.remote_id.in_(left),
            )
        ).all()
        for link in ours:
            self.client.delete_child("Quotes", quote_id, "Items", int(link.remote_id))
            db.session.delete(link)
        db.session.flush()

    def _read_back_items(self, quote_id: int, sent: list) -> list[tuple[str, PermanentError]]:
        """(line name, what Autotask did not keep) for each item sent (none: all kept)."""
        stored = {int(i["id"]): i for i in self._items(quote_id)}
        failed = []
        for item, item_id, record in sent:
            try:
                self._check_item(item, stored.get(item_id), record)
            except PermanentError as error:
                failed.append((item.name, error))
        return failed

    def _check_item(self, item, kept: dict | None, record: dict) -> None:
        if kept is None:
            raise PermanentError(f"Autotask did not keep the item “{item.name}”.", field=item.name)
        if item.item_type == mapping.SERVICE and int(kept.get("periodType") or 0) != (item.period):
            have = mapping.PERIOD_LABEL.get(int(kept.get("periodType") or 0), "another")
            raise PermanentError(
                f"Autotask bills “{item.name}” {have}, not "
                f"{mapping.PERIOD_LABEL[item.period]}: a Service item takes the period of "
                "its Service.",
                field=f"{item.name}: period",
                fix="Set the Service's period in Autotask to match the quote line (or "
                "change the line), then press Retry.",
            )
        differs = differences(record, kept, skip=("periodType", "taxCategoryID"))
        if differs:
            raise PermanentError(
                f"Autotask did not keep {', '.join(differs)} of “{item.name}”.",
                field=f"{item.name}: {', '.join(differs)}",
                fix=f"Check the values chosen in {SETTINGS}, then press Retry.",
            )

    # -- what items point at -----------------------------------------------------------------

    def _product(self, line: dict, material_code: int) -> int:
        from webapp.catalog.models import Product

        product_id = line["product_id"]
        subject = ("product", product_id) if product_id else ("quote_line", mapping.line_id(line))
        product = db.session.get(Product, product_id) if product_id else None
        category = mapping.autotask_category(self.connection, product)
        return self.ensure_product(
            subject,
            lambda ref: mapping.product_record(line, product, material_code, ref, category),
        )

    def ensure_product(self, subject: tuple[str, int], build) -> int:
        """The Autotask Product standing for ``subject``: linked, found by our reference in
        ``externalProductID``, or created (``build(ref)`` gives its record) and read back."""
        return self.ensure_product_code(subject, build)[0]

    def ensure_product_code(self, subject: tuple[str, int], build) -> tuple[int, int]:
        """``ensure_product``, with the product's material code (kept on the link)."""
        link = core.link_for(self.connection.id, *subject)
        if link is not None and link.version:
            return int(link.remote_id), int(link.version)
        if link is not None:
            stored = self.client.get("Products", int(link.remote_id))
            link.version = str(stored.get("productBillingCodeID") or "")
            return int(link.remote_id), int(link.version or 0)
        ref = mapping.reference("P", *subject)
        found = self.client.query(
            "Products", [{"op": "eq", "field": "externalProductID", "value": ref}], limit=1
        )
        if found:
            remote_id = int(found[0]["id"])
            code = int(found[0].get("productBillingCodeID") or 0)
        else:
            record = build(ref)
            remote_id = self.client.create("Products", record)
            self._compare("Products", remote_id, record, record["name"])
            code = record["productBillingCodeID"]
        core.save_link(self.connection, *subject, remote_id=str(remote_id), remote_number=ref,
                       version=str(code))  # fmt: skip
        db.session.flush()
        return remote_id, code

    def _service(self, line: dict, billing_code: int) -> int:
        product_id = line["product_id"]
        # Custom lines of the same name share a Service (the item carries its own price).
        where = ("p", product_id) if product_id else ("d", mapping.name_key(line["description"]))
        subject = (f"at_service_{line['recurrence']}_{where[0]}", where[1])
        link = core.link_for(self.connection.id, *subject)
        if link is not None:
            return int(link.remote_id)
        ref = mapping.reference("S", *subject, extra=line["recurrence"])
        found = self.client.query(
            "Services", [{"op": "eq", "field": "description", "value": ref}], limit=1
        )
        if found:
            remote_id = int(found[0]["id"])
        else:
            record = mapping.service_record(line, billing_code, ref)
            remote_id = self.client.create("Services", record)
            self._compare("Services", remote_id, record, line["description"])
        core.save_link(self.connection, *subject, remote_id=str(remote_id), remote_number=ref)
        db.session.flush()
        return remote_id

    def _compare(self, entity: str, remote_id: int, record: dict, what: str) -> None:
        differs = differences(record, self.client.get(entity, remote_id))
        if differs:
            raise PermanentError(
                f"Autotask did not keep {', '.join(differs)} of the {entity[:-1].lower()} "
                f"“{what}”.",
                field=f"{what}: {', '.join(differs)}",
                fix=f"Check the values chosen in {SETTINGS}, then press Retry.",
            )


def _same(record: dict, by_id: dict[int, dict], claimed: set[int]) -> dict | None:
    """An unlinked item identical in type, target, name and quantity (created, answer lost)."""
    keys = ("quoteItemType", *mapping.ITEM_ID_FIELD.values(), "name", "quantity")
    wanted = {k.lower(): record.get(k) for k in keys}
    for item_id, item in by_id.items():
        if item_id in claimed:
            continue
        have = _lower(item)
        if all((have.get(k) or None) == (v or None) for k, v in wanted.items()):
            return item
    return None
