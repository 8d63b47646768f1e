"""Cancelled documents in Xero: delete a draft, void an invoice, or credit it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from webapp.accounting.interfaces import CancelAction, DeliveryKind, PushResult, VoidData
from webapp.accounting.xero import mapping
from webapp.accounting.xero.client import idempotency_key
from webapp.accounting.xero.errors import explain
from webapp.accounting.xero.records import Records, first, quote
from webapp.integrations.http import excerpt
from webapp.integrations.interfaces import PermanentError

CENT = Decimal("0.01")


def _amount(record: dict[str, Any], field: str) -> Decimal:
    return Decimal(str(record.get(field) or 0)).quantize(CENT)


class Cancelling:
    """Undo invoices of one Xero organisation as Xero allows.

    https://developer.xero.com/documentation/api/accounting/invoices: a DRAFT or SUBMITTED
    invoice is DELETED; an AUTHORISED one without payments or credit is VOIDED when the admin
    chose voids; otherwise (payments applied, or credit notes chosen) an ACCRECCREDIT credit
    note copying its lines is created and allocated to what the invoice still owes — what was
    paid stays as the customer's credit to refund.
    """

    def __init__(self, records: Records) -> None:
        self.records = records
        self.client = records.client

    def void_invoices(self, voids: Sequence[VoidData]) -> list[PushResult]:
        return [self._void(item) for item in voids]

    def _void(self, item: VoidData) -> PushResult:
        subject = f"invoice {item.invoice_number or item.reference}"
        try:
            rows = self.client.get(f"Invoices/{item.invoice_ledger_id}")
            invoice = rows[0] if rows else {}
            status = str(invoice.get("Status") or "")
            if status in ("VOIDED", "DELETED"):
                return self._undone(item, invoice, f"{subject} {status.lower()}", True)
            if status in ("DRAFT", "SUBMITTED"):
                # Only approved invoices can be voided; a draft is deleted instead.
                return self._set_status(item, invoice, "DELETED", subject)
            settled = _amount(invoice, "AmountPaid") + _amount(invoice, "AmountCredited")
            if item.action == CancelAction.VOID and status == "AUTHORISED" and not settled:
                return self._set_status(item, invoice, "VOIDED", subject)
            return self._credit(item, invoice, subject)
        except PermanentError as error:
            return PushResult(item.key, error=error)

    def _set_status(self, item: VoidData, invoice: dict, status: str, subject: str) -> PushResult:
        element = {"InvoiceID": invoice["InvoiceID"], "Status": status}
        (result,) = self.client.save(
            "Invoices", [element], key=idempotency_key([item.key]), method="POST", subject=subject
        )
        if not result.ok:
            return PushResult(
                item.key,
                error=explain(result.errors, subject),
                request_excerpt=excerpt(element, 2000),
                response_excerpt=excerpt({"ValidationErrors": result.errors}, 2000),
            )
        return self._undone(item, result.record or invoice, f"{subject} {status.lower()}")

    def _credit(self, item: VoidData, invoice: dict, subject: str) -> PushResult:
        reference = mapping.credit_note_reference(item.reference)
        note = None
        if item.maybe_sent:
            found = self.client.get(
                "CreditNotes",
                params={"where": f'Type=="ACCRECCREDIT" AND Reference=={quote(reference)}'},
            )
            note = first(found, lambda r: r.get("Status") not in ("DELETED", "VOIDED"))
        if note is None:
            element = mapping.cancelling_credit_note(
                invoice, item.reference, item.issue_date or datetime.now(UTC).date()
            )
            (result,) = self.client.save(
                "CreditNotes",
                [element],
                key=idempotency_key([item.key], prefix="msp-cn"),
                subject=f"credit note for {subject}",
                unitdp=4,
            )
            if not result.ok:
                return PushResult(
                    item.key,
                    error=explain(result.errors, f"credit note for {subject}"),
                    request_excerpt=excerpt(element, 2000),
                    response_excerpt=excerpt({"ValidationErrors": result.errors}, 2000),
                )
            note = result.record or {}
        number = note.get("CreditNoteNumber") or note.get("CreditNoteID")
        allocated = any(
            (a.get("Invoice") or {}).get("InvoiceID") == invoice["InvoiceID"]
            for a in note.get("Allocations") or []
        )
        total = _amount(note, "Total")
        due = min(_amount(invoice, "AmountDue"), total)
        text = f"credit note {number}"
        if due > 0 and not allocated:
            self.client.put(
                f"CreditNotes/{note['CreditNoteID']}/Allocations",
                {
                    "Allocations": [
                        {
                            "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                            "Amount": float(due),  # JSON number at the vendor boundary
                            "Date": (item.issue_date or datetime.now(UTC).date()).isoformat(),
                        }
                    ]
                },
                key=idempotency_key([item.key], prefix="msp-alloc"),
                subject=f"allocation of credit note {number}",
            )
        left = total - (due if not allocated else 0)
        if left > 0 and not allocated:
            text += f" ({left:.2f} paid: customer credit to refund)"
        return PushResult(
            key=item.key,
            remote_id=str(note.get("CreditNoteID") or ""),
            remote_number=text,
            remote_url=self.records.url(DeliveryKind.INVOICE_VOID, str(note.get("CreditNoteID"))),
            response_excerpt=excerpt(note, 2000),
        )

    def _undone(
        self, item: VoidData, invoice: dict, text: str, found_existing: bool = False
    ) -> PushResult:
        remote_id = str(invoice.get("InvoiceID") or item.invoice_ledger_id)
        return PushResult(
            key=item.key,
            remote_id=remote_id,
            remote_number=text,
            remote_url=self.records.url(DeliveryKind.INVOICE, remote_id),
            found_existing=found_existing,
            response_excerpt=excerpt(invoice, 2000),
        )
