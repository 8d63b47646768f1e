"""CSV and MYOB AccountRight import files: headers, columns, delimiters, dates, amounts."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from tests.reports.conftest import Item, order, receive, sell
from webapp.extensions import db
from webapp.reports import exports, files
from webapp.reports.forms import DateRange, ReportInputError
from webapp.reports.myob import MYOB_ITEM_PURCHASES_FIELDS, MYOB_ITEM_SALES_FIELDS
from webapp.sales.models import PaymentMethod
from webapp.settings.operations import set_setting

MAY = DateRange(date(2025, 5, 1), date(2025, 5, 31))


def csv_rows(export_file: files.ExportFile) -> list[list[str]]:
    text = export_file.text()
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(text, newline="")))


def myob_transactions(export_file: files.ExportFile) -> tuple[list[str], list[list[dict]]]:
    """Parse a MYOB file: header record, then transactions separated by a blank line."""
    text = export_file.text()
    assert text.endswith("\r\n\r\n") or text.count("\r\n") == 1
    header, _, body = text.partition("\r\n")
    fields = header.split("\t")
    transactions = []
    for block in body.split("\r\n\r\n"):
        if not block.strip("\r\n"):
            continue
        records = []
        for line in block.strip("\r\n").split("\r\n"):
            values = line.split("\t")
            assert len(values) == len(fields), line
            records.append(dict(zip(fields, values, strict=True)))
        transactions.append(records)
    return fields, transactions


@pytest.fixture
def month(books):
    set_setting("display_document_as", "tax_invoice", books.store.admin)
    invoice = sell(
        books.org,
        books.store.customer,
        Item(books.laptop, 2, "1250.00", "1000"),
        Item(books.labour, 1, "120.00", "40", description="Setup\tand\nhandover"),
        payment=PaymentMethod.CARD,
        surcharge_pct="1.5",
        shipping="15.00",
        customer_po="PO-CONTOSO-7",
        on="2025-05-06",
    )
    set_setting("display_document_as", "sales_order", books.store.admin)
    sales_order = sell(
        books.other_org, books.store.other_customer, Item(books.dock, 3, "199.99"), on="2025-05-30"
    )
    po = order(books.ingram, (invoice.lines[0], 2, "1000.00"), on="2025-05-06")
    receive(
        po,
        (po.lines[0], 1, "990.1234"),
        invoice="ING-1",
        on="2025-05-08",
        due="2025-06-07",
        freight="12.50",
    )
    receive(po, (po.lines[0], 1, "1001.00"), invoice="ING-2", on="2025-05-20", due="2025-06-19")
    db.session.commit()
    return invoice, sales_order, po


def test_gross_profit_csv_has_plain_amounts_and_iso_dates(month):
    invoice, _sales_order, _po = month
    rows = csv_rows(exports.build("gross-profit", MAY))
    assert rows[0] == [
        "Document",
        "Date",
        "Organization",
        "Currency",
        "Revenue ex tax",
        "Receipted cost",
        "Gross profit",
        "Margin %",
        "Fully receipted",
        "Units awaiting supplier invoice",
        "Units not yet purchased",
    ]
    # Revenue 2500 + 120; cost 990.12 + 1001.00 + labour 40.00 recorded.
    assert rows[1] == [
        invoice.number,
        "2025-05-06",
        "Contoso",
        "USD",
        "2620.00",
        "2031.12",
        "588.88",
        "22.5",
        "yes",
        "0",
        "0",
    ]
    assert rows[2][4:10] == ["599.97", "0.00", "599.97", "100.0", "no", "0"]
    assert rows[2][10] == "3"


def test_sales_summary_csv_follows_the_dimension(month):
    rows = csv_rows(exports.build("sales-summary", MAY, {"by": "payment_method"}))
    assert rows[0] == ["Payment method", "Currency", "Documents", "Subtotal ex tax", "Tax", "Total"]
    assert [row[0] for row in rows[1:]] == ["Card, by phone", "On account"]
    by_day = exports.build("sales-summary", MAY, {"by": "date", "grain": "day"})
    assert by_day.filename == "sales-by-date-day-20250501-20250531.csv"
    assert len(csv_rows(by_day)) == 1 + 31


def test_csv_cells_cannot_run_as_spreadsheet_formulas(books):
    from tests.factories import make_organization

    evil = make_organization('=HYPERLINK("http://x")')
    contact = books.store.customer
    sell(evil, contact, Item(books.labour, 1, "10.00"), on="2025-05-03")
    db.session.commit()
    rows = csv_rows(exports.build("sales-summary", MAY, {"by": "organization"}))
    assert rows[1][0] == '\'=HYPERLINK("http://x")'
    assert files.csv_cell(Decimal("-5.5")) == "-5.50"  # numbers keep their minus sign


def test_bad_export_options_are_refused(month):
    with pytest.raises(ReportInputError, match="by: 'colour' is not one of"):
        exports.build("sales-summary", MAY, {"by": "colour"})
    with pytest.raises(KeyError):
        exports.build("nope", MAY)


def test_myob_item_sales_layout(month):
    invoice, sales_order, _po = month
    export_file = exports.build("myob-sales", MAY)
    fields, transactions = myob_transactions(export_file)

    assert export_file.filename == "myob-item-sales-20250501-20250531.txt"
    assert export_file.content_type.startswith("text/tab-separated-values")
    assert fields == MYOB_ITEM_SALES_FIELDS
    assert fields[:8] == [
        "Co./Last Name",
        "First Name",
        "Addr 1 - Line 1",
        "           - Line 2",
        "           - Line 3",
        "           - Line 4",
        "Inclusive",
        "Invoice No.",
    ]
    assert len(transactions) == 2
    laptops, labour, surcharge = transactions[0]
    assert {r["Invoice No."] for r in transactions[0]} == {invoice.number}
    assert laptops["Co./Last Name"] == "Contoso"
    assert laptops["Addr 1 - Line 1"] == "Contoso"
    assert laptops["           - Line 2"] == "1 Harbour St"
    assert laptops["           - Line 4"] == "Springfield IL 62701"
    assert laptops["Date"] == "06/05/2025"  # day/month/year, MYOB's AU/NZ convention
    assert laptops["Customer PO"] == "PO-CONTOSO-7"
    assert laptops["Sale Status"] == "I"  # a tax invoice
    assert laptops["Delivery Status"] == "A"
    assert (laptops["Item Number"], laptops["Quantity"], laptops["Ex-Tax Price"]) == (
        books_mpn(invoice, 0),
        "2",
        "1250.00",
    )
    assert (laptops["Ex-Tax Total"], laptops["GST Amount"], laptops["Inc-Tax Total"]) == (
        "2500.00",
        "250.00",
        "2750.00",
    )
    assert laptops["Tax Code"] == "GST"
    assert (laptops["Freight Ex-Tax Amount"], laptops["Freight GST Amount"]) == ("15.00", "1.50")
    assert laptops["Freight Inc-Tax Amount"] == "16.50"
    assert laptops["Freight Tax Code"] == "GST"
    assert labour["Description"] == "Setup and handover"  # no tab or line break leaks in
    # Card surcharge: 1.5% of (2620.00 + 262.00 + 16.50) = 43.4775 -> 43.48 tax included:
    # 43.48 / 1.1 = 39.527 -> 39.53 before tax, 3.95 tax.
    assert (surcharge["Item Number"], surcharge["Ex-Tax Total"], surcharge["GST Amount"]) == (
        "SURCHARGE",
        "39.53",
        "3.95",
    )
    assert surcharge["Inc-Tax Total"] == "43.48"
    assert surcharge["Description"] == "Card payment surcharge (1.5%)"
    total = sum(Decimal(r["Inc-Tax Total"]) for r in transactions[0]) + Decimal(
        laptops["Freight Inc-Tax Amount"]
    )
    assert total == invoice.total
    [dock] = transactions[1]
    assert (dock["Sale Status"], dock["Date"], dock["Co./Last Name"]) == (
        "O",
        "30/05/2025",
        "Fabrikam",
    )
    assert dock["Freight Tax Code"] == ""  # no freight charged


def books_mpn(document, index):
    return document.lines[index].sku


def test_myob_date_format_follows_the_setting(app, month):
    app.config["MYOB_DATE_FORMAT"] = "%m/%d/%Y"
    _fields, transactions = myob_transactions(exports.build("myob-sales", MAY))
    assert transactions[0][0]["Date"] == "05/06/2025"


def test_myob_purchase_orders_layout(month):
    _invoice, _sales_order, po = month
    fields, transactions = myob_transactions(exports.build("myob-purchase-orders", MAY))
    assert fields == MYOB_ITEM_PURCHASES_FIELDS
    [[line]] = transactions
    assert (line["Co./Last Name"], line["Purchase No."], line["Purchase Status"]) == (
        "Ingram",
        po.number,
        "O",
    )
    assert (line["Date"], line["Quantity"], line["Ex-Tax Price"], line["Ex-Tax Total"]) == (
        "06/05/2025",
        "2",
        "1000.00",
        "2000.00",
    )
    assert line["Item Number"] == po.lines[0].product.mpn
    assert line["Supplier Invoice No."] == ""


def test_myob_bills_use_actual_costs_invoice_numbers_and_terms(month):
    _invoice, _sales_order, po = month
    fields, transactions = myob_transactions(exports.build("myob-bills", MAY))
    assert fields == MYOB_ITEM_PURCHASES_FIELDS
    [[first], [second]] = transactions
    assert (first["Purchase No."], first["Supplier Invoice No."], first["Purchase Status"]) == (
        po.number,
        "ING-1",
        "B",
    )
    assert (first["Date"], first["Ex-Tax Price"], first["Ex-Tax Total"]) == (
        "08/05/2025",
        "990.1234",
        "990.12",
    )
    assert (first["Freight Ex-Tax Amount"], first["Terms - Payment is Due"]) == ("12.50", "2")
    assert first["           - Balance Due Days"] == "30"
    # The second bill against the same PO gets its own purchase number.
    assert (second["Purchase No."], second["Supplier Invoice No."]) == (f"{po.number}-2", "ING-2")
    assert second["Ex-Tax Price"] == "1001.00"


def test_empty_period_gives_a_header_only_file(books):
    export_file = exports.build("myob-bills", DateRange(date(2020, 1, 1), date(2020, 1, 31)))
    assert export_file.text() == "\t".join(MYOB_ITEM_PURCHASES_FIELDS) + "\r\n"
    assert export_file.records == []


# --- formula guard: every text cell of every file, never a number ------------------------------

EVIL = '=HYPERLINK("http://x","y")'


@pytest.fixture
def hostile(books):
    """A sale at a loss to an organization, with a description and a PO number that a
    spreadsheet would run as formulas; bought and receipted against a hostile invoice number."""
    from tests.factories import make_organization

    evil_org = make_organization(EVIL)
    document = sell(
        evil_org,
        books.store.customer,
        Item(books.labour, 1, "10.00", "40", description="@SUM(A1:A9)"),
        Item(books.laptop, 2, "50.00", description="-2+3"),
        customer_po="+cmd|' /C calc'!A0",
        note="\tnote",
        on="2025-05-03",
    )
    po = order(books.ingram, (document.lines[1], 2, "90.00"), on="2025-05-04")
    receive(po, (po.lines[0], 1, "90.00"), invoice="=1+1", on="2025-05-05", due="2025-06-04")
    db.session.commit()
    return document, po


def test_report_csv_guards_text_cells_but_keeps_negative_numbers(hostile):
    document, _po = hostile
    [row] = [r for r in csv_rows(exports.build("gross-profit", MAY)) if r[0] == document.number]
    assert row[2] == "'" + EVIL
    # Revenue 10 + 100, cost 40 + one laptop receipted at 90: a loss of 20, a number.
    assert (row[4], row[5], row[6], row[7]) == ("110.00", "130.00", "-20.00", "-18.2")
    lines = csv_rows(exports.build("backorders", MAY))
    assert [r[4] for r in lines[1:]] == ["'-2+3"]  # one laptop still to come
    payables = csv_rows(exports.build("accounts-payable", MAY))
    assert payables[1][1] == "'=1+1"
    assert files.csv_cell(Decimal("-12.5")) == "-12.50"
    assert files.csv_cell("-12.50") == "'-12.50"  # text typed as a number is still text


def test_myob_files_guard_text_fields_but_keep_amounts_numbers(hostile):
    document, po = hostile
    _fields, transactions = myob_transactions(exports.build("myob-sales", MAY))
    [records] = [t for t in transactions if t[0]["Invoice No."] == document.number]
    labour, laptop = records
    assert labour["Co./Last Name"] == "'" + EVIL
    assert labour["Customer PO"] == "'+cmd|' /C calc'!A0"
    assert labour["Comment"] == "note"  # a leading tab is dropped with MYOB's field rules
    assert (labour["Description"], laptop["Description"]) == ("'@SUM(A1:A9)", "'-2+3")
    assert (laptop["Ex-Tax Price"], laptop["Quantity"]) == ("50.00", "2")
    _fields, bills = myob_transactions(exports.build("myob-bills", MAY))
    [[bill]] = [t for t in bills if t[0]["Purchase No."] == po.number]
    assert bill["Supplier Invoice No."] == "'=1+1"
    assert bill["Ex-Tax Total"] == "90.00"
    assert files.myob_text(files.money(Decimal("-12.5"))) == "-12.50"


def test_myob_sales_leave_out_a_cancelled_document(month):
    """A cancelled order is no sale: MYOB gets no transaction for it (issue 11 §2 cancel)."""
    from webapp.sales.models import DocumentStatus
    from webapp.sales.operations import transition

    invoice, sales_order, _po = month
    transition(sales_order, DocumentStatus.CANCELLED, None, "customer changed their mind")
    db.session.commit()

    _fields, transactions = myob_transactions(exports.build("myob-sales", MAY))

    assert [{r["Invoice No."] for r in t} for t in transactions] == [{invoice.number}]
