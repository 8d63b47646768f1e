"""`flask reports export`: files written for a period, bad input refused."""

from __future__ import annotations

from tests.reports.conftest import Item, sell
from webapp.extensions import db
from webapp.reports.myob import MYOB_ITEM_SALES_FIELDS


def test_export_writes_the_file_and_reports_progress(app, books, tmp_path):
    doc = sell(books.org, books.store.customer, Item(books.labour, 2, "80.00"), on="2025-05-06")
    db.session.commit()
    target = tmp_path / "sales.txt"

    result = app.test_cli_runner().invoke(
        args=[
            "reports",
            "export",
            "myob-sales",
            "--from",
            "2025-05-01",
            "--to",
            "2025-05-31",
            "-o",
            str(target),
        ]
    )

    assert result.exit_code == 0, result.output
    data = target.read_bytes().decode("utf-8")
    assert data.startswith("\t".join(MYOB_ITEM_SALES_FIELDS) + "\r\n")
    assert f"\t{doc.number}\t06/05/2025\t" in data
    assert data.endswith("\r\n\r\n")  # CRLF kept, not translated
    assert "myob-sales 2025-05-01..2025-05-31" in result.output  # the progress bar's label
    assert "Wrote 1 records" in result.output


def test_export_to_stdout_with_options(app, books):
    sell(books.org, books.store.customer, Item(books.labour, 1, "80.00"), on="2025-05-06")
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=[
            "reports",
            "export",
            "sales-summary",
            "--from",
            "2025-05-01",
            "--to",
            "2025-05-31",
            "--by",
            "date",
            "--grain",
            "week",
            "-o",
            "-",
        ]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout_bytes.decode("utf-8")
    assert out.startswith("Date,Currency,Documents,Subtotal ex tax,Tax,Total\r\n")
    assert "Week of 2025-05-05,USD,1,80.00,8.00,88.00\r\n" in out


def test_bad_dates_kinds_and_options_are_usage_errors(app, books, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "out" / "bills.txt"
    target.parent.mkdir()
    bad_date = runner.invoke(
        args=["reports", "export", "myob-bills", "--from", "31/05/2025", "-o", str(target)]
    )
    assert bad_date.exit_code == 2
    assert "from: '31/05/2025' is not a date (use YYYY-MM-DD)" in bad_date.output
    bad_kind = runner.invoke(args=["reports", "export", "everything"])
    assert bad_kind.exit_code == 2 and "myob-sales" in bad_kind.output
    bad_grain = runner.invoke(
        args=["reports", "export", "sales-summary", "--grain", "hour", "-o", str(target)]
    )
    assert bad_grain.exit_code == 2 and "grain: 'hour' is not one of" in bad_grain.output
    assert not target.exists()  # nothing half-written
