"""A full feed that would destroy data stops, keeps the current offers and asks first (issue 13)."""

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import login, make_category, make_supplier, make_user
from webapp.auth.models import Role
from webapp.catalog import feeds
from webapp.catalog.models import FeedImport, ImportStatus, SupplierOffer
from webapp.extensions import db

HEADER = "sku,mpn,brand,name,category,cost,stock,eta_days\n"


def write(tmp_path: Path, text: str, name="feed.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(supplier, path) -> FeedImport:
    record = feeds.create_run(supplier, path, path.name, actor_id=None)
    db.session.commit()
    return feeds.execute(record.id)


def rows(count: int, start: int = 1) -> str:
    return "".join(
        f"I-{n},M{n},Lenovo,Laptop {n},Laptops,{100 + n}.50,5,3\n" for n in range(start, count + 1)
    )


@pytest.fixture
def supplier(app):
    make_category("Laptops")
    found = make_supplier("ingram")
    db.session.commit()
    return found


@pytest.fixture
def stocked(tmp_path, supplier):
    """The supplier has 20 live offers from an earlier full feed."""
    assert run(supplier, write(tmp_path, HEADER + rows(20), "first.csv")).status is (
        ImportStatus.SUCCEEDED
    )
    return supplier


def live_offers(supplier) -> int:
    return len(
        db.session.scalars(
            select(SupplierOffer).where(
                SupplierOffer.supplier_id == supplier.id, SupplierOffer.available.is_(True)
            )
        ).all()
    )


def test_a_full_feed_withdrawing_too_many_offers_is_held_and_keeps_them(tmp_path, stocked):
    result = run(stocked, write(tmp_path, HEADER + rows(15)))  # 5 of 20 = 25% withdrawn
    assert result.status is ImportStatus.HELD
    assert "withdraw 5 of 20 offers (25%)" in result.error
    assert "20%" in result.error
    assert live_offers(stocked) == 20
    assert result.offers_withdrawn == 0


def test_a_withdrawal_within_the_limit_goes_through(tmp_path, stocked):
    result = run(stocked, write(tmp_path, HEADER + rows(16)))  # 4 of 20 = 20%
    assert result.status is ImportStatus.SUCCEEDED
    assert result.offers_withdrawn == 4
    assert live_offers(stocked) == 16


def test_the_withdrawal_limit_is_a_setting_of_the_supplier_feed(tmp_path, stocked):
    stocked.feed_format = {"max_withdrawn_percent": 50}
    db.session.commit()
    assert run(stocked, write(tmp_path, HEADER + rows(12))).status is ImportStatus.SUCCEEDED
    assert live_offers(stocked) == 12


def test_confirming_a_held_import_runs_it_again_with_the_override(tmp_path, stocked, run_jobs):
    held = run(stocked, write(tmp_path, HEADER + rows(10)))
    assert held.status is ImportStatus.HELD
    feeds.confirm(held, actor_id=None)
    db.session.commit()
    run_jobs()
    done = db.session.get(FeedImport, held.id)
    assert done.status is ImportStatus.SUCCEEDED, done.error
    assert done.offers_withdrawn == 10
    assert live_offers(stocked) == 10


def test_only_a_held_import_can_be_confirmed(tmp_path, stocked):
    done = run(stocked, write(tmp_path, HEADER + rows(20)))
    with pytest.raises(feeds.FeedError, match="only a held import"):
        feeds.confirm(done, actor_id=None)


def test_a_stray_quote_is_a_bad_row_with_the_file_line_and_the_feed_is_held(tmp_path, stocked):
    # Line 3 opens a quote that is never closed: csv would swallow every following row into
    # one field, the feed would list 1 offer and withdraw the other 19.
    body = rows(1) + 'I-2,"M2,Lenovo,Laptop 2,Laptops,102.50,5,3\n' + rows(20, start=3)
    result = run(stocked, write(tmp_path, HEADER + body))
    assert result.status is ImportStatus.HELD
    assert live_offers(stocked) == 20
    assert result.problems[0]["line"] == 3
    assert "stray quote" in result.problems[0]["reason"]
    assert "column 2 (mpn)" in result.problems[0]["reason"]


def test_a_quote_inside_an_unquoted_field_is_a_bad_row(tmp_path, supplier):
    body = rows(40) + 'I-41,M41,Dell,Dell 27" monitor,Laptops,300,1,1\n'
    result = run(supplier, write(tmp_path, HEADER + body))
    assert result.problems == [
        {
            "line": 42,
            "reason": "stray quote character in column 4 (name): quote the whole field "
            'and double the quotes inside it ("Dell 27"" monitor")',
        }
    ]


def test_a_properly_quoted_field_with_quotes_and_newlines_is_fine(tmp_path, supplier):
    supplier.feed_format = {"full_feed": False}
    db.session.commit()
    body = (
        rows(1)
        + 'I-2,M2,Dell,"Dell 27"" monitor",Laptops,300,1,1\n'
        + 'I-3,M3,Dell,"Two\nlines",Laptops,300,1,1\n'
        + "I-4,M4,Dell,Bad,Laptops,abc,1,1\n"
    )
    result = run(supplier, write(tmp_path, HEADER + body))
    # The quoted newline makes I-3 span lines 4-5, so the bad row is on line 6 of the file.
    assert result.problems == [{"line": 6, "reason": "cost: 'abc' is not a number"}]
    names = set(db.session.scalars(select(SupplierOffer.supplier_sku)))
    assert names == {"I-1", "I-2", "I-3"}


def test_a_row_spanning_lines_is_reported_at_its_first_line(tmp_path, supplier):
    body = rows(1) + 'I-2,M2,Dell,"Two\nlines",Laptops,zero,1,1\n'
    result = run(supplier, write(tmp_path, HEADER + body))
    assert result.problems == [{"line": 3, "reason": "cost: 'zero' is not a number"}]


def test_a_decimal_comma_is_a_bad_row_with_a_precise_message(tmp_path, supplier):
    supplier.feed_format = {"full_feed": False}  # a partial feed is not held for bad rows
    db.session.commit()
    body = (
        rows(60)
        + 'I-61,M61,Dell,Quoted,Laptops,"10,50",1,1\n'
        + ("I-62,M62,Dell,Unquoted,Laptops,10,50,1,1\n")
    )
    result = run(supplier, write(tmp_path, HEADER + body))
    assert result.status is ImportStatus.SUCCEEDED
    assert result.problems == [
        {
            "line": 62,
            "reason": "cost: '10,50' has a ',' but this feed's decimal separator is '.' "
            "and it has no thousands separator",
        },
        {
            "line": 63,
            "reason": "9 fields where the header has 8: a value with a ',' in it (a decimal "
            "comma?) must be quoted",
        },
    ]


def test_a_comma_in_a_whole_number_is_not_read_as_a_thousands_separator(tmp_path, supplier):
    result = run(supplier, write(tmp_path, HEADER + 'I-1,M1,Dell,X,Laptops,10,"1,5",1\n'))
    assert result.problems == [{"line": 2, "reason": "stock: '1,5' is not a whole number"}]


def test_a_full_feed_with_too_many_bad_rows_is_held(tmp_path, stocked):
    bad = "".join(f"I-{n},M{n},Lenovo,Laptop {n},Laptops,12;50,5,3\n" for n in range(19, 21))
    result = run(stocked, write(tmp_path, HEADER + rows(18) + bad))  # 2 of 20 rows = 10%
    assert result.status is ImportStatus.HELD
    assert "2 of 20 rows (10%) could not be read" in result.error
    assert result.rows_skipped == 2
    assert live_offers(stocked) == 20
    assert db.session.scalar(
        select(SupplierOffer.cost).where(SupplierOffer.supplier_sku == "I-1")
    ) == Decimal("101.5000")


def test_admin_shows_why_an_import_is_held_and_confirms_it(tmp_path, stocked, client, run_jobs):
    held = run(stocked, write(tmp_path, HEADER + rows(10)))
    buyer = make_user(role=Role.PURCHASING)
    db.session.commit()
    login(client, buyer)
    page = client.get(f"/admin/catalog/imports/{held.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "withdraw 10 of 20 offers (50%)" in text
    assert "Import anyway" in text
    response = client.post(f"/admin/catalog/imports/{held.id}/confirm")
    assert response.status_code == 303
    run_jobs()
    assert db.session.get(FeedImport, held.id).status is ImportStatus.SUCCEEDED
    assert live_offers(stocked) == 10


def test_an_uploaded_feed_is_kept_in_the_database_for_a_worker_on_another_machine(
    tmp_path, supplier, run_jobs
):
    path = write(tmp_path, HEADER + rows(3))
    queued = feeds.queue_import(supplier, path, "feed.csv", actor_id=None)
    db.session.commit()
    path.unlink()  # the worker's machine does not have the web node's disk
    run_jobs()
    done = db.session.get(FeedImport, queued.id)
    assert done.status is ImportStatus.SUCCEEDED, done.error
    assert live_offers(supplier) == 3


def test_the_cli_prints_why_a_feed_is_held_and_exits_non_zero(app, tmp_path, stocked):
    path = write(tmp_path, HEADER + rows(15))  # 5 of 20 = 25% withdrawn
    result = app.test_cli_runner().invoke(args=["catalog", "import-feed", "ingram", str(path)])
    assert result.exit_code == 3, result.output
    assert "Import held, nothing was changed: " in result.output
    assert "withdraw 5 of 20 offers (25%)" in result.output
    assert "Read " not in result.output  # no summary of changes that were not made
    assert live_offers(stocked) == 20


def _format_form(supplier, **changes) -> dict:
    form = {f"col_{name}": name for name in feeds.REQUIRED + feeds.OPTIONAL}
    form.update(
        delimiter=",", decimal_separator=".", thousands_separator="", encoding="utf-8-sig",
        full_feed="y", max_withdrawn_percent="20", max_bad_rows_percent="2",
    )  # fmt: skip
    form.update(changes)
    return form


def test_the_feed_format_form_sets_the_hold_limits(client, supplier):
    buyer = make_user(role=Role.PURCHASING)
    db.session.commit()
    login(client, buyer)
    page = client.get(f"/admin/catalog/suppliers/{supplier.id}/feed").get_data(as_text=True)
    assert 'name="max_withdrawn_percent"' in page and 'value="20"' in page
    assert 'name="max_bad_rows_percent"' in page
    response = client.post(
        f"/admin/catalog/suppliers/{supplier.id}/feed-format",
        data=_format_form(supplier, max_withdrawn_percent="50", max_bad_rows_percent="5"),
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    limits = feeds.FeedFormat.from_json(db.session.get(type(supplier), supplier.id).feed_format)
    assert (limits.max_withdrawn_percent, limits.max_bad_rows_percent) == (50, 5)
    client.post(  # left blank: the defaults
        f"/admin/catalog/suppliers/{supplier.id}/feed-format",
        data=_format_form(supplier, max_withdrawn_percent="", max_bad_rows_percent=" "),
    )
    db.session.expire_all()
    limits = feeds.FeedFormat.from_json(db.session.get(type(supplier), supplier.id).feed_format)
    assert (limits.max_withdrawn_percent, limits.max_bad_rows_percent) == (20, 2)


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_withdrawn_percent", "101"), ("max_withdrawn_percent", "-1"),
     ("max_bad_rows_percent", "2.5"), ("max_bad_rows_percent", "1e3")],
)  # fmt: skip
def test_hold_limits_out_of_bounds_are_refused_naming_the_field(client, supplier, field, value):
    buyer = make_user(role=Role.PURCHASING)
    db.session.commit()
    login(client, buyer)
    before = dict(supplier.feed_format or {})
    response = client.post(
        f"/admin/catalog/suppliers/{supplier.id}/feed-format",
        data=_format_form(supplier, **{field: value}),
    )
    assert response.status_code == 422
    assert "whole number from 0 to 100" in response.get_data(as_text=True)
    db.session.expire_all()
    assert dict(db.session.get(type(supplier), supplier.id).feed_format or {}) == before
