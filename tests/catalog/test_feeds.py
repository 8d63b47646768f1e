from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from tests.factories import make_brand, make_category, make_product, make_supplier
from webapp.catalog import feeds
from webapp.catalog.models import FeedImport, ImportStatus, Product, SupplierOffer
from webapp.extensions import db

HEADER = "sku,mpn,brand,name,category,cost,stock,eta_days\n"


def write(tmp_path: Path, text: str, name="feed.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def run(supplier, path) -> FeedImport:
    record = feeds.create_run(supplier, path, path.name, actor_id=None)
    db.session.commit()
    return feeds.execute(record.id)


@pytest.fixture
def supplier(app):
    make_category("Laptops")
    make_category("Monitors")
    found = make_supplier("ingram")
    db.session.commit()
    return found


def offers(supplier):
    return {
        o.supplier_sku: (o.cost, o.stock, o.available)
        for o in db.session.scalars(
            select(SupplierOffer).where(SupplierOffer.supplier_id == supplier.id)
        )
    }


def test_feed_creates_products_and_offers_and_fills_aggregates(tmp_path, supplier):
    path = write(
        tmp_path,
        HEADER + "I-1,T14,Lenovo,ThinkPad T14,Laptops,1000.50,5,3\n"
        "I-2,U27,Dell,Dell U2723,Monitors,400,0,10\n",
    )
    result = run(supplier, path)
    assert result.status is ImportStatus.SUCCEEDED
    assert (result.rows_read, result.products_created, result.offers_created) == (2, 2, 2)
    product = db.session.scalar(select(Product).where(Product.mpn == "T14"))
    assert (product.best_cost, product.total_stock, product.min_eta_days) == (
        Decimal("1000.5000"),
        5,
        3,
    )
    assert product.brand.name == "Lenovo"


def test_reimport_updates_offers_instead_of_duplicating(tmp_path, supplier):
    run(supplier, write(tmp_path, HEADER + "I-1,T14,Lenovo,ThinkPad,Laptops,1000,5,3\n"))
    result = run(supplier, write(tmp_path, HEADER + "I-1,T14,Lenovo,ThinkPad,Laptops,990,7,2\n"))
    assert (result.offers_created, result.offers_updated, result.products_created) == (0, 1, 0)
    assert offers(supplier) == {"I-1": (Decimal("990.0000"), 7, True)}
    assert db.session.query(Product).count() == 1


def test_bad_rows_are_skipped_with_their_line_numbers_and_reasons(tmp_path, supplier):
    supplier.feed_format = {
        **(supplier.feed_format or {}),
        **{"max_bad_rows_percent": 100},
    }  # small feeds: past the hold limits of a real one
    db.session.commit()
    path = write(
        tmp_path,
        HEADER
        + "I-1,T14,Lenovo,ThinkPad,Laptops,1000,5,3\n"  # line 2: fine
        + "I-2,X1,Lenovo,X1 Carbon,Laptops,abc,5,3\n"  # line 3: cost
        + "I-3,E16,Lenovo,E16,Laptops,-5,5,3\n"  # line 4: negative cost
        + "I-4,E14,Lenovo,E14,Laptops,0,5,3\n"  # line 5: zero cost
        + "I-5,P1,Lenovo,P1,Laptops,900,many,3\n"  # line 6: stock
        + "I-6,,Lenovo,No MPN,Laptops,900,1,3\n"  # line 7: empty mpn
        + "I-1,T14,Lenovo,ThinkPad,Laptops,1000,5,3\n"  # line 8: duplicate SKU
        + "I-7,Z9,Acme,Gadget,Toasters,50,1,1\n"  # line 9: unmapped category
        + "I-8,Z8,Acme,Gadget,Laptops,50,1\n"  # line 10: short row is fine
        + "I-9,Z7,Acme,Gadget,Laptops,50,1,1,extra\n",  # line 11: too many fields
    )
    result = run(supplier, path)
    assert result.status is ImportStatus.SUCCEEDED
    problems = {p["line"]: p["reason"] for p in result.problems}
    assert problems == {
        3: "cost: 'abc' is not a number",
        4: "cost must be more than zero, not -5",
        5: "cost must be more than zero, not 0",
        6: "stock: 'many' is not a whole number",
        7: "mpn is empty",
        8: "SKU 'I-1' already appeared on line 2",
        9: "category 'Toasters' is not mapped to one of ours",
        11: "9 fields where the header has 8: a value with a ',' in it (a decimal comma?) "
        "must be quoted",
    }
    assert result.rows_skipped == 8
    assert set(offers(supplier)) == {"I-1", "I-8"}


def test_hostile_costs_are_bad_rows_and_never_an_offer_at_zero(tmp_path, supplier):
    """A cost of 0.00004 once became an offer at $0; "١٢٣" an offer at $123 (issue 13)."""
    supplier.feed_format = {**(supplier.feed_format or {}), "max_bad_rows_percent": 100}
    db.session.commit()
    hostile = ["0.00004", "١٢٣", "９９", "NaN", "Infinity", "1e30", "9" * 29, "-0"]
    path = write(
        tmp_path,
        HEADER
        + "I-0,OK,Lenovo,Fine,Laptops,10.00005,1,1\n"  # line 2: rounded to 4 places, kept
        + "".join(
            f"I-{n},M{n},Lenovo,Bad {n},Laptops,{cost},5,3\n"
            for n, cost in enumerate(hostile, start=1)
        ),
    )
    result = run(supplier, path)
    problems = {p["line"]: p["reason"] for p in result.problems}
    assert problems == {
        3: "cost 0.00004 rounds to 0 at 4 decimal places",
        4: "cost: '١٢٣' is not a number (digits 0-9 only)",
        5: "cost: '９９' is not a number (digits 0-9 only)",
        6: "cost: 'NaN' is not a number",
        7: "cost: 'Infinity' is not a number",
        8: "cost 1e30 is too large",
        9: f"cost {'9' * 29} is too large",
        10: "cost must be more than zero, not -0",
    }
    assert offers(supplier) == {"I-0": (Decimal("10.0000"), 1, True)}


def test_missing_columns_fail_the_whole_import_and_write_nothing(tmp_path, supplier):
    result = run(supplier, write(tmp_path, "sku,brand,name\nI-1,Lenovo,ThinkPad\n"))
    assert result.status is ImportStatus.FAILED
    assert result.error.startswith("line 1: missing column(s) mpn, cost")
    assert offers(supplier) == {}


def test_a_file_in_the_wrong_encoding_fails_cleanly(tmp_path, supplier):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + "I-1,T14,Lenovo,Caf\xe9 ThinkPad,Laptops,10,1,1\n").encode("latin-1")
    )
    result = run(supplier, path)
    assert result.status is ImportStatus.FAILED
    assert "not utf-8-sig text" in result.error
    assert offers(supplier) == {}


def test_supplier_specific_format_with_comma_decimals_and_own_columns(tmp_path, supplier):
    supplier.feed_format = {
        "delimiter": ";",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "columns": {
            "sku": "Art",
            "mpn": "PartNo",
            "brand": "Vendor",
            "name": "Text",
            "category": "Group",
            "cost": "Net",
            "stock": "Qty",
            "eta_days": "Lead",
        },
    }
    db.session.commit()
    path = write(
        tmp_path,
        "Art;PartNo;Vendor;Text;Group;Net;Qty;Lead\nS-1;T14;Lenovo;ThinkPad;Laptops;1.234,56;3;2\n",
    )
    result = run(supplier, path)
    assert result.rows_skipped == 0, result.problems
    assert offers(supplier) == {"S-1": (Decimal("1234.5600"), 3, True)}


def test_full_feed_withdraws_offers_it_no_longer_lists(tmp_path, supplier):
    supplier.feed_format = {
        **(supplier.feed_format or {}),
        **{"max_withdrawn_percent": 100},
    }  # small feeds: past the hold limits of a real one
    db.session.commit()
    run(
        supplier,
        write(
            tmp_path, HEADER + "I-1,T14,Lenovo,A,Laptops,10,5,1\nI-2,T15,Lenovo,B,Laptops,20,5,1\n"
        ),
    )
    result = run(supplier, write(tmp_path, HEADER + "I-1,T14,Lenovo,A,Laptops,10,5,1\n"))
    assert result.offers_withdrawn == 1
    assert offers(supplier)["I-2"] == (Decimal("20.0000"), 0, False)
    product = db.session.scalar(select(Product).where(Product.mpn == "T15"))
    assert (product.best_cost, product.total_stock) == (None, 0)


def test_partial_feed_keeps_unlisted_offers(tmp_path, supplier):
    supplier.feed_format = {"full_feed": False}
    db.session.commit()
    run(
        supplier,
        write(
            tmp_path, HEADER + "I-1,T14,Lenovo,A,Laptops,10,5,1\nI-2,T15,Lenovo,B,Laptops,20,5,1\n"
        ),
    )
    run(supplier, write(tmp_path, HEADER + "I-1,T14,Lenovo,A,Laptops,11,5,1\n"))
    assert offers(supplier)["I-2"] == (Decimal("20.0000"), 5, True)


def test_a_crash_midway_keeps_nothing_of_the_run(tmp_path, supplier, monkeypatch):
    # The second chunk cannot be written: the first must not survive either.
    monkeypatch.setattr(feeds, "CHUNK_ROWS", 2)
    rows = "".join(f"I-{i},M{i},Lenovo,P{i},Laptops,10,1,1\n" for i in range(5))
    rows += "I-9," + "M" * 101 + ",Lenovo,Long,Laptops,10,1,1\n"  # over the column limit
    calls = {"n": 0}
    original = feeds._write_chunk

    def write_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(feeds, "_write_chunk", write_chunk)
    with pytest.raises(OSError):
        run(supplier, write(tmp_path, HEADER + rows))
    record = db.session.scalar(select(FeedImport))
    assert record.status is ImportStatus.FAILED
    assert "nothing was kept" in record.error
    assert offers(supplier) == {}
    assert db.session.query(Product).count() == 0
    # The first import builds the listing indexes after its rows; its rollback restores them.
    assert _index_names("products") >= _LISTING


_LISTING = {"ix_products_category_listing", "ix_products_brand_listing"}


def _index_names(table: str) -> set[str]:
    return {index["name"] for index in inspect(db.engine).get_indexes(table)}


def test_first_import_into_an_empty_catalog_ends_with_the_listing_indexes(tmp_path, supplier):
    rows = "".join(f"I-{i},M{i},Lenovo,P{i},Laptops,10,1,1\n" for i in range(5))
    run(supplier, write(tmp_path, HEADER + rows))
    db.session.commit()
    assert _index_names("products") >= _LISTING
    assert db.session.query(Product).count() == 5


def test_big_first_import_recomputes_the_totals_of_the_products_that_existed(tmp_path, supplier):
    # Past SET_BASED_FROM rows on PostgreSQL the new products get their totals from the feed
    # and only the products keyed in before are recomputed; the figures are those of a full
    # refresh either way.
    from webapp.catalog.operations import SET_BASED_FROM

    lenovo = make_brand("Lenovo")
    category = make_category("Keyed")
    listed = make_product(category=category, brand=lenovo, cost=None, mpn="M7")
    unlisted = make_product(category=category, brand=lenovo, cost=None, mpn="KEYED")
    for keyed in (listed, unlisted):  # figures no live offer backs
        keyed.best_cost, keyed.total_stock, keyed.min_eta_days = Decimal("1"), 99, 9
    db.session.commit()
    rows = "".join(
        f"I-{i},M{i},Lenovo,P{i},Laptops,{10 + i % 7},{i % 3},{1 + i % 4}\n"
        for i in range(SET_BASED_FROM + 5)
    )
    result = run(supplier, write(tmp_path, HEADER + rows))
    assert result.status is ImportStatus.SUCCEEDED
    assert result.products_created == SET_BASED_FROM + 4
    db.session.expire_all()
    totals = {
        mpn: (cost, stock, eta)
        for mpn, cost, stock, eta in db.session.execute(
            select(Product.mpn, Product.best_cost, Product.total_stock, Product.min_eta_days)
        )
    }
    assert totals["M7"] == (Decimal("10.0000"), 1, 4)  # from its new offer, not 1 / 99 / 9
    assert totals["KEYED"] == (None, 0, None)  # no live offer
    assert totals["M8"] == (Decimal("11.0000"), 2, 1)
    assert totals["M9"] == (Decimal("12.0000"), 0, 2)


def test_cli_import_prints_a_summary_with_skipped_lines(app, tmp_path, supplier):
    supplier.feed_format = {
        **(supplier.feed_format or {}),
        **{"max_bad_rows_percent": 100},
    }  # small feeds: past the hold limits of a real one
    db.session.commit()
    path = write(
        tmp_path, HEADER + "I-1,T14,Lenovo,A,Laptops,10,5,1\nI-2,T15,Lenovo,B,Laptops,x,5,1\n"
    )
    result = app.test_cli_runner().invoke(args=["catalog", "import-feed", "ingram", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "Read 2 rows: 1 new products, 1 new offers, 0 updated, 0 withdrawn, 1 skipped."
        in result.output
    )
    assert "line 3: cost: 'x' is not a number" in result.output


def test_cli_import_of_an_unknown_supplier_names_the_known_ones(app, tmp_path, supplier):
    path = write(tmp_path, HEADER)
    result = app.test_cli_runner().invoke(args=["catalog", "import-feed", "nope", str(path)])
    assert result.exit_code == 2
    assert "no supplier 'nope' (known: ingram)" in result.output


def test_cli_import_of_a_broken_file_exits_non_zero(app, tmp_path, supplier):
    path = write(tmp_path, "just,some,columns\n1,2,3\n")
    result = app.test_cli_runner().invoke(args=["catalog", "import-feed", "ingram", str(path)])
    assert result.exit_code == 1
    assert "Import failed, nothing was changed: line 1: missing column(s)" in result.output


def test_import_queues_a_reindex_so_new_products_become_searchable(tmp_path, supplier, run_jobs):
    from webapp.catalog import search

    run(
        supplier,
        write(tmp_path, HEADER + "I-1,T14G5,Lenovo,ThinkPad Zebra Edition,Laptops,10,5,1\n"),
    )
    run_jobs()
    assert search.search("zebra").total == 1


def test_an_import_records_its_steps_after_reading_the_rows(tmp_path, supplier):
    from webapp.jobs import redis_conn

    first = run(supplier, write(tmp_path, HEADER + "I-1,T14,Lenovo,A,Laptops,10,5,1\n"))
    progress = redis_conn().hgetall(feeds.progress_key(first.id))
    assert progress[b"done"] == b"1"
    # The first feed import builds the catalog's indexes after its rows, as its last step.
    assert progress[b"step"] == b"Building the catalog's indexes"
    second = run(supplier, write(tmp_path, HEADER + "I-1,T14,Lenovo,A,Laptops,11,5,1\n"))
    assert redis_conn().hget(feeds.progress_key(second.id), "step") == b"Updating product totals"
