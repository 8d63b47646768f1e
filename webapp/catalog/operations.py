"""Catalog writes: keep product aggregates and the search index in step with offers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import joinedload

from webapp import jobs
from webapp.catalog import search
from webapp.catalog.cache import bump_catalog_version
from webapp.catalog.models import Product, SupplierOffer
from webapp.extensions import db

_CHUNK = 500


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def refresh_product_aggregates(product_ids: Sequence[int] | None = None) -> None:
    """Recompute best cost, total stock and ETA from live offers (all products if None)."""
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
    if product_ids is None:
        db.session.execute(
            update(Product).values(values), execution_options={"synchronize_session": False}
        )
    else:
        for chunk in _chunks(list(product_ids)):
            db.session.execute(
                update(Product).where(Product.id.in_(chunk)).values(values),
                execution_options={"synchronize_session": False},
            )
    catalog_changed(product_ids)


def catalog_changed(product_ids: Sequence[int] | None) -> None:
    """After commit: drop cached listings and reindex the products (all if None)."""
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

    def documents() -> Iterable[search.IndexedProduct]:
        for chunk in _chunks(list(product_ids), 5000):
            rows = db.session.scalars(
                select(Product).options(joinedload(Product.category)).where(Product.id.in_(chunk))
            ).unique()
            seen = set()
            for product in rows:
                seen.add(product.id)
                if product.obsolete:
                    removed.append(product.id)
                    continue
                yield search.IndexedProduct(
                    id=product.id,
                    name=product.name,
                    mpn=product.mpn,
                    brand=product.brand.name,
                    category=product.category.name,
                    description=product.description,
                    category_id=product.category_id,
                    brand_id=product.brand_id,
                    in_stock=product.in_stock,
                )
            # Deleted products leave the index too.
            removed.extend(set(chunk) - seen)
            db.session.expunge_all()
            if progress is not None:
                progress(len(chunk))

    return search.upsert(documents(), remove_ids=removed)
