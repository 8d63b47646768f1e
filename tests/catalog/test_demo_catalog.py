"""The demo catalog is a store a newcomer recognises: 22 categories of real-looking products
(issue 17), each priced by a supplier, not test rows."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from webapp.catalog.models import Category, Product
from webapp.demo.seed import seed
from webapp.extensions import db

# The distributor's goods categories (webapp/demo/catalog_data.py) and our own two services.
CATEGORIES = {
    "Laptops",
    "Desktops",
    "Monitors",
    "Docking Stations",
    "Keyboards & Mice",
    "Headsets",
    "Switches",
    "Wireless Access Points",
    "Firewalls",
    "Routers",
    "NAS",
    "Solid State Drives",
    "Hard Drives",
    "Memory",
    "Printers",
    "Toner & Ink",
    "UPS & Power",
    "Cables & Adapters",
    "Servers",
    "Software Licences",
    "Managed Services",
    "Professional Services",
}


def test_the_demo_catalog_has_its_22_categories_each_of_real_looking_priced_products(app, tmp_path):
    seed(300, tmp_path / "feeds", echo=lambda _line: None)
    db.session.commit()
    names = set(db.session.scalars(select(Category.name)))
    assert len(names) == 22 and names == CATEGORIES

    per_category = dict(
        db.session.execute(
            select(Category.name, func.count(Product.id))
            .join(Product, Product.category_id == Category.id)
            .where(Product.obsolete.is_(False))
            .group_by(Category.name)
        ).all()
    )
    assert set(per_category) == CATEGORIES  # none of them is empty

    products = db.session.scalars(select(Product)).all()
    brands = {p.brand.name for p in products}
    assert {"Lenovo", "HP", "Dell", "Cisco", "Samsung"} <= brands
    # No placeholder rows: names carry the brand and a model, not "Product 17".
    assert not [p.name for p in products if re.search(r"(?i)\b(product|test|item) ?\d+\b", p.name)]
    goods = [p for p in products if p.best_cost is not None]
    assert len(goods) >= 250  # every goods product has a supplier's price
    # Key specifications are in the description, as on the product page.
    assert all(":" in p.description for p in goods)

    # Price levels of real products: cables are cheap, servers are not.
    def costs(category: str) -> list:
        return [p.best_cost for p in goods if p.category.name == category]

    assert max(costs("Cables & Adapters")) < min(costs("Servers"))
