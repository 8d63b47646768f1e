"""Pure functions: interface dataclasses <-> QuickBooks Online v3 JSON (XSD element names)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from webapp.accounting.interfaces import (
    AccountPurpose,
    Address,
    BillData,
    CustomerData,
    DocumentLine,
    InvoiceData,
    ItemData,
    LedgerAccount,
    LedgerPayment,
    LedgerTaxRate,
    PurchaseOrderData,
    SupplierData,
    summed_parts,
)
from webapp.integrations.interfaces import PermanentError

MARKER = "msp-ref:"

# Finance.xsd Transaction.DocNumber "ValidRange: QBO: max=21"; SalesTransaction.PONumber
# "ValidRange: QBO: max=15". QBO rejects or truncates longer values, so we refuse them first.
DOC_NUMBER_MAX = 21
PO_NUMBER_MAX = 15


def _fit(value: str, limit: int, element: str, what: str) -> str:
    """Return ``value`` when QuickBooks can hold it whole; a longer one is refused, never cut."""
    if len(value) > limit:
        raise PermanentError(
            f"{what} {value!r} is {len(value)} characters; QuickBooks holds at most {limit}.",
            field=element,
            fix=f"Shorten the {what.lower()} to {limit} characters or fewer, then press Retry.",
        )
    return value


def marker(reference: str) -> str:
    """Return the PrivateNote/Notes tag that finds our record again after a lost response."""
    return f"{MARKER}{reference}"


def is_voided(invoice: dict[str, Any]) -> bool:
    """Return whether QuickBooks voided it (amounts zeroed, "Voided" before the PrivateNote)."""
    note = str(invoice.get("PrivateNote") or "")
    return note.startswith("Voided") and not float(invoice.get("TotalAmt") or 0)


def amount_paid(invoice: dict[str, Any]) -> Decimal:
    """Return what is applied to the invoice: its total less its open balance."""
    total = Decimal(str(invoice.get("TotalAmt") or 0))
    balance = Decimal(str(invoice.get("Balance", total) or 0))
    return max(total - balance, Decimal(0))


def has_marker(entity: dict[str, Any], reference: str) -> bool:
    text = f"{entity.get('PrivateNote', '')} {entity.get('Notes', '')}"
    return marker(reference) in text.split()


def _num(value: Decimal) -> float:
    # JSON numbers at the vendor boundary; amounts are already rounded to the cent (or 4 dp).
    return float(value)


def _ref(value: str) -> dict[str, str]:
    return {"value": str(value)}


def _address(address: Address) -> dict[str, str] | None:
    if address.is_empty:
        return None
    out = {
        "Line1": address.line1,
        "Line2": address.line2,
        "City": address.city,
        "CountrySubDivisionCode": address.region,
        "PostalCode": address.postcode,
        "Country": address.country,
    }
    return {k: v[:500] for k, v in out.items() if v}


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v not in (None, "", [], {})}


def customer(data: CustomerData) -> dict[str, Any]:
    """Customer following the BMS sync map (seed 004): name, terms, limit, addresses..."""
    notes = "\n".join(n for n in (data.notes, marker(data.reference)) if n)
    return _clean(
        {
            "DisplayName": data.display_name[:500],
            "CompanyName": data.display_name[:500],
            "AcctNum": data.account_number,
            "PrimaryEmailAddr": {"Address": data.email} if data.email else None,
            "PrimaryPhone": {"FreeFormNumber": data.phone} if data.phone else None,
            "Fax": {"FreeFormNumber": data.fax} if data.fax else None,
            "WebAddr": {"URI": data.website} if data.website else None,
            "Notes": notes[:2000],
            "Taxable": data.taxable,
            "CreditLimit": _num(data.credit_limit) if data.credit_limit is not None else None,
            "BillAddr": _address(data.billing_address),
            "ShipAddr": _address(data.shipping_address),
            "CurrencyRef": _ref(data.currency) if data.currency else None,
        }
    )


def vendor(data: SupplierData) -> dict[str, Any]:
    return _clean(
        {
            "DisplayName": data.display_name[:500],
            "CompanyName": data.display_name[:500],
            "AcctNum": data.account_number,
            "PrimaryEmailAddr": {"Address": data.email} if data.email else None,
            "PrimaryPhone": {"FreeFormNumber": data.phone} if data.phone else None,
            "WebAddr": {"URI": data.website} if data.website else None,
            "BillAddr": _address(data.address),
            "Notes": marker(data.reference),
        }
    )


def item(data: ItemData) -> dict[str, Any]:
    """A NonInventory item (stock is tracked by us, not by the ledger)."""
    return _clean(
        {
            "Name": data.name,
            "Sku": data.code,
            "Description": data.description,
            "Type": "NonInventory",
            "Taxable": data.taxable,
            "UnitPrice": _num(data.unit_price) if data.unit_price is not None else None,
            "PurchaseCost": _num(data.unit_cost) if data.unit_cost is not None else None,
            "IncomeAccountRef": _ref(data.income_account_id) if data.income_account_id else None,
            "ExpenseAccountRef": (
                _ref(data.expense_account_id)
                if data.purchased and data.expense_account_id
                else None
            ),
        }
    )


def _sales_line(line: DocumentLine) -> dict[str, Any]:
    detail = _clean(
        {
            "ItemRef": _ref(line.item_ledger_id) if line.item_ledger_id else None,
            "Qty": _num(line.quantity),
            "UnitPrice": _num(line.unit_amount),
            "TaxCodeRef": _ref(line.tax_rate_id) if line.tax_rate_id else None,
        }
    )
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": _num(line.line_amount),
        "Description": line.description[:4000],
        "SalesItemLineDetail": detail,
    }


def _expense_line(line: DocumentLine, po_id: str = "") -> dict[str, Any]:
    if line.item_ledger_id:
        out = {
            "DetailType": "ItemBasedExpenseLineDetail",
            "Amount": _num(line.line_amount),
            "Description": line.description[:4000],
            "ItemBasedExpenseLineDetail": _clean(
                {
                    "ItemRef": _ref(line.item_ledger_id),
                    "Qty": _num(line.quantity),
                    "UnitPrice": _num(line.unit_amount),
                    "TaxCodeRef": _ref(line.tax_rate_id) if line.tax_rate_id else None,
                }
            ),
        }
    else:
        out = {
            "DetailType": "AccountBasedExpenseLineDetail",
            "Amount": _num(line.line_amount),
            "Description": line.description[:4000],
            "AccountBasedExpenseLineDetail": _clean(
                {
                    "AccountRef": _ref(line.account_id),
                    "TaxCodeRef": _ref(line.tax_rate_id) if line.tax_rate_id else None,
                }
            ),
        }
    if po_id:
        out["LinkedTxn"] = [{"TxnId": po_id, "TxnType": "PurchaseOrder"}]
    return out


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def invoice(data: InvoiceData) -> dict[str, Any]:
    """Invoice; QuickBooks has no draft invoices, so every status creates a normal one."""
    return _clean(
        {
            "CustomerRef": _ref(data.customer_ledger_id),
            "DocNumber": _fit(data.number or "", DOC_NUMBER_MAX, "DocNumber", "Document number"),
            "TxnDate": _date(data.issue_date),
            "DueDate": _date(data.due_date),
            "CurrencyRef": _ref(data.currency) if data.currency else None,
            "PrivateNote": " ".join(p for p in (data.memo[:3000], marker(data.reference)) if p),
            # A customer PO longer than PONumber holds goes whole into the customer memo.
            "PONumber": data.customer_po if len(data.customer_po) <= PO_NUMBER_MAX else None,
            "CustomerMemo": (
                {"value": f"Your PO: {data.customer_po}"}
                if len(data.customer_po) > PO_NUMBER_MAX
                else None
            ),
            "Line": [_sales_line(line) for line in data.lines],
            # Our tax, stated: QBO otherwise adds none (or its own) and the invoice total, so
            # its open balance after a full payment, differs from ours (Finance.xsd TxnTaxDetail
            # "you may supply it when adding a transaction").
            "TxnTaxDetail": {"TotalTax": _num(data.tax_total)},
        }
    )


def bill(data: BillData) -> dict[str, Any]:
    return _clean(
        {
            "VendorRef": _ref(data.supplier_ledger_id),
            "DocNumber": _fit(
                data.supplier_invoice_number, DOC_NUMBER_MAX, "DocNumber", "Supplier invoice number"
            ),
            "TxnDate": _date(data.issue_date),
            "DueDate": _date(data.due_date),
            "CurrencyRef": _ref(data.currency) if data.currency else None,
            "APAccountRef": _ref(data.payables_account_id) if data.payables_account_id else None,
            "PrivateNote": " ".join(p for p in (data.memo[:3000], marker(data.reference)) if p),
            "Line": [_expense_line(line, data.purchase_order_ledger_id) for line in data.lines],
            # The purchase tax of our lines, stated as on invoices (Finance.xsd TxnTaxDetail):
            # the bill's total, hence what is owed the supplier, is then ours to the cent.
            "TxnTaxDetail": {"TotalTax": _num(data.tax_total)},
        }
    )


def purchase_order(data: PurchaseOrderData, payables_account_id: str) -> dict[str, Any]:
    return _clean(
        {
            "VendorRef": _ref(data.supplier_ledger_id),
            "APAccountRef": _ref(payables_account_id),
            "DocNumber": _fit(data.number, DOC_NUMBER_MAX, "DocNumber", "Purchase order number"),
            "TxnDate": _date(data.issue_date),
            "DueDate": _date(data.delivery_date),
            "CurrencyRef": _ref(data.currency) if data.currency else None,
            "PrivateNote": " ".join(p for p in (data.memo[:3000], marker(data.reference)) if p),
            "Line": [_expense_line(line) for line in data.lines],
            # Purchase tax stated as on the bill: each line names its tax code, and the PO's
            # TotalAmt is then ours to the cent (Finance.xsd TxnTaxDetail.TotalTax).
            "TxnTaxDetail": {"TotalTax": _num(data.tax_total)},
        }
    )


_PURPOSES = {
    "Income": {AccountPurpose.INCOME, AccountPurpose.SHIPPING, AccountPurpose.SURCHARGE},
    "Other Income": {AccountPurpose.INCOME, AccountPurpose.SHIPPING, AccountPurpose.SURCHARGE},
    "Expense": {AccountPurpose.EXPENSE, AccountPurpose.FREIGHT},
    "Other Expense": {AccountPurpose.EXPENSE, AccountPurpose.FREIGHT},
    "Cost of Goods Sold": {AccountPurpose.EXPENSE, AccountPurpose.FREIGHT},
    "Accounts Payable": {AccountPurpose.PAYABLES},
}


def account(entity: dict[str, Any]) -> LedgerAccount:
    kind = str(entity.get("AccountType", ""))
    return LedgerAccount(
        id=str(entity["Id"]),
        name=str(entity.get("FullyQualifiedName") or entity.get("Name", "")),
        code=str(entity.get("AcctNum") or ""),
        type=kind,
        purposes=frozenset(_PURPOSES.get(kind, set())),
    )


def tax_rate(entity: dict[str, Any]) -> LedgerTaxRate:
    return LedgerTaxRate(id=str(entity["Id"]), name=str(entity.get("Name", entity["Id"])))


def deleted_payment(payment_id: str, stamp: str = "") -> LedgerPayment:
    """Return the LedgerPayment of a payment QuickBooks no longer has (deleted at ``stamp``)."""
    return LedgerPayment(
        ledger_payment_id=payment_id,
        invoice_ledger_id="",
        amount=Decimal("0.00"),
        paid_on=date.fromisoformat(stamp[:10]) if stamp else datetime.now(UTC).date(),
        deleted=True,
    )


def payments(entity: dict[str, Any]) -> list[LedgerPayment]:
    """One LedgerPayment per invoice a QBO Payment applies to, and one for its overpayment.

    A payment deleted in QuickBooks (a Change Data Capture stub, ``status: Deleted``) is one
    ``deleted`` LedgerPayment naming only the payment: all it applied stops counting; one
    applied to no invoice now (every line removed) is one ``unallocated`` LedgerPayment, to
    the same effect. Two lines on one invoice are one part: their amounts are summed.

    QuickBooks applies at most an invoice's open balance; what a customer paid above it stays
    on the payment as ``UnappliedAmt`` (Finance.xsd Payment), a credit to the customer. When
    the payment is for one invoice only, that credit is what the customer overpaid on it.
    """
    if entity.get("status") == "Deleted":
        stamp = str((entity.get("MetaData") or {}).get("LastUpdatedTime") or "")
        return [deleted_payment(str(entity["Id"]), stamp)]
    paid_on = date.fromisoformat(str(entity.get("TxnDate"))[:10])
    currency = (entity.get("CurrencyRef") or {}).get("value", "")
    reference = str(entity.get("PaymentRefNum") or "")
    out = []
    for line in entity.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") != "Invoice":
                continue
            out.append(
                LedgerPayment(
                    ledger_payment_id=f"{entity['Id']}:{link['TxnId']}",
                    invoice_ledger_id=str(link["TxnId"]),
                    amount=Decimal(str(line.get("Amount", 0))).quantize(Decimal("0.01")),
                    paid_on=paid_on,
                    currency=currency,
                    reference=reference,
                )
            )
    if not out:
        return [
            LedgerPayment(
                ledger_payment_id=str(entity["Id"]),
                invoice_ledger_id="",
                amount=Decimal("0.00"),
                paid_on=paid_on,
                currency=currency,
                reference=reference,
                unallocated=True,
            )
        ]
    out = summed_parts(out)
    # Zero when the payment is for several invoices (whose overpayment it is, is not
    # known), so an edit that spreads the credit clears what was shown before.
    single = len({p.invoice_ledger_id for p in out}) == 1
    unapplied = Decimal(str(entity.get("UnappliedAmt") or 0)) if single else Decimal(0)
    out.append(
        LedgerPayment(
            ledger_payment_id=f"{entity['Id']}:unapplied",
            invoice_ledger_id=out[0].invoice_ledger_id,
            amount=unapplied.quantize(Decimal("0.01")),
            paid_on=paid_on,
            currency=currency,
            reference=reference,
            overpayment=True,
        )
    )
    return out
