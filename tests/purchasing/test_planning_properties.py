"""Properties of planning against the database: every unit is accounted for, stock respected."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.factories import make_product, make_supplier
from tests.purchasing.conftest import issue, offer
from webapp.extensions import db
from webapp.purchasing import planning, queries
from webapp.purchasing.models import PurchaseOrderLine, StockItem

scenarios = st.fixed_dictionaries(
    {
        # per product: own stock, and (cost in cents, stock) for each of three suppliers or None
        "products": st.lists(
            st.tuples(
                st.integers(0, 4),
                st.lists(
                    st.one_of(st.none(), st.tuples(st.integers(1, 50_000), st.integers(0, 6))),
                    min_size=3,
                    max_size=3,
                ),
            ),
            min_size=1,
            max_size=3,
        ),
        "quantities": st.lists(st.integers(1, 9), min_size=1, max_size=4),
        "split": st.booleans(),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios)
def test_every_unit_is_allocated_bought_or_flagged_and_stock_is_respected(store, scenario):
    from tests.purchasing.conftest import configure

    try:
        configure(store, purchasing_allow_split="on" if scenario["split"] else "off")
        suppliers = [make_supplier(freight_fee=Decimal("10")) for _ in range(3)]
        products, stock_of = [], {}
        for own, offers in scenario["products"]:
            product = make_product(category=store.category, brand=store.brand, cost=None)
            products.append(product)
            if own:
                db.session.add(
                    StockItem(product=product, quantity_on_hand=own, unit_cost=Decimal("1"))
                )
            for supplier, spec in zip(suppliers, offers, strict=True):
                if spec is not None:
                    offer(supplier, product, str(Decimal(spec[0]) / 100), spec[1])
                    stock_of[(supplier.id, product.id)] = spec[1]
        items = [(products[i % len(products)], qty) for i, qty in enumerate(scenario["quantities"])]
        document = issue(store, *items)
        planning.plan_document(document)
        db.session.flush()

        coverage = queries.document_coverage(document)
        offered = {product_id for _supplier, product_id in stock_of}
        for c in coverage:
            # Covered exactly, or left uncovered only when nobody offers the product.
            assert c.allocated + c.on_order + c.uncovered == c.quantity
            assert c.allocated + c.on_order <= c.quantity
            if c.uncovered:
                assert c.line.product_id not in offered
        used = defaultdict(int)
        for line in db.session.scalars(select(PurchaseOrderLine)):
            assert line.unit_cost > 0
            if not line.backorder:
                used[(line.purchase_order.supplier_id, line.product_id)] += line.quantity
        assert all(qty <= stock_of[key] for key, qty in used.items())
        for item in db.session.scalars(select(StockItem)):
            assert 0 <= item.quantity_allocated <= item.quantity_on_hand
    finally:
        db.session.rollback()
