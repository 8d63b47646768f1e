"""Full-text product search on an embedded tantivy index derived from the catalog tables.

The database stays the source of truth: the index holds only what ranking needs, is updated
by a worker job after every committed catalog change, and `flask catalog reindex` rebuilds it
from scratch. A ranked SQLite FTS5 / PostgreSQL tsvector query measured 40-140 ms at a million
products; tantivy's block-max WAND answers the same top-48 in a few milliseconds.
"""

from __future__ import annotations

import enum
import functools
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import tantivy
from flask import current_app

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_MAX_TOKENS = 8
_RELOAD_EVERY_SECONDS = 1.0
# Bump when what is indexed or how text is normalised changes: a new schema gets a new
# directory (an index cannot change schema in place), filled by `flask catalog reindex`.
SCHEMA_VERSION = 2
# "1 TB" and "1tb", "24-Port" and "24 ports" are the same words: a number followed by one of
# these units is joined to it, in the index and in the query alike ("2" alone must not match
# "2 TB" nor "M.2").
_UNITS = frozenset(
    [
        "tb",
        "gb",
        "mb",
        "ghz",
        "mhz",
        "hz",
        "w",
        "kw",
        "va",
        "kva",
        "mah",
        "mm",
        "cm",
        "inch",
        "port",
        "bay",
        "core",
        "rpm",
        "gbps",
        "mbps",
    ]
)
_DECIMAL = re.compile(r"(\d)[.,](\d)")
# Words people type for what the catalog calls otherwise (US/UK spelling, plurals English
# forms no suffix rule covers).
_SYNONYMS = {
    "license": "licence",
    "color": "colour",
    "mice": "mouse",
    "wifi": "wi fi",
    "notebook": "laptop",
    "m365": "microsoft 365",
    "o365": "microsoft 365",
    "pc": "desktop",
    "harddrive": "hard drive",
    "hdd": "hard drive",
}
_indexes: dict[str, tantivy.Index] = {}
_last_reload: dict[str, float] = {}
_lock = threading.Lock()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    # Text fields hold words already normalised by `tokens()`, space-separated.
    builder.add_text_field("name", stored=False)
    builder.add_text_field("mpn", stored=False)
    # The part number without its punctuation: "C9200L-24P-4G-E" is also "c9200l24p4ge".
    builder.add_text_field("mpn_compact", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("body", stored=False)  # brand, category, description
    builder.add_integer_field("category_id", indexed=True, fast=True)
    builder.add_integer_field("brand_id", indexed=True, fast=True)
    builder.add_integer_field("in_stock", indexed=True, fast=True)
    # Sort keys: list price in cents (no price group), name, and availability (0 = in stock,
    # else the days until a supplier delivers; 9999 = no date).
    builder.add_integer_field("price_cents", indexed=True, fast=True)
    builder.add_text_field("name_sort", stored=False, tokenizer_name="raw", fast=True)
    builder.add_integer_field("availability", indexed=True, fast=True)
    return builder.build()


def index_dir() -> str:
    return str(Path(current_app.config["SEARCH_INDEX_DIR"]) / f"v{SCHEMA_VERSION}")


def get_index() -> tantivy.Index:
    """Open (or create) this process's handle on the index."""
    path = index_dir()
    with _lock:
        index = _indexes.get(path)
        if index is None:
            Path(path).mkdir(parents=True, exist_ok=True)
            index = tantivy.Index(_schema(), path=path, reuse=True)
            _indexes[path] = index
            _last_reload[path] = time.monotonic()
    return index


def _fresh_searcher(index: tantivy.Index) -> tantivy.Searcher:
    # Another process (the worker) writes the index: pick up its commits, at most once a second.
    path = index_dir()
    now = time.monotonic()
    if now - _last_reload.get(path, 0.0) > _RELOAD_EVERY_SECONDS:
        index.reload()
        _last_reload[path] = now
    return index.searcher()


@dataclass(frozen=True)
class IndexedProduct:
    id: int
    name: str
    mpn: str
    brand: str
    category: str
    description: str
    category_id: int
    brand_id: int
    in_stock: bool
    price_cents: int | None = None
    eta_days: int | None = None


def _stem(word: str) -> str:
    """Return the singular of an English plural ("laptops", "switches", "batteries")."""
    if len(word) <= 3 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def raw_tokens(text: str) -> list[str]:
    """Split text into alphanumeric runs, lowercased (what a part number is made of)."""
    return [token.lower() for token in _TOKEN.findall(text) if len(token) <= 40]


def tokens(text: str) -> list[str]:
    """Normalise text into search words: lowercased, units split off, plurals singular."""
    words: list[str] = []
    for token in raw_tokens(_DECIMAL.sub(r"\1\2", text)):
        for word in _SYNONYMS.get(token, token).split():
            word = _stem(word)
            if word in _UNITS and words and words[-1].isdigit():
                words[-1] += word
            else:
                words.append(word)
    return words


def compact(text: str) -> str:
    """A part number without punctuation or case: how people type one."""
    return "".join(raw_tokens(text))[:60]


def _normalised(text: str) -> str:
    return " ".join(tokens(text))


def upsert(products: Iterable[IndexedProduct], remove_ids: Iterable[int] = ()) -> int:
    """Write products to the index (replacing any earlier version) and commit."""
    index = get_index()
    writer = index.writer(heap_size=128_000_000, num_threads=1)
    count = 0
    try:
        for product in products:
            writer.delete_documents_by_term("id", product.id)
            writer.add_document(
                tantivy.Document(
                    id=product.id,
                    name=_normalised(product.name),
                    mpn=" ".join(raw_tokens(product.mpn)),
                    mpn_compact=compact(product.mpn),
                    body=_normalised(f"{product.brand} {product.category} {product.description}"),
                    category_id=product.category_id,
                    brand_id=product.brand_id,
                    in_stock=int(product.in_stock),
                    # Unpriced products sort last by price, whichever way.
                    price_cents=product.price_cents if product.price_cents is not None else -1,
                    name_sort=" ".join(raw_tokens(product.name))[:80],
                    availability=0
                    if product.in_stock
                    else (product.eta_days if product.eta_days is not None else 9999),
                )
            )
            count += 1
        # Read after the loop: a generator may only learn what to remove as it goes.
        for product_id in remove_ids:
            writer.delete_documents_by_term("id", product_id)
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    index.reload()
    return count


def clear() -> None:
    index = get_index()
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    writer.delete_all_documents()
    writer.commit()
    writer.wait_merging_threads()
    index.reload()


class Sort(enum.StrEnum):
    RELEVANCE = "relevance"
    PRICE_LOW = "price"
    PRICE_HIGH = "-price"
    NAME = "name"
    AVAILABILITY = "availability"

    @property
    def label(self) -> str:
        return {
            "relevance": "Best match",
            "price": "Price: low to high",
            "-price": "Price: high to low",
            "name": "Name: A to Z",
            "availability": "Availability",
        }[self.value]


# Price bands of the price facet, in whole currency units: (low, high), high exclusive.
PRICE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 50),
    (50, 200),
    (200, 500),
    (500, 1000),
    (1000, 2500),
    (2500, None),
)


@dataclass(frozen=True)
class Filters:
    """What the shopper narrowed a search to; every facet combines with the others."""

    in_stock_only: bool = False
    category_id: int | None = None
    brand_id: int | None = None
    price_band: tuple[int, int | None] | None = None

    @property
    def any(self) -> bool:
        return (
            self.in_stock_only
            or self.category_id is not None
            or self.brand_id is not None
            or self.price_band is not None
        )


@dataclass(frozen=True)
class Facets:
    """Counts of the matching products per facet value, with the other filters applied."""

    brands: dict[int, int]
    categories: dict[int, int]
    price_bands: dict[tuple[int, int | None], int]
    in_stock: int


@dataclass(frozen=True)
class SearchPage:
    product_ids: list[int]
    total: int
    facets: Facets | None = None


def _token_query(index: tantivy.Index, token: str, *, prefix: bool, fuzzy: bool = False):
    schema = index.schema
    clauses = [
        (
            tantivy.Occur.Should,
            tantivy.Query.boost_query(tantivy.Query.term_query(schema, "mpn", token), 3.0),
        ),
        (
            tantivy.Occur.Should,
            tantivy.Query.boost_query(tantivy.Query.term_query(schema, "name", token), 2.0),
        ),
        (tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", token)),
    ]
    if prefix and len(token) >= 2:
        # The word still being typed: match it as a prefix, below an exact match.
        for field in ("name", "mpn"):
            clauses.append((tantivy.Occur.Should, _prefix_query(field, token)))
    if fuzzy and len(token) >= 4 and not token.isdigit():
        for field in ("name", "body"):
            clauses.append(
                (tantivy.Occur.Should, tantivy.Query.fuzzy_term_query(schema, field, token, 1))
            )
    return tantivy.Query.boolean_query(clauses)


@functools.lru_cache(maxsize=1024)
def _prefix_query(field: str, token: str) -> tantivy.Query:
    # Compiling the regex automaton costs ~0.4 ms, more than running the query; the words
    # people are typing ("la", "lat", "lati") repeat, so compiled queries are kept. Every
    # index has the one schema, so a query built on it serves them all.
    pattern = re.escape(token) + ".*"
    regex = tantivy.Query.regex_query(_shared_schema(), field, pattern)
    return tantivy.Query.const_score_query(regex, 0.5)


@functools.cache
def _shared_schema() -> tantivy.Schema:
    return _schema()


def _text_query(index: tantivy.Index, text: str, *, fuzzy: bool = False) -> tantivy.Query | None:
    """Every word must match (in any order), or the whole text is a part number."""
    words = tokens(text)[:_MAX_TOKENS]
    if not words:
        return None
    schema = index.schema
    every_word = tantivy.Query.boolean_query(
        [
            (
                tantivy.Occur.Must,
                _token_query(index, word, prefix=(i == len(words) - 1), fuzzy=fuzzy),
            )
            for i, word in enumerate(words)
        ]
    )
    alternatives = [(tantivy.Occur.Should, every_word)]
    part_number = compact(text)
    if len(part_number) >= 3:
        # "c9200l24p4ge", "C9200L 24P" or "c9200l-24": a part number typed without (or with
        # other) punctuation, whole or as its beginning.
        alternatives.append(
            (
                tantivy.Occur.Should,
                tantivy.Query.boost_query(
                    tantivy.Query.term_query(schema, "mpn_compact", part_number), 10.0
                ),
            )
        )
        alternatives.append((tantivy.Occur.Should, _prefix_query("mpn_compact", part_number)))
    return tantivy.Query.boolean_query(alternatives)


def _filter_clauses(schema: tantivy.Schema, filters: Filters, *, skip: str = "") -> list:
    clauses = []
    if filters.in_stock_only and skip != "in_stock":
        clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(schema, "in_stock", 1)))
    if filters.category_id is not None and skip != "category":
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.term_query(schema, "category_id", filters.category_id),
            )
        )
    if filters.brand_id is not None and skip != "brand":
        clauses.append(
            (tantivy.Occur.Must, tantivy.Query.term_query(schema, "brand_id", filters.brand_id))
        )
    if filters.price_band is not None and skip != "price":
        low, high = filters.price_band
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.range_query(
                    schema,
                    "price_cents",
                    tantivy.FieldType.Integer,
                    low * 100,
                    high * 100 if high is not None else None,
                    include_upper=high is None,
                ),
            )
        )
    return clauses


_FACET_FIELDS = {"brand": "brand_id", "category": "category_id", "in_stock": "in_stock"}


def _facet_aggregations(names: Iterable[str]) -> dict:
    aggregations: dict = {}
    for name in names:
        if name == "price":
            ranges = [
                {"from": low * 100, **({"to": high * 100} if high is not None else {})}
                for low, high in PRICE_BANDS
            ]
            aggregations[name] = {"range": {"field": "price_cents", "ranges": ranges}}
        else:
            aggregations[name] = {"terms": {"field": _FACET_FIELDS[name], "size": 40}}
    return aggregations


def _facets(searcher: tantivy.Searcher, schema, text_query, filters: Filters) -> Facets:
    """Counts per facet value over the matches of the *other* filters: picking a brand still
    shows how many products the other brands have. Facets without a picked value share one
    aggregation pass; each picked one needs its own (its filter left out)."""

    def matching(skip: str = "") -> tantivy.Query:
        clauses = _filter_clauses(schema, filters, skip=skip)
        if text_query is not None:
            clauses.append((tantivy.Occur.Must, text_query))
        if not clauses:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query(clauses)

    picked = {
        "brand": filters.brand_id is not None,
        "category": filters.category_id is not None,
        "price": filters.price_band is not None,
        "in_stock": filters.in_stock_only,
    }
    results: dict = {}
    shared = [name for name, is_picked in picked.items() if not is_picked]
    if shared:
        results.update(searcher.aggregate(matching(), _facet_aggregations(shared)))
    for name in (name for name, is_picked in picked.items() if is_picked):
        results.update(searcher.aggregate(matching(skip=name), _facet_aggregations([name])))

    def terms(name: str) -> dict[int, int]:
        return {int(b["key"]): int(b["doc_count"]) for b in results[name]["buckets"]}

    # Range buckets come back in the order asked for; the "from" key skips tantivy's
    # implicit below-the-first-range bucket (prices of -1: unpriced).
    bands = [b for b in results["price"]["buckets"] if "from" in b]
    return Facets(
        brands=terms("brand"),
        categories=terms("category"),
        price_bands={
            band: int(bucket["doc_count"]) for band, bucket in zip(PRICE_BANDS, bands, strict=False)
        },
        in_stock=terms("in_stock").get(1, 0),
    )


_SORT_FIELDS = {
    Sort.PRICE_LOW: ("price_cents", tantivy.Order.Asc),
    Sort.PRICE_HIGH: ("price_cents", tantivy.Order.Desc),
    Sort.NAME: ("name_sort", tantivy.Order.Asc),
    Sort.AVAILABILITY: ("availability", tantivy.Order.Asc),
}


def search(
    text: str,
    *,
    in_stock_only: bool = False,
    category_id: int | None = None,
    filters: Filters | None = None,
    sort: Sort = Sort.RELEVANCE,
    limit: int = 48,
    offset: int = 0,
    with_facets: bool = False,
    fuzzy: bool = False,
) -> SearchPage:
    """Return one page of product ids for `text`, best match first unless sorted otherwise.

    Empty text lists everything the filters allow (a category browsed with facets); empty
    text without filters finds nothing.
    """
    if filters is None:
        filters = Filters(in_stock_only=in_stock_only, category_id=category_id)
    index = get_index()
    schema = index.schema
    text_query = _text_query(index, text, fuzzy=fuzzy)
    if text_query is None and not filters.any:
        return SearchPage([], 0)
    clauses = _filter_clauses(schema, filters)
    if text_query is not None:
        clauses.append((tantivy.Occur.Must, text_query))
    searcher = _fresh_searcher(index)
    query = tantivy.Query.boolean_query(clauses)
    if sort is Sort.PRICE_LOW:
        # Unpriced products (-1) would come first: leave them out of a cheapest-first list.
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, query),
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        schema, "price_cents", tantivy.FieldType.Integer, 0, None
                    ),
                ),
            ]
        )
    if sort is Sort.RELEVANCE and text_query is None:
        sort = Sort.NAME  # browsing without words: every match scores alike, so A to Z
    if sort is Sort.RELEVANCE:
        result = searcher.search(query, limit=limit, offset=offset, count=True)
    else:
        field, order = _SORT_FIELDS[sort]
        result = searcher.search(
            query, limit=limit, offset=offset, count=True, order_by_field=field, order=order
        )
    # Ids from the fast-field column: no stored document is read and decompressed.
    ids = searcher.fast_field_values("id", [address for _key, address in result.hits])
    facets = _facets(searcher, schema, text_query, filters) if with_facets else None
    return SearchPage(ids, result.count or 0, facets)


def facet_counts(text: str, filters: Filters | None = None) -> Facets | None:
    """The facet counts of what `search(text, filters=filters)` matches, alone: the search
    page draws its facet column from them in a request of its own, so a page is never held
    up by counting hundreds of thousands of matches. None when the search finds nothing."""
    filters = filters or Filters()
    index = get_index()
    text_query = _text_query(index, text)
    if text_query is None and not filters.any:
        return None
    return _facets(_fresh_searcher(index), index.schema, text_query, filters)


def did_you_mean(text: str) -> str | None:
    """Return `text` with each word the catalog does not know replaced by the most common
    known word one typo away, or None when no word needs (or has) a correction."""
    index = get_index()
    searcher = _fresh_searcher(index)
    changed = False
    corrected: list[str] = []
    for word in _TOKEN.findall(text)[:_MAX_TOKENS]:
        normal = tokens(word)
        known = all(
            searcher.doc_freq("name", token)
            or searcher.doc_freq("body", token)
            or searcher.doc_freq("mpn", token)
            for token in normal
        )
        if known or len(normal) != 1 or len(normal[0]) < 4 or normal[0].isdigit():
            corrected.append(word)
            continue
        best = _closest_term(searcher, normal[0])
        if best is None:
            corrected.append(word)
        else:
            corrected.append(best)
            changed = True
    return " ".join(corrected) if changed else None


def _closest_term(searcher: tantivy.Searcher, word: str) -> str | None:
    # Terms sharing the first letter or (a typo in the first letter) the second: the term
    # dictionary is walked only when a search found nothing.
    candidates: dict[str, int] = {}
    for field in ("name", "body"):
        for prefix in {word[0], word[1]} if word[0] != word[1] else {word[0]}:
            for term, count in searcher.terms_with_prefix(field, prefix):
                if isinstance(term, bytes):
                    term = term.decode()
                if _one_edit_apart(word, term):
                    candidates[term] = candidates.get(term, 0) + count
    if not candidates:
        return None
    return max(candidates.items(), key=lambda item: (item[1], item[0]))[0]


def _one_edit_apart(a: str, b: str) -> bool:
    """True when one insertion, deletion, substitution or swap of neighbours turns a into b."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]
