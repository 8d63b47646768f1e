"""Xero sandbox money: payments, refunds, overpayments, credit notes and allocations."""

# Facts come from shared/specs/API-NOTES.md section 2 ("API-NOTES 2.x" below) and the OpenAPI
# documents in shared/specs/xero/. Behaviour marked "(recalled)" is Xero behaviour that
# API-NOTES does not document; it is modelled from memory of Xero's docs and may differ.

from __future__ import annotations

import copy
import uuid
from typing import Any, ClassVar

from .xero_base import (
    COLLECTIONS,
    Tenant,
    XeroApiError,
    allocation_error,
    render,
    validation_error,
)


class XeroMoney:
    """Payments and credit of a ``XeroSandbox``, by API and as a user enters them (a mixin)."""

    def record_payment(
        self,
        invoice_id: str,
        amount: float,
        account_code: str = "090",
        tenant_id: str | None = None,
        pay_date: str | None = None,
    ) -> dict[str, Any]:
        """Record a payment as if a user entered it in Xero (for polling tests)."""
        body = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": account_code},
            "Amount": amount,
            "Date": pay_date or self.today(),
        }
        with self._lock:
            errors, record = self._save(
                self.tenants[tenant_id or self.tenant_id], COLLECTIONS["payments"], body, "PUT", {}
            )
        if errors:
            raise ValueError(errors)
        assert record is not None
        return render(copy.deepcopy(record))

    def delete_payment(
        self, payment_id: str, tenant_id: str | None = None, *, days_ago: float = 0
    ) -> dict[str, Any]:
        """Delete a payment as a user would in Xero (``POST /Payments/{id}`` Status DELETED).

        ``days_ago`` dates the deletion (its ``UpdatedDateUTC``) in the past.
        """
        body = {"PaymentID": payment_id, "Status": "DELETED"}
        with self._lock:
            errors, record = self._save(
                self.tenants[tenant_id or self.tenant_id], COLLECTIONS["payments"], body, "POST", {}
            )
            if record is not None and days_ago:
                record["UpdatedDateUTC"] = self.clock.now() - days_ago * 86400
        if errors:
            raise ValueError(errors)
        assert record is not None
        return render(copy.deepcopy(record))

    def refund_overpayment(
        self,
        overpayment_id: str,
        amount: float,
        account_code: str = "090",
        tenant_id: str | None = None,
    ) -> dict[str, Any]:
        """Pay a customer back out of an overpayment's credit, as ``PUT /Payments`` would."""
        body = {
            "Overpayment": {"OverpaymentID": overpayment_id},
            "Account": {"Code": account_code},
            "Amount": amount,
            "Date": self.today(),
        }
        with self._lock:
            errors, record = self._save(
                self.tenants[tenant_id or self.tenant_id], COLLECTIONS["payments"], body, "PUT", {}
            )
        if errors:
            raise ValueError(errors)
        assert record is not None
        return render(copy.deepcopy(record))

    def record_overpayment(
        self,
        invoice_id: str,
        total: float,
        allocated: float,
        tenant_id: str | None = None,
        on: str | None = None,
    ) -> dict[str, Any]:
        """Record a customer's overpayment as if a user entered it in Xero and allocated part.

        A RECEIVE-OVERPAYMENT of ``total`` from the invoice's contact, ``allocated`` of it
        applied to the invoice (schema Overpayment: Allocations, RemainingCredit).
        """
        tenant = self.tenants[tenant_id or self.tenant_id]
        with self._lock:
            invoice = tenant.ledger["Invoices"][invoice_id]
            overpayment_id = str(uuid.uuid4())
            tenant.ledger["Overpayments"][overpayment_id] = {
                "OverpaymentID": overpayment_id,
                "Type": "RECEIVE-OVERPAYMENT",
                "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
                "Date": on or self.today(),
                "Status": "AUTHORISED",
                "LineAmountTypes": "Inclusive",
                "SubTotal": total,
                "TotalTax": 0.0,
                "Total": total,
                "CurrencyCode": invoice.get("CurrencyCode", "USD"),
                "RemainingCredit": total,
                "AppliedAmount": 0.0,
                "Allocations": [],
                "Payments": [],
                "UpdatedDateUTC": self.clock.now(),
            }
        try:
            return self.allocate_overpayment(overpayment_id, invoice_id, allocated, tenant_id, on)
        except ValueError:
            del tenant.ledger["Overpayments"][overpayment_id]  # refused: nothing is kept
            raise

    def allocate_overpayment(
        self,
        overpayment_id: str,
        invoice_id: str,
        amount: float,
        tenant_id: str | None = None,
        on: str | None = None,
    ) -> dict[str, Any]:
        """Apply overpayment credit to an invoice, as ``PUT /Overpayments/{id}/Allocations``.

        Like a credit-note allocation it cannot exceed what the invoice owes nor the credit
        left, and the invoice must be an AUTHORISED ACCREC one of the same contact.
        """
        tenant = self.tenants[tenant_id or self.tenant_id]
        on = on or self.today()
        with self._lock:
            overpayment = tenant.ledger["Overpayments"][overpayment_id]
            invoice = tenant.ledger["Invoices"][invoice_id]
            error = allocation_error(overpayment, "overpayment", invoice, amount)
            if error:
                raise ValueError(error)
            invoice["AmountCredited"] = round(invoice.get("AmountCredited", 0) + amount, 2)
            invoice["AmountDue"] = round(
                invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"], 2
            )
            invoice.setdefault("Overpayments", []).append(
                {"OverpaymentID": overpayment_id, "AppliedAmount": amount, "Date": on}
            )
            if invoice["AmountDue"] <= 0:
                invoice["Status"] = "PAID"
                invoice["FullyPaidOnDate"] = on
            invoice["UpdatedDateUTC"] = self.clock.now()
            overpayment["Allocations"].append(
                {
                    "AllocationID": str(uuid.uuid4()),
                    "Amount": amount,
                    "Date": on,
                    "Invoice": {
                        "InvoiceID": invoice_id,
                        "InvoiceNumber": invoice.get("InvoiceNumber"),
                    },
                }
            )
            overpayment["RemainingCredit"] = round(overpayment["RemainingCredit"] - amount, 2)
            overpayment["AppliedAmount"] = round(overpayment["AppliedAmount"] + amount, 2)
            if overpayment["RemainingCredit"] <= 0:
                overpayment["Status"] = "PAID"
            overpayment["UpdatedDateUTC"] = self.clock.now()
            return render(copy.deepcopy(overpayment))

    def delete_overpayment_allocation(
        self, overpayment_id: str, allocation_id: str, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Undo one allocation, as ``DELETE /Overpayments/{id}/Allocations/{AllocationID}``.

        xero_accounting.yaml deleteOverpaymentAllocations: the allocation goes, the invoice
        owes that amount again and the overpayment has it back as credit.
        """
        tenant = self.tenants[tenant_id or self.tenant_id]
        with self._lock:
            overpayment = tenant.ledger["Overpayments"][overpayment_id]
            allocation = next(
                a for a in overpayment["Allocations"] if a["AllocationID"] == allocation_id
            )
            overpayment["Allocations"].remove(allocation)
            invoice = tenant.ledger["Invoices"][allocation["Invoice"]["InvoiceID"]]
            amount = allocation["Amount"]
            invoice["AmountCredited"] = round(invoice.get("AmountCredited", 0) - amount, 2)
            invoice["AmountDue"] = round(
                invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"], 2
            )
            applied = [
                o for o in invoice.get("Overpayments", []) if o["OverpaymentID"] == overpayment_id
            ]
            if applied:
                invoice["Overpayments"].remove(applied[0])
            if invoice["Status"] == "PAID" and invoice["AmountDue"] > 0:
                invoice["Status"] = "AUTHORISED"
                invoice.pop("FullyPaidOnDate", None)
            invoice["UpdatedDateUTC"] = self.clock.now()
            overpayment["RemainingCredit"] = round(overpayment["RemainingCredit"] + amount, 2)
            overpayment["AppliedAmount"] = round(overpayment["AppliedAmount"] - amount, 2)
            overpayment["Status"] = "AUTHORISED"
            overpayment["UpdatedDateUTC"] = self.clock.now()
            return render(copy.deepcopy(overpayment))

    def _save_creditnotes(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Create a credit note (xero_accounting.yaml CreditNote); edits are not modelled."""
        if existing is not None:
            return ["Editing a credit note is not supported by the sandbox"], None
        record = dict(data)
        record.setdefault("Status", "DRAFT")
        status = record["Status"]
        errors: list[str] = []
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            errors.append(f"Status {status} cannot be used when creating a credit note")
        if record.get("Type") not in ("ACCRECCREDIT", "ACCPAYCREDIT"):
            errors.append("Type is required (ACCRECCREDIT or ACCPAYCREDIT)")
        doc_date = str(record.get("Date") or self.today())[:10]
        if self.lock_date and doc_date <= self.lock_date:
            errors.append(
                f"The document date cannot be before the period lock date of {self.lock_date}."
            )
        contact, contact_error = self._resolve_contact(tenant, record.get("Contact"))
        if contact_error:
            errors.append(contact_error)
        lines = record.get("LineItems") or []
        if status in ("SUBMITTED", "AUTHORISED") and not lines:
            errors.append("At least one line item is required before a document is approved")
        doc_type = "ACCREC" if record.get("Type") == "ACCRECCREDIT" else "ACCPAY"
        for i, line in enumerate(lines):
            errors += [
                f"LineItems[{i}]: {m}"
                for m in self._line_errors(tenant, line, status, doc_type, "CreditNotes")
            ]
        if errors:
            return errors, None
        if contact is None or contact.get("ContactID") is None:
            return [f"Contact {record['Contact'].get('Name')} could not be found"], None
        record["Contact"] = {k: contact[k] for k in ("ContactID", "Name") if k in contact}
        record.setdefault("Date", self.today())
        record.setdefault("LineAmountTypes", "Exclusive")
        record.setdefault("CurrencyCode", self.base_currency)
        record.setdefault("CurrencyRate", 1.0)
        record.setdefault("HasAttachments", False)
        if not record.get("CreditNoteNumber") and doc_type == "ACCREC":
            tenant.counters["CreditNotes"] = tenant.counters.get("CreditNotes", 0) + 1
            record["CreditNoteNumber"] = f"CN-{tenant.counters['CreditNotes']:04d}"
        self._totals(tenant, record, opts.get("unitdp", 2))
        record["Allocations"] = []
        record["RemainingCredit"] = record["Total"]
        record["AppliedAmount"] = 0.0
        record["HasErrors"] = False
        return [], record

    def allocate_credit_note(
        self, tenant: Tenant, credit_note_id: str, body: Any
    ) -> dict[str, Any]:
        """``PUT /CreditNotes/{id}/Allocations``: apply credit to invoices (schema Allocations).

        Both must be AUTHORISED, of one contact and of matching type; an allocation cannot
        exceed what the invoice owes nor the credit left (wording recalled).
        """
        problems = self.spec.problems("Allocations", body)
        if problems:
            raise validation_error(
                [{"ValidationErrors": [{"Message": p.message} for p in problems]}]
            )
        allocations = body.get("Allocations") if isinstance(body, dict) else None
        if not isinstance(allocations, list) or not allocations:
            raise validation_error(
                [{"ValidationErrors": [{"Message": "Allocations: at least one is required"}]}]
            )
        with self._lock:
            note = tenant.ledger["CreditNotes"].get(credit_note_id)
            if note is None:
                raise XeroApiError(
                    404,
                    {
                        "Type": "NotFoundException",
                        "Message": "The resource you're looking for cannot be found",
                    },
                )
            errors: list[str] = []
            remaining = note["RemainingCredit"]
            plan = []
            for allocation in allocations:
                ref = allocation.get("Invoice") or {}
                invoice = tenant.ledger["Invoices"].get(ref.get("InvoiceID") or "")
                amount = allocation.get("Amount", 0)
                error = allocation_error(note, "credit note", invoice, amount, remaining)
                if error:
                    errors.append(error)
                else:
                    remaining -= amount
                    plan.append((invoice, amount, str(allocation.get("Date") or self.today())))
            if errors:
                raise validation_error([{"ValidationErrors": [{"Message": m} for m in errors]}])
            rows = []
            for invoice, amount, on in plan:
                allocation_id = str(uuid.uuid4())
                invoice["AmountCredited"] = round(invoice.get("AmountCredited", 0) + amount, 2)
                invoice["AmountDue"] = round(
                    invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"], 2
                )
                invoice.setdefault("CreditNotes", []).append(
                    {
                        "CreditNoteID": note["CreditNoteID"],
                        "CreditNoteNumber": note.get("CreditNoteNumber"),
                        "AppliedAmount": amount,
                    }
                )
                if invoice["AmountDue"] <= 0:
                    invoice["Status"] = "PAID"
                    invoice["FullyPaidOnDate"] = on
                invoice["UpdatedDateUTC"] = self.clock.now()
                row = {
                    "AllocationID": allocation_id,
                    "Amount": amount,
                    "Date": on,
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                }
                note["Allocations"].append(row)
                rows.append({**row, "CreditNote": {"CreditNoteID": note["CreditNoteID"]}})
            note["RemainingCredit"] = round(remaining, 2)
            note["AppliedAmount"] = round(note["Total"] - note["RemainingCredit"], 2)
            if note["RemainingCredit"] <= 0:
                note["Status"] = "PAID"
            note["UpdatedDateUTC"] = self.clock.now()
            return self.envelope("Allocations", [render(copy.deepcopy(r)) for r in rows])

    def _save_payments(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        if existing is not None:
            # POST /Payments/{PaymentID} {"Status": "DELETED"} deletes it (xero_accounting.yaml
            # deletePayment, PaymentDelete); anything else is an edit, which Xero refuses.
            if {k: v for k, v in data.items() if k != "PaymentID"} != {"Status": "DELETED"}:
                return ["Payments can only be created or deleted, not edited (recalled)"], None
            if existing.get("Status") == "DELETED":
                return ["This payment has already been deleted"], None
            if existing.get("PaymentType") == "AROVERPAYMENTPAYMENT":
                # A refund deleted: the credit is the customer's again.
                overpayment = tenant.ledger["Overpayments"][
                    existing["Overpayment"]["OverpaymentID"]
                ]
                overpayment["RemainingCredit"] = round(
                    overpayment["RemainingCredit"] + existing["Amount"], 2
                )
                overpayment["Payments"] = [
                    p
                    for p in overpayment["Payments"]
                    if p.get("PaymentID") != existing["PaymentID"]
                ]
                overpayment["Status"] = "AUTHORISED"
                overpayment["UpdatedDateUTC"] = self.clock.now()
                return [], {**existing, "Status": "DELETED"}
            invoice = tenant.ledger["Invoices"][existing["Invoice"]["InvoiceID"]]
            invoice["AmountPaid"] = round(invoice["AmountPaid"] - existing["Amount"], 2)
            invoice["AmountDue"] = round(
                invoice["Total"] - invoice["AmountPaid"] - invoice.get("AmountCredited", 0), 2
            )
            if invoice["Status"] == "PAID" and invoice["AmountDue"] > 0:
                invoice["Status"] = "AUTHORISED"
                invoice.pop("FullyPaidOnDate", None)
            invoice["Payments"] = [
                p for p in invoice["Payments"] if p.get("PaymentID") != existing["PaymentID"]
            ]
            invoice["UpdatedDateUTC"] = self.clock.now()
            return [], {**existing, "Status": "DELETED"}
        if "Overpayment" in data and "Invoice" not in data:
            return self._refund_overpayment(tenant, data, opts["id"])
        ref = data.get("Invoice") or {}
        invoice = tenant.ledger["Invoices"].get(ref.get("InvoiceID") or "")
        if invoice is None and ref.get("InvoiceNumber"):
            invoice = self._find(tenant, "Invoices", "InvoiceNumber", ref["InvoiceNumber"])
        errors, account = self._payment_errors(tenant, data, "Invoice", invoice)
        if errors:
            return errors, None
        assert invoice is not None and account is not None
        invoice["AmountPaid"] = round(invoice["AmountPaid"] + data["Amount"], 2)
        invoice["AmountDue"] = round(invoice["Total"] - invoice["AmountPaid"], 2)
        if invoice["AmountDue"] <= 0:
            invoice["Status"] = "PAID"
            invoice["FullyPaidOnDate"] = data["Date"]
        invoice["UpdatedDateUTC"] = self.clock.now()
        record = {
            **data,
            "Invoice": {
                k: invoice[k]
                for k in ("InvoiceID", "InvoiceNumber", "Type", "Contact")
                if k in invoice
            },
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
            "Status": "AUTHORISED",
            "IsReconciled": data.get("IsReconciled", False),
            "CurrencyRate": data.get("CurrencyRate", 1.0),
            "HasAccount": True,
            "HasValidationErrors": False,
        }
        invoice["Payments"].append(
            {"PaymentID": opts["id"], "Date": data["Date"], "Amount": data["Amount"]}
        )
        return [], record

    # What a payment needs, by what it pays (an invoice) or pays out of (an overpayment's
    # credit, a refund): one set of rules, their wording per kind (recalled).
    _PAYMENT_RULES: ClassVar[dict[str, dict[str, str]]] = {
        "Invoice": {
            "required": "{field} is required (API-NOTES 2.3)",
            "missing": "Invoice could not be found (give InvoiceID or InvoiceNumber)",
            "status": "Payments can only be made against Authorised documents (recalled)",
            "left": "AmountDue",
            "over": "Payment amount exceeds the amount outstanding on this document (recalled)",
        },
        "Overpayment": {
            "required": "{field} is required to refund an overpayment",
            "missing": "Overpayment could not be found (give OverpaymentID)",
            "status": "Only an overpayment with credit left can be refunded",
            "left": "RemainingCredit",
            "over": "The refund exceeds the overpayment's remaining credit",
        },
    }

    def _payment_errors(
        self, tenant: Tenant, data: dict[str, Any], kind: str, target: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Check a payment to an invoice or out of an overpayment; return errors and account.

        Required fields, the target AUTHORISED with enough left (amount due / credit), and
        an account that takes it: a bank account, or for an invoice payment one with
        ``EnablePaymentsToAccount`` (API-NOTES 2.3); a refund is paid out of a bank account.
        """
        rules = self._PAYMENT_RULES[kind]
        errors = [
            rules["required"].format(field=k)
            for k in (kind, "Account", "Date", "Amount")
            if k not in data
        ]
        if errors:
            return errors, None
        acc_ref = data["Account"] or {}
        account = (
            self._account(tenant, acc_ref.get("Code"))
            if acc_ref.get("Code")
            else (tenant.ledger["Accounts"].get(acc_ref.get("AccountID") or ""))
        )
        if target is None:
            errors.append(rules["missing"])
        elif target.get("Status") != "AUTHORISED":
            errors.append(rules["status"])
        elif data["Amount"] <= 0 or data["Amount"] > target[rules["left"]] + 0.005:
            errors.append(rules["over"])
        if account is None:
            errors.append("Account could not be found (give Code or AccountID)")
        elif account.get("Type") != "BANK" and kind == "Overpayment":
            errors.append(f"Account {account['Code']} is not a bank account: refunds are paid out")
        elif account.get("Type") != "BANK" and not account.get("EnablePaymentsToAccount"):
            errors.append(f"Account {account['Code']} does not accept payments (API-NOTES 2.3)")
        return errors, account

    def _refund_overpayment(
        self, tenant: Tenant, data: dict[str, Any], payment_id: str
    ) -> tuple[list[str], dict[str, Any] | None]:
        """``PUT /Payments`` naming an Overpayment: money paid back out of its credit.

        xero_accounting.yaml Payment: ``Overpayment`` instead of ``Invoice``, PaymentType
        AROVERPAYMENTPAYMENT; the overpayment lists it in ``Payments`` and its
        ``RemainingCredit`` drops (PAID once nothing is left).
        """
        overpayment = tenant.ledger["Overpayments"].get(
            str((data.get("Overpayment") or {}).get("OverpaymentID") or "")
        )
        errors, account = self._payment_errors(tenant, data, "Overpayment", overpayment)
        if errors:
            return errors, None
        assert overpayment is not None and account is not None
        overpayment["RemainingCredit"] = round(overpayment["RemainingCredit"] - data["Amount"], 2)
        if overpayment["RemainingCredit"] <= 0:
            overpayment["Status"] = "PAID"
        overpayment["Payments"].append(
            {"PaymentID": payment_id, "Date": data["Date"], "Amount": data["Amount"]}
        )
        overpayment["UpdatedDateUTC"] = self.clock.now()
        record = {
            **data,
            "Overpayment": {"OverpaymentID": overpayment["OverpaymentID"]},
            "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
            "PaymentType": "AROVERPAYMENTPAYMENT",
            "Status": "AUTHORISED",
            "IsReconciled": data.get("IsReconciled", False),
            "CurrencyRate": data.get("CurrencyRate", 1.0),
            "HasAccount": True,
            "HasValidationErrors": False,
        }
        return [], record
