"""Catalog writes: keep product aggregates and the search index in step with offers.

Staff edits live beside it by responsibility: `product_editing` (one product),
`feed_setup` (a supplier's feed), `pricing_setup` (markup rules and tax codes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, case, func, or_, select, update

from webapp import jobs, signals
from webapp.catalog import search
from webapp.catalog.cache import bump_catalog_version
from webapp.catalog.models import Brand, Category, Product, SearchIndexChange, SupplierOffer
from webapp.extensions import db

_CHUNK = 500
# From this many products on, one pass over all offers (GROUP BY) is cheaper than correlated
# subqueries per product: a full feed touches most of the catalog.
SET_BASED_FROM = 20_000


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def refresh_product_aggregates(
    product_ids: Sequence[int] | None = None, stale: Sequence[int] | None = None
) -> None:
    """Recompute best cost, total stock and ETA from live offers (all products if None).

    `stale` (with None): only these products' figures can be out of date — a first feed
    import created all the others with theirs — so only they are recomputed; search and
    pricing are still told that every product changed."""
    if product_ids is None or len(product_ids) >= SET_BASED_FROM:
        if stale is not None and len(stale) < SET_BASED_FROM:
            for chunk in _chunks(list(stale)):
                _refresh_some_aggregates(chunk)
        else:
            _refresh_all_aggregates()
        # Reindexing everything is the same work as reindexing most of it, and the job's
        # arguments stay small.
        catalog_changed(None)
        signals.product_prices_changed.send(None, reason="cost")
        return
    repriced: list[int] = []
    for chunk in _chunks(list(product_ids)):
        before = _best_costs(chunk)
        _refresh_some_aggregates(chunk)
        after = _best_costs(chunk)
        repriced += [pid for pid in chunk if before.get(pid) != after.get(pid)]
    catalog_changed(product_ids)
    if repriced:
        signals.product_prices_changed.send(tuple(repriced), reason="cost")


def _refresh_some_aggregates(product_ids: Sequence[int]) -> None:
    live = and_(SupplierOffer.product_id == Product.id, SupplierOffer.available.is_(True))
    stocked_eta = (
        select(func.min(SupplierOffer.eta_days))
        .where(live, SupplierOffer.stock > 0)
        .scalar_subquery()
    )
    any_eta = select(func.min(SupplierOffer.eta_days)).where(live).scalar_subquery()
    values = {
        Product.best_cost: select(func.min(SupplierOffer.cost)).where(live).scalar_subquery(),
        Product.total_stock: select(func.coalesce(func.sum(SupplierOffer.stock), 0))
        .where(live)
        .scalar_subquery(),
        # Available now: the fastest supplier that has stock; otherwise the back-order ETA.
        Product.min_eta_days: func.coalesce(stocked_eta, any_eta),
    }
    db.session.execute(
        update(Product).where(Product.id.in_(product_ids)).values(values),
        execution_options={"synchronize_session": False},
    )


def _best_costs(product_ids: Sequence[int]) -> dict[int, object]:
    # Prices follow the best cost (through the pricing rules): a change is a price change.
    return dict(
        db.session.execute(
            select(Product.id, Product.best_cost).where(Product.id.in_(product_ids))
        ).all()
    )


def _refresh_all_aggregates() -> None:
    """The same aggregates for every product, as two set-based UPDATEs (SQLite and PostgreSQL
    both run UPDATE ... FROM); rows whose figures did not change are not rewritten."""
    live = SupplierOffer.available.is_(True)
    totals = (
        select(
            SupplierOffer.product_id.label("product_id"),
            func.min(SupplierOffer.cost).label("best_cost"),
            func.sum(SupplierOffer.stock).label("total_stock"),
            # Available now: the fastest supplier that has stock; otherwise the back-order ETA.
            func.coalesce(
                func.min(case((SupplierOffer.stock > 0, SupplierOffer.eta_days))),
                func.min(SupplierOffer.eta_days),
            ).label("min_eta_days"),
        )
        .where(live)
        .group_by(SupplierOffer.product_id)
        .subquery()
    )
    db.session.execute(
        update(Product)
        .where(
            Product.id == totals.c.product_id,
            or_(
                Product.best_cost.is_distinct_from(totals.c.best_cost),
                Product.total_stock.is_distinct_from(totals.c.total_stock),
                Product.min_eta_days.is_distinct_from(totals.c.min_eta_days),
            ),
        )
        .values(
            best_cost=totals.c.best_cost,
            total_stock=totals.c.total_stock,
            min_eta_days=totals.c.min_eta_days,
        ),
        execution_options={"synchronize_session": False},
    )
    # Products left with no live offer at all.
    has_live_offer = (
        select(SupplierOffer.id).where(SupplierOffer.product_id == Product.id, live).exists()
    )
    db.session.execute(
        update(Product)
        .where(
            ~has_live_offer,
            or_(
                Product.best_cost.is_not(None),
                Product.total_stock != 0,
                Product.min_eta_days.is_not(None),
            ),
        )
        .values(best_cost=None, total_stock=0, min_eta_days=None),
        execution_options={"synchronize_session": False},
    )


def catalog_changed(product_ids: Sequence[int] | None) -> None:
    """Record the change for every node's search index (all products if None); after commit,
    drop cached listings and have a worker bring its node's index up to date."""
    db.session.add(
        SearchIndexChange(product_ids=list(product_ids) if product_ids is not None else None)
    )
    jobs.call_after_commit(bump_catalog_version)
    jobs.enqueue_after_commit(
        "workers.jobs.reindex_products",
        list(product_ids) if product_ids is not None else None,
        queue="imports",
    )


def reindex(product_ids: Sequence[int] | None = None, progress=None) -> int:
    """Write products to the search index in one commit; obsolete ones are removed."""
    if product_ids is None:
        product_ids = list(db.session.scalars(select(Product.id).order_by(Product.id)))
    removed: list[int] = []
    # Plain rows, not ORM objects: a full reindex reads a million products.
    columns = select(
        Product.id,
        Product.name,
        Product.mpn,
        Brand.name,
        Category.name,
        Product.description,
        Product.category_id,
        Product.brand_id,
        Product.total_stock,
        Product.product_type,
        Product.obsolete,
        Product.fixed_price,
        Product.best_cost,
        Product.min_eta_days,
    ).join_from(Product, Brand, Product.brand_id == Brand.id)
    columns = columns.join(Category, Product.category_id == Category.id)

    from webapp.catalog.queries import price_book

    book = price_book()

    def documents() -> Iterable[search.IndexedProduct]:
        for chunk in _chunks(list(product_ids), 5000):
            seen = set()
            for (
                product_id,
                name,
                mpn,
                brand,
                category,
                description,
                category_id,
                brand_id,
                total_stock,
                product_type,
                obsolete,
                fixed_price,
                best_cost,
                min_eta_days,
            ) in db.session.execute(columns.where(Product.id.in_(chunk))):
                seen.add(product_id)
                if obsolete:
                    removed.append(product_id)
                    continue
                yield search.IndexedProduct(
                    id=product_id,
                    name=name,
                    mpn=mpn,
                    brand=brand,
                    category=category,
                    description=description,
                    category_id=category_id,
                    brand_id=brand_id,
                    # As Product.in_stock: services and labour are always available.
                    in_stock=total_stock > 0 or not product_type.is_stocked,
                    # The list price (no price group) sorts and bands search results.
                    price_cents=_cents(
                        book.sell_price(
                            fixed_price=fixed_price,
                            best_cost=best_cost,
                            category_id=category_id,
                            brand_id=brand_id,
                            group_id=None,
                        )
                    ),
                    eta_days=min_eta_days,
                )
            # Deleted products leave the index too.
            removed.extend(set(chunk) - seen)
            if progress is not None:
                progress(len(chunk))

    return search.upsert(documents(), remove_ids=removed)


def _cents(amount) -> int | None:
    return None if amount is None else int(amount * 100)
