"""Staff edits of one product through the catalog's operations (product_editing)."""

from __future__ import annotations

import pathlib
import re

import pytest
from sqlalchemy import select

from webapp.catalog import product_editing
from webapp.catalog.errors import CatalogError
from webapp.catalog.models import ProductType, SearchIndexChange
from webapp.extensions import db


def test_set_product_type_changes_it_and_tells_the_search_index(store):
    product = store.products[0]
    db.session.commit()
    product_editing.set_product_type(product, "service", None)
    db.session.commit()
    assert product.product_type is ProductType.SERVICE
    changes = db.session.scalars(select(SearchIndexChange.product_ids)).all()
    assert [product.id] in changes
    # The same type again changes nothing and records nothing.
    product_editing.set_product_type(product, ProductType.SERVICE, None)
    db.session.commit()
    assert len(db.session.scalars(select(SearchIndexChange.product_ids)).all()) == len(changes)


def test_set_product_type_refuses_an_unknown_type(store):
    product = store.products[0]
    with pytest.raises(CatalogError) as raised:
        product_editing.set_product_type(product, "gadget", None)
    assert raised.value.field == "product_type"


def test_no_product_attribute_is_written_from_the_psa_package():
    """The PSA integrations change products only through the catalog's operations."""
    root = pathlib.Path(__file__).resolve().parents[2] / "webapp" / "psa"
    written = re.compile(r"\bproduct\.\w+\s*=[^=]")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in root.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if written.search(line)
    ]
    assert offenders == []
