"""Pure functions from Xero JSON read back to our plain data: accounts, tax rates, payments.

Field names are those of ``#/components/schemas`` in Xero's OpenAPI document
(shared/specs/xero/xero_accounting.yaml, v16.1.0).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from webapp.accounting.interfaces import (
    AccountPurpose,
    LedgerAccount,
    LedgerPayment,
    LedgerTaxRate,
    summed_parts,
)

# Xero account Type (schema AccountType) -> the mapping lists that offer it.
_ACCOUNT_PURPOSES: dict[str, frozenset[AccountPurpose]] = {
    "REVENUE": frozenset(
        {AccountPurpose.INCOME, AccountPurpose.SHIPPING, AccountPurpose.SURCHARGE}
    ),
    "SALES": frozenset({AccountPurpose.INCOME, AccountPurpose.SHIPPING, AccountPurpose.SURCHARGE}),
    "OTHERINCOME": frozenset({AccountPurpose.SHIPPING, AccountPurpose.SURCHARGE}),
    "DIRECTCOSTS": frozenset({AccountPurpose.EXPENSE, AccountPurpose.FREIGHT}),
    "EXPENSE": frozenset({AccountPurpose.EXPENSE, AccountPurpose.FREIGHT}),
    "OVERHEADS": frozenset({AccountPurpose.EXPENSE, AccountPurpose.FREIGHT}),
    "INVENTORY": frozenset({AccountPurpose.EXPENSE}),
    "CURRLIAB": frozenset({AccountPurpose.PAYABLES}),
}


def ledger_account(record: Mapping[str, Any]) -> LedgerAccount | None:
    """Return an active, coded Xero account for the mapping screens (id = its Code).

    Xero line items and items name accounts by Code, so the code is what a mapping stores.
    """
    code = record.get("Code")
    if not code or record.get("Status", "ACTIVE") != "ACTIVE":
        return None
    kind = str(record.get("Type", ""))
    return LedgerAccount(
        id=str(code),
        name=str(record.get("Name", "")),
        code=str(code),
        type=kind,
        purposes=_ACCOUNT_PURPOSES.get(kind, frozenset()),
    )


def ledger_tax_rate(record: Mapping[str, Any]) -> LedgerTaxRate | None:
    """Return an active Xero tax rate (id = its TaxType, the code line items carry)."""
    if record.get("Status", "ACTIVE") != "ACTIVE" or not record.get("TaxType"):
        return None
    rate = record.get("EffectiveRate", record.get("DisplayTaxRate"))
    return LedgerTaxRate(
        id=str(record["TaxType"]),
        name=str(record.get("Name", record["TaxType"])),
        rate=Decimal(str(rate)) if rate is not None else None,
    )


MSDATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_date(value: Any) -> date | None:
    """Read a Xero date: ``/Date(1573755038314+0000)/`` or ``2019-03-12[T00:00:00]``."""
    if not value:
        return None
    text = str(value)
    match = MSDATE.fullmatch(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def payments(records: Iterable[Mapping[str, Any]]) -> list[LedgerPayment]:
    """Return our payment records for Xero customer payments (ACCREC) that still stand.

    Each Xero Payment applies to exactly one invoice, so PaymentID is unique per allocation.
    A deleted payment comes back with amount zero, so one imported before no longer counts.
    """
    out = []
    for record in records:
        invoice = record.get("Invoice") or {}
        if not invoice.get("InvoiceID"):
            continue
        kind = record.get("PaymentType") or ""
        if kind and kind != "ACCRECPAYMENT":
            continue
        if not kind and invoice.get("Type") not in (None, "ACCREC"):
            continue
        paid_on = parse_date(record.get("Date"))
        if paid_on is None:
            continue
        out.append(
            LedgerPayment(
                ledger_payment_id=str(record["PaymentID"]),
                invoice_ledger_id=str(invoice["InvoiceID"]),
                amount=(
                    Decimal(0)
                    if record.get("Status") == "DELETED"
                    else Decimal(str(record.get("Amount", 0)))
                ).quantize(Decimal("0.01")),
                paid_on=paid_on,
                currency=str(invoice.get("CurrencyCode") or ""),
                reference=str(record.get("Reference") or ""),
            )
        )
    return out


def overpayments(records: Iterable[Mapping[str, Any]]) -> list[LedgerPayment]:
    """Return our payment records for customers' overpayments (RECEIVE-OVERPAYMENT).

    Each allocation pays its invoice (the allocation is the payment, keyed by overpayment
    and invoice). While every allocation is to one invoice, the credit left
    (``RemainingCredit``) is what the customer overpaid on it; otherwise it is reported as
    zero, so that credit later applied elsewhere, or a voided overpayment, lowers what we show.
    A refund (a Payment of type AROVERPAYMENTPAYMENT on the overpayment's ``Payments``) pays
    the credit back and lowers ``RemainingCredit``, so a refunded overpayment is not overpaid;
    the refund itself names no invoice and is no payment of ours (``payments`` leaves it out).
    Two allocations to one invoice are one part (summed); with none left, the overpayment is
    ``unallocated`` and pays nothing of ours.
    """
    out: list[LedgerPayment] = []
    for record in records:
        if record.get("Type") != "RECEIVE-OVERPAYMENT" or not record.get("OverpaymentID"):
            continue
        standing = record.get("Status") not in ("VOIDED", "DELETED")
        overpayment_id = str(record["OverpaymentID"])
        currency = str(record.get("CurrencyCode") or "")
        paid_on = parse_date(record.get("Date"))
        parts: list[LedgerPayment] = []
        invoices = []
        for allocation in record.get("Allocations") or []:
            invoice_id = str((allocation.get("Invoice") or {}).get("InvoiceID") or "")
            on = parse_date(allocation.get("Date")) or paid_on
            if not invoice_id or on is None:
                continue
            invoices.append(invoice_id)
            amount = Decimal(str(allocation.get("Amount", 0))) if standing else Decimal(0)
            parts.append(
                LedgerPayment(
                    ledger_payment_id=f"{overpayment_id}:{invoice_id}",
                    invoice_ledger_id=invoice_id,
                    amount=amount.quantize(Decimal("0.01")),
                    paid_on=on,
                    currency=currency,
                    reference=str(record.get("Reference") or ""),
                )
            )
        out += summed_parts(parts)
        if not invoices and paid_on is not None:
            # Every allocation deleted: what it paid on our invoices stops counting.
            out.append(
                LedgerPayment(
                    ledger_payment_id=overpayment_id,
                    invoice_ledger_id="",
                    amount=Decimal("0.00"),
                    paid_on=paid_on,
                    currency=currency,
                    unallocated=True,
                )
            )
        if invoices and paid_on is not None:
            single = standing and len(set(invoices)) == 1
            left = Decimal(str(record.get("RemainingCredit") or 0)) if single else Decimal(0)
            out.append(
                LedgerPayment(
                    ledger_payment_id=f"{overpayment_id}:remaining",
                    invoice_ledger_id=invoices[0],
                    amount=left.quantize(Decimal("0.01")),
                    paid_on=paid_on,
                    currency=currency,
                    reference=str(record.get("Reference") or ""),
                    overpayment=True,
                )
            )
    return out
