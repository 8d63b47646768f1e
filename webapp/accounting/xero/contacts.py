"""Xero name lists: match our customers, suppliers and products to contacts and items."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from webapp.accounting.interfaces import (
    CustomerData,
    DeliveryKind,
    ItemData,
    PushResult,
    SupplierData,
)
from webapp.accounting.xero import mapping
from webapp.accounting.xero.records import Records, first, pick, quote

T = TypeVar("T")


class NameLists:
    """Find each of ours in Xero (our number, then Xero's unique key), create the missing."""

    def __init__(self, records: Records, exempt_tax_type: Callable[[], str]) -> None:
        self.records = records
        self.exempt_tax_type = exempt_tax_type

    def customers(self, customers: Sequence[CustomerData]) -> list[PushResult]:
        """Match each client organization to a Xero contact, creating the missing ones."""
        exempt = ""
        if any(not c.taxable for c in customers):
            exempt = self.exempt_tax_type()
        return self._contacts(
            DeliveryKind.CUSTOMER,
            customers,
            lambda c: mapping.customer_contact(c, exempt_tax_type=exempt),
            lambda c: c.account_number,
        )

    def suppliers(self, suppliers: Sequence[SupplierData]) -> list[PushResult]:
        """Match each supplier to a Xero contact, creating the missing ones."""
        return self._contacts(
            DeliveryKind.SUPPLIER,
            suppliers,
            mapping.supplier_contact,
            lambda s: s.account_number,
        )

    def _contacts(
        self,
        kind: DeliveryKind,
        items: Sequence[T],
        build: Callable[[T], dict[str, Any]],
        account_number: Callable[[T], str],
    ) -> list[PushResult]:
        conditions = []
        for data in items:
            ref = data.reference[: mapping.CONTACT_NUMBER_MAX]  # type: ignore[attr-defined]
            name = data.display_name.strip()[: mapping.NAME_MAX]  # type: ignore[attr-defined]
            conditions.append(f"ContactNumber=={quote(ref)}")
            conditions.append(f"Name=={quote(name)}")
            if account_number(data):
                conditions.append(f"AccountNumber=={quote(account_number(data))}")
        existing = self.records.lookup("Contacts", conditions)
        found: dict[str, PushResult] = {}
        pending = []
        claimed: dict[str, str] = {}  # Xero name (casefolded) -> key of the item creating it
        twins: dict[str, str] = {}  # key -> key of the item whose contact it shares
        for data in items:
            record = _match_contact(existing, data, account_number(data))
            if record is not None:
                found[data.key] = self.records.found(
                    kind, data, record, "ContactID", "ContactNumber"
                )
                continue
            element = build(data)
            name = element["Name"].casefold()
            if name in claimed:
                # Two of ours with one name: Xero names are unique, so they share the contact.
                twins[data.key] = claimed[name]
                continue
            claimed[name] = data.key
            pending.append((data, element))
        created = self.records.create(
            "Contacts",
            kind,
            pending,
            id_field="ContactID",
            number_field="ContactNumber",
            subject=lambda d: f"{kind.label.lower()} {d.display_name}",
        )
        return [pick(data.key, found, created, twins) for data in items]

    def items(self, items: Sequence[ItemData]) -> list[PushResult]:
        """Match each product to a Xero item by code (then name), creating the missing ones."""
        conditions = []
        for data in items:
            conditions.append(f"Code=={quote(mapping.item_code(data.code or data.reference))}")
        existing = self.records.lookup("Items", conditions)
        found: dict[str, PushResult] = {}
        pending = []
        claimed: dict[str, str] = {}  # Xero code (casefolded) -> key of the item creating it
        twins: dict[str, str] = {}
        for data in items:
            code = mapping.item_code(data.code or data.reference)
            record = first(
                existing, lambda r, c=code: str(r.get("Code", "")).casefold() == c.casefold()
            )
            if record is not None:
                found[data.key] = self.records.found(
                    DeliveryKind.ITEM, data, record, "ItemID", "Code"
                )
            elif code.casefold() in claimed:
                twins[data.key] = claimed[code.casefold()]
            else:
                claimed[code.casefold()] = data.key
                pending.append((data, mapping.item(data)))
        created = self.records.create(
            "Items",
            DeliveryKind.ITEM,
            pending,
            id_field="ItemID",
            number_field="Code",
            subject=lambda d: f"item {d.code or d.name}",
        )
        return [pick(data.key, found, created, twins) for data in items]


def _match_contact(
    existing: Sequence[dict[str, Any]], data: Any, account_number: str
) -> dict[str, Any] | None:
    # Our own ContactNumber first (a contact we created), then the name (Xero's unique
    # key), then the account number the admin may have typed into Xero.
    for test in (
        lambda r: mapping.contact_matches(r, reference=data.reference, name=""),
        lambda r: mapping.contact_matches(r, reference="", name=data.display_name),
        lambda r: mapping.contact_matches(r, reference="", name="", account_number=account_number),
    ):
        record = first(existing, test)
        if record is not None:
            return record
    return None
