"""Xero sandbox writes of documents: invoices, bills, purchase orders, their lines and totals."""

# Facts come from shared/specs/API-NOTES.md section 2 ("API-NOTES 2.x" below) and the OpenAPI
# documents in shared/specs/xero/. Behaviour marked "(recalled)" is Xero behaviour that
# API-NOTES does not document; it is modelled from memory of Xero's docs and may differ.

from __future__ import annotations

import uuid
from typing import Any

from .xero_base import (
    Tenant,
)


class XeroDocuments:
    """Saving invoices and purchase orders of a ``XeroSandbox`` (a mixin)."""

    def _save_invoices(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        return self._save_document(tenant, "Invoices", data, existing, opts)

    def _save_purchaseorders(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        return self._save_document(tenant, "PurchaseOrders", data, existing, opts)

    def _save_document(
        self, tenant: Tenant, coll: str, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        invoice = coll == "Invoices"
        if existing is not None and existing.get("Status") in (
            "PAID",
            "VOIDED",
            "DELETED",
            "BILLED",
        ):
            return [f"Document is {existing['Status']} and cannot be modified (recalled)"], None
        record = {**(existing or {}), **data}
        errors: list[str] = []
        creatable = ("DRAFT", "SUBMITTED", "AUTHORISED")
        record.setdefault("Status", "DRAFT")
        status = record["Status"]
        if existing is None and status not in creatable:
            errors.append(f"Status {status} cannot be used when creating a document")
        if existing is not None and invoice and status != existing.get("Status"):
            errors += self._status_change_errors(existing, status)
        if invoice and not record.get("Type"):
            errors.append("Type is required (ACCREC or ACCPAY) (API-NOTES 2.3)")
        elif invoice and record["Type"] not in ("ACCREC", "ACCPAY"):
            errors.append(f"Type {record['Type']} is not an invoice type; use CreditNotes etc.")
        if invoice and status in ("SUBMITTED", "AUTHORISED") and not record.get("DueDate"):
            # The API does not apply payment terms on create: an approved invoice without a
            # DueDate is refused (recalled; Xero's "Due Date is required" validation).
            errors.append("Due Date is required when the invoice is submitted or approved")
        if coll == "PurchaseOrders" and not record.get("Date"):
            errors.append("Date is required for a purchase order (API-NOTES 2.3)")
        doc_date = str(record.get("Date") or self.today())[:10]
        if self.lock_date and doc_date <= self.lock_date:
            # Wording as Xero's lock-date rejection is quoted on its forums (recalled).
            errors.append(
                f"The document date cannot be before the period lock date of {self.lock_date}."
            )
        contact, contact_error = self._resolve_contact(tenant, record.get("Contact"))
        if contact_error:
            errors.append(contact_error)
        lines = record.get("LineItems") or []
        if status in ("SUBMITTED", "AUTHORISED") and not lines:
            errors.append("At least one line item is required before a document is approved")
        doc_type = record.get("Type", "ACCPAY")
        for i, line in enumerate(lines):
            errors += [
                f"LineItems[{i}]: {m}"
                for m in self._line_errors(tenant, line, status, doc_type, coll)
            ]
        number_field = "InvoiceNumber" if invoice else "PurchaseOrderNumber"
        number = record.get(number_field)
        if number and (doc_type == "ACCREC" or not invoice):
            for other in tenant.ledger[coll].values():
                same = str(other.get(number_field, "")).casefold() == str(number).casefold()
                if same and other is not existing and other.get("Type") == record.get("Type"):
                    errors.append(f"{number_field} must be unique: {number} (recalled)")
        if errors:
            return errors, None
        assert contact is not None
        if contact.get("ContactID") is None:
            contact["ContactID"] = str(uuid.uuid4())
            contact.update(
                ContactStatus="ACTIVE",
                Addresses=[],
                Phones=[],
                ContactPersons=[],
                IsSupplier=False,
                IsCustomer=False,
                UpdatedDateUTC=self.clock.now(),
            )
            tenant.ledger["Contacts"][contact["ContactID"]] = contact
        if doc_type == "ACCREC" and invoice:
            contact["IsCustomer"] = True
        else:
            contact["IsSupplier"] = True
        record["Contact"] = {k: contact[k] for k in ("ContactID", "Name") if k in contact}
        record.setdefault("Date", self.today())
        record.setdefault("LineAmountTypes", "Exclusive")
        record.setdefault("CurrencyCode", self.base_currency)
        record.setdefault("CurrencyRate", 1.0)
        record.setdefault("HasAttachments", False)
        if not number and (doc_type == "ACCREC" or not invoice):
            # ACCREC invoices and POs are numbered by Xero when no number is sent.
            prefix = "INV" if invoice else "PO"
            tenant.counters[coll] = tenant.counters.get(coll, 0) + 1
            record[number_field] = f"{prefix}-{tenant.counters[coll]:04d}"
        self._totals(tenant, record, opts.get("unitdp", 2))
        if invoice:
            record.setdefault("AmountPaid", 0.0)
            record.setdefault("AmountCredited", 0.0)
            record["AmountDue"] = round(
                record["Total"] - record["AmountPaid"] - record["AmountCredited"], 2
            )
            if status in ("VOIDED", "DELETED"):
                record["AmountDue"] = 0.0
            record.setdefault("Payments", [])
            record.setdefault("CreditNotes", [])
            record["HasErrors"] = False
        return [], record

    @staticmethod
    def _status_change_errors(existing: dict[str, Any], status: str) -> list[str]:
        """Xero's invoice status rules (https://developer.xero.com/documentation/api/accounting/invoices):
        DRAFT / SUBMITTED invoices are DELETED, AUTHORISED ones VOIDED, and only while no
        payment or credit note is allocated to them (wording recalled)."""
        current = existing.get("Status")
        if status == "DELETED" and current not in ("DRAFT", "SUBMITTED"):
            return [f"A {current} invoice cannot be deleted; void it instead"]
        if status == "VOIDED":
            if current != "AUTHORISED":
                return [f"Only AUTHORISED invoices can be voided; delete a {current} one"]
            if existing.get("AmountPaid") or existing.get("AmountCredited"):
                return [
                    "This document cannot be voided as it has a payment or credit note "
                    "allocated to it"
                ]
        return []

    def _resolve_contact(self, tenant: Tenant, ref: Any) -> tuple[dict[str, Any] | None, str]:
        if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
            return None, "A Contact (ContactID or Name) must be specified (API-NOTES 2.3)"
        if ref.get("ContactID"):
            found = tenant.ledger["Contacts"].get(ref["ContactID"])
            if found is None:
                return None, f"Contact {ref['ContactID']} could not be found"
            return found, ""
        # A Contact given by Name links to the existing contact or creates one (recalled).
        found = self._find(tenant, "Contacts", "Name", ref["Name"])
        return (found or {"Name": ref["Name"]}), ""

    def _line_errors(
        self, tenant: Tenant, line: dict[str, Any], status: str, doc_type: str, coll: str
    ) -> list[str]:
        errors = []
        item = self._find(tenant, "Items", "Code", line.get("ItemCode"))
        if line.get("ItemCode") and item is None:
            errors.append(f"Item code '{line['ItemCode']}' is not valid")
        if not line.get("Description") and item is None:
            errors.append("Description is required when no ItemCode is given (recalled)")
        if line.get("AccountCode") and not self._account(tenant, line["AccountCode"]):
            errors.append(
                f"Account code '{line['AccountCode']}' is not a valid code for this document."
            )
        side = "SalesDetails" if doc_type == "ACCREC" else "PurchaseDetails"
        item_account = ((item or {}).get(side) or {}).get("AccountCode")
        if (
            status in ("SUBMITTED", "AUTHORISED")
            and not line.get("AccountCode")
            and not item_account
        ):
            errors.append("An AccountCode is required on every line of an approved document")
        if line.get("TaxType") and line["TaxType"] not in tenant.ledger["TaxRates"]:
            # API-NOTES 2.3: a line TaxType must be a TaxRates code.
            errors.append(
                f"The TaxType code '{line['TaxType']}' does not exist or cannot be "
                "used for this type of transaction."
            )
        if len(line.get("Tracking") or []) > 2:
            errors.append("A line can have at most two tracking categories (API-NOTES 2.3)")
        if (doc_type == "ACCPAY" or coll == "PurchaseOrders") and (
            line.get("DiscountRate") or line.get("DiscountAmount")
        ):
            errors.append("Discounts are not supported on ACCPAY documents (API-NOTES 2.3)")
        if "LineAmount" in line:
            qty = line.get("Quantity", 1)
            expected = qty * line.get("UnitAmount", 0) * (1 - line.get("DiscountRate", 0) / 100)
            expected -= line.get("DiscountAmount", 0)
            if abs(round(expected, 2) - line["LineAmount"]) > 0.01:
                errors.append(
                    f"LineAmount {line['LineAmount']} does not equal Quantity x "
                    f"UnitAmount ({round(expected, 2)}) (recalled)"
                )
        return errors

    def _totals(self, tenant: Tenant, record: dict[str, Any], unitdp: int) -> None:
        sub_total = total_tax = 0.0
        mode = record.get("LineAmountTypes", "Exclusive")
        for line in record.get("LineItems") or []:
            line.setdefault("LineItemID", str(uuid.uuid4()))
            line.setdefault("Quantity", 1.0)
            # API-NOTES 2.1: unit amounts are rounded to 2 dp unless unitdp=4.
            line["UnitAmount"] = round(line.get("UnitAmount", 0.0), 4 if unitdp == 4 else 2)
            amount = line["Quantity"] * line["UnitAmount"]
            amount *= 1 - line.get("DiscountRate", 0) / 100
            amount = round(amount - line.get("DiscountAmount", 0), 2)
            line["LineAmount"] = amount
            if not line.get("TaxType"):
                # Xero takes a missing line TaxType from the item, else from the line's account
                # (Account.TaxType "the default tax type of the account"), else NONE.
                item = self._find(tenant, "Items", "Code", line.get("ItemCode")) or {}
                side = (
                    "SalesDetails"
                    if record.get("Type") in ("ACCREC", "ACCRECCREDIT")
                    else "PurchaseDetails"
                )
                account = self._account(tenant, line.get("AccountCode")) or {}
                line["TaxType"] = (
                    (item.get(side) or {}).get("TaxType") or account.get("TaxType") or "NONE"
                )
            rate = tenant.ledger["TaxRates"].get(line["TaxType"], {}).get("EffectiveRate", 0.0)
            if mode == "Exclusive":
                tax = round(amount * rate / 100, 2)
                sub_total += amount
            elif mode == "Inclusive":
                tax = round(amount - amount / (1 + rate / 100), 2)
                sub_total += amount - tax
            else:
                tax = 0.0
                sub_total += amount
            given = line.get("TaxAmount")
            if isinstance(given, int | float) and mode != "NoTax":
                # LineItem.TaxAmount "can be overriden if the calculated TaxAmount is not
                # correct" (xero_accounting.yaml): a sent amount replaces the computed one.
                if mode == "Inclusive":
                    sub_total += tax - round(given, 2)
                tax = round(given, 2)
            line["TaxAmount"] = tax
            total_tax += tax
            line.setdefault("Tracking", [])
        record["SubTotal"] = round(sub_total, 2)
        record["TotalTax"] = round(total_tax, 2)
        record["Total"] = round(sub_total + total_tax, 2)
