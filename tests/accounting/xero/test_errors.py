"""Xero validation messages become a field and a fix in plain words."""

from __future__ import annotations

import pytest

from webapp.accounting.xero.errors import explain


@pytest.mark.parametrize(
    ("message", "field", "words"),
    [
        ("Account code '999' is not a valid code for this document.", "AccountCode", "'999'"),
        (
            "The TaxType code 'GST' does not exist or cannot be used for this type of transaction.",
            "TaxType",
            "'GST'",
        ),
        ("Invoice # must be unique.", "InvoiceNumber", "already has an invoice"),
        ("InvoiceNumber must be unique: INV-1 (recalled)", "InvoiceNumber", "number"),
        (
            "The document date cannot be before the period lock date of 2026-03-31.",
            "Date",
            "locked",
        ),
        (
            "The contact name Acme is already assigned to another contact. The contact name "
            "must be unique across all active contacts.",
            "Name",
            "Acme",
        ),
        ("Item code 'LAT' is not valid", "ItemCode", "'LAT'"),
        ("Invoices[0].LineItems[0].Quantity: '1' is not of type 'number'", "LineItems[0]", "'1'"),
    ],
)
def test_known_messages_name_the_field(message: str, field: str, words: str) -> None:
    error = explain([message], "invoice INV-1")
    assert error.field.startswith(field)
    assert words in error.message
    assert "invoice INV-1" in error.message
    assert error.fix and error.vendor_detail == message


def test_fix_tells_where_to_map_an_unknown_tax_rate() -> None:
    error = explain(["The TaxType code 'GST' does not exist or cannot be used."])
    assert "Settings > Integrations" in error.fix and "tax" in error.fix


def test_unknown_message_is_passed_on_with_a_generic_fix() -> None:
    error = explain(["Something new went wrong"], "bill RCPT-3")
    assert error.field == ""
    assert "Something new went wrong" in error.message and error.fix
