"""Search relevance on the demo catalog: realistic queries and what each must find first.

The demo seed is loaded once through the real feed importer and indexed; each query names a
test on the products it must return among the first results (every one of the first N, or at
least one of them), so the table reads as what a shopper expects.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from webapp.catalog import search
from webapp.catalog.models import Brand, Category, Product
from webapp.catalog.operations import reindex
from webapp.catalog.queries import unit_price
from webapp.demo.seed import seed
from webapp.extensions import db


def _product(brand: str | None = None, category: str | None = None, name: str = ""):
    """A test on (brand, category, name, mpn): all the given parts must match."""
    pattern = re.compile(name, re.IGNORECASE) if name else None

    def matches(row: tuple[str, str, str, str]) -> bool:
        row_brand, row_category, row_name, _mpn = row
        return (
            (brand is None or row_brand == brand)
            and (category is None or row_category == category)
            and (pattern is None or bool(pattern.search(row_name)))
        )

    return matches


# (query, how many first results are looked at, "all" or "any" of them must match, test)
QUERIES = [
    # brand + category words, in either order, singular or plural
    ("lenovo laptop", 5, "all", _product("Lenovo", "Laptops")),
    ("laptop lenovo", 5, "all", _product("Lenovo", "Laptops")),
    ("lenovo laptops", 5, "all", _product("Lenovo", "Laptops")),
    ("dell monitor", 5, "all", _product("Dell", "Monitors")),
    ("hp printer", 5, "all", _product("HP", "Printers")),
    ("cisco switch", 5, "all", _product("Cisco", "Switches")),
    ("cisco switches", 5, "all", _product("Cisco", "Switches")),
    ("ubiquiti access point", 5, "all", _product("Ubiquiti", "Wireless Access Points")),
    ("synology nas", 3, "all", _product("Synology", "NAS")),
    ("apc ups", 3, "all", _product("APC", "UPS & Power")),
    ("jabra headset", 3, "all", _product("Jabra", "Headsets")),
    ("logitech mouse", 3, "all", _product("Logitech", "Keyboards & Mice", "mouse")),
    ("logitech mice", 3, "all", _product("Logitech", "Keyboards & Mice", "mouse")),
    ("lenovo notebook", 3, "all", _product("Lenovo", "Laptops")),
    ("docking station", 5, "all", _product(category="Docking Stations")),
    ("dell dock", 3, "all", _product("Dell", "Docking Stations")),
    ("fortinet firewall", 3, "all", _product("Fortinet", "Firewalls")),
    ("brother toner", 3, "all", _product("Brother", "Toner & Ink")),
    ("server dell", 3, "all", _product("Dell", "Servers")),
    # units written either way
    ("ssd 1tb", 5, "all", _product(category="Solid State Drives", name=r"\b1TB\b")),
    ("1 TB SSD", 5, "all", _product(category="Solid State Drives", name=r"\b1TB\b")),
    ("samsung 1tb nvme", 3, "all", _product("Samsung", name=r"1TB NVMe")),
    ("16gb ddr5", 5, "all", _product(category="Memory", name=r"16GB DDR5")),
    ("24 port poe switch", 5, "all", _product(category="Switches", name=r"24-Port.*PoE")),
    ("24-port switch", 5, "all", _product(category="Switches", name="24-Port")),
    ("1500va ups", 3, "all", _product(category="UPS & Power", name="1500VA")),
    ('27" monitor', 5, "all", _product(category="Monitors", name='27"')),
    ("ironwolf 8 tb", 3, "all", _product("Seagate", name="IronWolf Pro 8TB")),
    # model names and numbers
    ("thinkpad x1 carbon", 3, "all", _product("Lenovo", name="X1 Carbon")),
    ("carbon x1", 3, "all", _product("Lenovo", name="X1 Carbon")),
    ("latitude 5440", 3, "all", _product("Dell", name="Latitude 5440")),
    ("elitebook 840", 3, "all", _product("HP", name="EliteBook 840")),
    ("macbook air", 3, "all", _product("Apple", name="MacBook Air")),
    ("optiplex micro", 3, "all", _product("Dell", name="OptiPlex Micro")),
    ("mx master", 3, "all", _product("Logitech", name="MX Master")),
    ("evolve2 65", 3, "all", _product("Jabra", name="Evolve2 65")),
    ("unifi u6 pro", 1, "all", _product("Ubiquiti", name="U6 Pro")),
    ("catalyst 9200", 3, "all", _product("Cisco", name="Catalyst 9200")),
    ("microsoft 365 business premium", 3, "all", _product("Microsoft", name="Business Premium")),
    ("m365 e3", 3, "any", _product("Microsoft", name="365 E3")),
    ("windows server licence", 3, "all", _product("Microsoft", name="Windows Server")),
    ("windows server license", 3, "all", _product("Microsoft", name="Windows Server")),
    ("poweredge r760", 3, "all", _product("Dell", name="PowerEdge R760")),
    ("cat6a patch cable 2m", 3, "all", _product("StarTech", name="Cat6A.*2m")),
    ("usb-c to hdmi", 3, "all", _product(name="USB-C to HDMI")),
    ("usb c hdmi adapter", 3, "all", _product(name="USB-C to HDMI")),
    ("wifi 7 access point", 3, "all", _product(name="Wi-Fi 7")),
    ("thunderbolt dock", 5, "all", _product(category="Docking Stations", name="Thunderbolt")),
    # part numbers with or without their punctuation
    ("DS923+", 1, "all", _product("Synology", name="DS923\\+")),
    ("ds923", 1, "all", _product("Synology", name="DS923\\+")),
    ("C9200L-24P-4G-E", 1, "all", _product("Cisco", name="9200L 24-Port")),
    ("c9200l24p4ge", 1, "all", _product("Cisco", name="9200L 24-Port")),
    ("FG-60F", 3, "any", _product("Fortinet", name="60F")),
    ("fg60f", 3, "any", _product("Fortinet", name="60F")),
    ("usw pro 24 poe", 3, "any", _product("Ubiquiti", name="Switch Pro 24-Port")),
]

# Misspelled queries: nothing matches as typed, and "did you mean" offers the correction.
TYPOS = [
    ("lenvo laptop", "lenovo laptop"),
    ("thinkpda", "thinkpad"),
    ("synolgy nas", "synology nas"),
    ("fortigte", "fortigate"),
    ("logitec mouse", "logitech mouse"),
    ("ubiqiti switch", "ubiquiti switch"),
    ("moniter dell", "monitor dell"),
]


@pytest.fixture
def demo_catalog(app, tmp_path):
    seed(600, tmp_path / "feeds", echo=lambda _line: None)
    db.session.commit()
    reindex()
    rows = db.session.execute(
        select(Product.id, Brand.name, Category.name, Product.name, Product.mpn)
        .join(Brand, Product.brand_id == Brand.id)
        .join(Category, Product.category_id == Category.id)
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def _misses(catalog, query: str, first: int, mode: str, test) -> str | None:
    found = search.search(query, limit=first)
    rows = [catalog[i] for i in found.product_ids]
    if not rows:
        return f"{query!r}: nothing found"
    ok = all(map(test, rows)) if mode == "all" else any(map(test, rows))
    if mode == "all" and len(rows) < min(first, 1):
        ok = False
    if not ok:
        return f"{query!r}: first {first} were {[r[2] for r in rows]}"
    return None


def test_realistic_queries_find_the_expected_products_first(demo_catalog):
    assert len(QUERIES) >= 40
    misses = [m for q in QUERIES if (m := _misses(demo_catalog, *q)) is not None]
    assert misses == [], "\n".join(misses)


def test_a_misspelled_query_finds_nothing_and_did_you_mean_corrects_it(demo_catalog):
    wrong = []
    for typed, expected in TYPOS:
        if search.search(typed).total != 0:
            wrong.append(f"{typed!r} matched as typed")
        corrected = search.did_you_mean(typed)
        if corrected != expected:
            wrong.append(f"{typed!r}: did you mean {corrected!r}, expected {expected!r}")
        elif search.search(corrected).total == 0:
            wrong.append(f"{corrected!r} finds nothing")
    assert wrong == [], "\n".join(wrong)


def test_words_the_catalog_has_need_no_correction(demo_catalog):
    assert search.did_you_mean("lenovo laptop") is None
    assert search.did_you_mean("xqzvbn") is None  # nothing close: no suggestion at all


def test_facets_count_the_matches_per_brand_category_price_and_stock(demo_catalog):
    found = search.search("laptop", limit=200, with_facets=True)
    rows = [demo_catalog[i] for i in found.product_ids]
    brand_ids = dict(db.session.execute(select(Brand.name, Brand.id)).all())
    lenovo = sum(1 for row in rows if row[0] == "Lenovo")
    assert lenovo > 0 and found.facets.brands[brand_ids["Lenovo"]] == lenovo
    assert sum(found.facets.brands.values()) == found.total
    assert sum(found.facets.price_bands.values()) <= found.total
    narrowed = search.search(
        "laptop", filters=search.Filters(brand_id=brand_ids["Lenovo"]), with_facets=True
    )
    assert narrowed.total == lenovo
    # The brand facet still counts the other brands while one is picked.
    assert narrowed.facets.brands == found.facets.brands


def _list_prices(ids):
    return [unit_price(db.session.get(Product, i), None) for i in ids]


def test_price_sort_orders_by_list_price(demo_catalog):
    cheapest = _list_prices(search.search("ssd", sort=search.Sort.PRICE_LOW, limit=20).product_ids)
    assert len(cheapest) == 20 and cheapest == sorted(cheapest)
    dearest = _list_prices(search.search("ssd", sort=search.Sort.PRICE_HIGH, limit=20).product_ids)
    assert dearest == sorted(dearest, reverse=True) and dearest[0] > cheapest[-1]


def test_name_and_availability_sorts(demo_catalog):
    ids = search.search("laptop", sort=search.Sort.NAME, limit=30).product_ids
    names = [demo_catalog[i][2].casefold() for i in ids]
    assert names == sorted(names)
    ids = search.search("laptop", sort=search.Sort.AVAILABILITY, limit=200).product_ids
    stocked = [db.session.get(Product, i).total_stock > 0 for i in ids]
    assert True in stocked and False in stocked
    assert stocked == sorted(stocked, reverse=True)  # everything in stock before the rest
