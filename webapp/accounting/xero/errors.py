"""Xero's validation messages -> PermanentError naming the field and the fix in plain words.

Xero answers a rejected element with ``ValidationErrors: [{"Message": ...}]`` (schema
ValidationError, API-NOTES 2.6); the messages are English sentences without codes, so they are
recognised by wording. Wordings not in the spec are as Xero's docs and forums quote them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from webapp.integrations.interfaces import PermanentError

MAPPINGS = "Settings > Integrations > Xero"

_RULES: list[tuple[re.Pattern[str], str, str, str]] = [
    # (pattern, field, message template, fix); templates may use the pattern's groups.
    (
        re.compile(r"Account code '([^']*)' is not a valid code", re.I),
        "AccountCode",
        "Xero has no active account with code '{0}'.",
        f"Choose an account that exists in Xero under {MAPPINGS} (account mappings), "
        "then press Retry.",
    ),
    (
        re.compile(r"AccountCode is required|An AccountCode is required", re.I),
        "AccountCode",
        "Xero needs an account on every line of an approved document.",
        f"Choose the income, expense, freight and surcharge accounts under {MAPPINGS}, "
        "then press Retry.",
    ),
    (
        re.compile(r"TaxType code '([^']*)' does not exist", re.I),
        "TaxType",
        "Xero has no tax rate '{0}' that can be used on this document.",
        f"Map our tax code to one of Xero's tax rates under {MAPPINGS} (tax mappings), "
        "then press Retry.",
    ),
    (
        re.compile(r"(?:Invoice ?#|InvoiceNumber) must be unique", re.I),
        "InvoiceNumber",
        "Xero already has an invoice with this number.",
        "Void or renumber the invoice in Xero, or let Xero number invoices "
        f"(Numbering under {MAPPINGS}), then press Retry.",
    ),
    (
        re.compile(r"lock date|period is (?:closed|locked)|closed period", re.I),
        "Date",
        "The document's date is in a period that is locked in Xero.",
        "Move the lock date in Xero (Settings > Advanced > Financial settings) or ask your "
        "accountant to reopen the period, then press Retry.",
    ),
    (
        re.compile(r"contact name (.+?) is already assigned to another contact", re.I),
        "Name",
        "Another Xero contact is already called {0}.",
        "Rename or archive the other contact in Xero (or rename ours), then press Retry.",
    ),
    (
        re.compile(r"Contact (\S+) could not be found|A Contact .* must be specified", re.I),
        "Contact",
        "The Xero contact this document belongs to no longer exists.",
        "Restore the contact in Xero (it may have been archived or merged), then press Retry.",
    ),
    (
        re.compile(r"Item code '([^']*)' is not valid", re.I),
        "ItemCode",
        "Xero has no item with code '{0}'.",
        "Restore the item in Xero or retry the item's own delivery first, then press Retry.",
    ),
    (
        re.compile(
            r"currency (?:code )?'?([A-Z]{3})'? (?:is not|has not been) (?:enabled|set)", re.I
        ),
        "CurrencyCode",
        "The currency {0} is not set up in Xero.",
        "Add the currency in Xero (Settings > Currencies), then press Retry.",
    ),
    (
        re.compile(r"At least one line item is required", re.I),
        "LineItems",
        "The document has no lines Xero can record.",
        "Add a line to the document (or choose Draft as the status), then press Retry.",
    ),
    (
        re.compile(r"Discounts are not supported on ACCPAY", re.I),
        "DiscountRate",
        "Xero bills cannot carry line discounts.",
        "Enter the discounted unit cost on the receipt instead, then press Retry.",
    ),
    (
        re.compile(r"Description is required", re.I),
        "Description",
        "A line has neither a description nor an item.",
        "Give every line a description, then press Retry.",
    ),
    (
        re.compile(r"is (?:PAID|VOIDED|DELETED) and cannot be modified", re.I),
        "Status",
        "The Xero document is paid, voided or deleted and cannot be changed.",
        "Nothing to send: mark the delivery resolved, or undo the change in Xero.",
    ),
]

# The sandbox and our own schema checks report "<path>: <problem>" for payload faults.
_SCHEMA = re.compile(r"^(\w+(?:\[\d+\])?(?:\.\w+(?:\[\d+\])?)*): (.+)$")


def explain(messages: Sequence[str], subject: str = "document") -> PermanentError:
    """Return a PermanentError for Xero's ``messages`` about one element (first rule wins)."""
    vendor_detail = "; ".join(m for m in messages if m) or "Xero rejected the request."
    for text in messages:
        for pattern, field, template, fix in _RULES:
            match = pattern.search(text or "")
            if match:
                message = template.format(*match.groups())
                return PermanentError(
                    f"Xero rejected the {subject}: {message}",
                    field=field,
                    fix=fix,
                    vendor_code="ValidationException",
                    vendor_detail=vendor_detail,
                )
    for text in messages:
        match = _SCHEMA.match(text or "")
        if match:
            path = re.sub(r"^\w+\[\d+\]\.", "", match.group(1))
            return PermanentError(
                f"Xero rejected the {subject}: {path} — {match.group(2)}",
                field=path,
                fix="Our Xero mapping sent a value Xero does not accept; report this with the "
                "request shown in View.",
                vendor_code="ValidationException",
                vendor_detail=vendor_detail,
            )
    return PermanentError(
        f"Xero rejected the {subject}: {vendor_detail}",
        field="",
        fix="Correct what Xero names above (in our data or in Xero), then press Retry.",
        vendor_code="ValidationException",
        vendor_detail=vendor_detail,
    )
