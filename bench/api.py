"""The API's list of 100 products with `expand` against the same 100 products as the HTML
category page, both through the WSGI app in this process (no network), interleaved.

    python bench/api.py [--products 2000] [--rounds 40]

A throwaway instance (SQLite + an embedded Redis in a temporary directory) is migrated and
filled with one category of products, each with a supplier offer. The HTML side is a signed-in
contact's category page with CATALOG_PAGE_SIZE = 100 (the ordinary path: Flask-Login, the
cached priced listing, Jinja); the API side is
`GET /api/v1/products?category_id=…&limit=100&expand=brand,category,offers` with a bearer key.
Prints medians and the ratio, and saves bench/results/api.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _common import machine, save_result, speed_probe  # noqa: E402


def build(app, products: int):
    from webapp.api import operations as keys
    from webapp.auth.models import Role, User
    from webapp.catalog.models import Brand, Category, Product, Supplier, SupplierOffer
    from webapp.extensions import db
    from webapp.models_base import utcnow
    from webapp.organizations.models import Organization

    org = Organization(name="Bench Dental", approved=True)
    admin = User(email="admin@bench.example", name="Admin", role=Role.ADMIN)
    contact = User(email="buyer@bench.example", name="Buyer", organization=org)
    for user in (admin, contact):
        user.set_password("correct horse battery")
    category = Category(name="Laptops", slug="laptops")
    brand = Brand(name="Lenovo", slug="lenovo")
    supplier = Supplier(code="ingram", name="Ingram", email="orders@ingram.example")
    db.session.add_all([org, admin, contact, category, brand, supplier])
    db.session.flush()
    for n in range(products):
        product = Product(
            mpn=f"MPN-{n:06d}",
            brand=brand,
            category=category,
            name=f"ThinkPad model {n:06d}",
            best_cost=Decimal("700.00"),
            total_stock=5,
        )
        db.session.add(product)
        db.session.add(
            SupplierOffer(
                supplier=supplier,
                product=product,
                supplier_sku=f"SKU-{n}",
                cost=Decimal("700.00"),
                stock=5,
                updated_at=utcnow(),
            )
        )
    secret = keys.create_key(name="bench", scopes=["catalog:read"], actor=admin).secret
    db.session.commit()
    return category, secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    instance = Path(tempfile.mkdtemp(prefix="bench-api-"))
    os.environ["INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'bench.db'}",
            "REDIS_URL": "",
            "SECRET_KEY": "bench-secret",
            "CATALOG_PAGE_SIZE": 100,
            "WTF_CSRF_ENABLED": False,  # the bench signs in with a plain form post
            "API_RATE_LIMIT": "1000000 per minute",
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "MAIL_SERVER": "127.0.0.1",
        }
    )
    with app.app_context():
        upgrade()
        category, secret = build(app, args.products)
        category_id = category.id
    html_client = app.test_client()
    signed_in = html_client.post(
        "/login", data={"email": "buyer@bench.example", "password": "correct horse battery"}
    )
    assert signed_in.status_code == 302, signed_in.status_code
    api_client = app.test_client()
    api_url = f"/api/v1/products?category_id={category_id}&limit=100&expand=brand,category,offers"
    headers = {"Authorization": f"Bearer {secret}"}

    def html():
        response = html_client.get("/c/laptops")
        assert response.status_code == 200
        return response

    def api(url=api_url):
        response = api_client.get(url, headers=headers)
        assert response.status_code == 200
        assert len(response.get_json()["data"]) == 100
        return response

    plain_url = f"/api/v1/products?category_id={category_id}&limit=100"

    def api_plain():
        return api(plain_url)

    sizes = {"html_bytes": len(html().data), "api_bytes": len(api().data)}  # and warm both
    html_times, api_times, plain_times = [], [], []
    for _ in range(args.rounds):
        for fn, times in ((html, html_times), (api, api_times), (api_plain, plain_times)):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    html_ms = statistics.median(html_times) * 1000
    api_ms = statistics.median(api_times) * 1000
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "load_average": os.getloadavg(),
        "python_loop_5m_s": speed_probe(),
        "products_in_category": args.products,
        "rounds": args.rounds,
        "html_category_page_100_ms_median": round(html_ms, 2),
        "api_products_100_expand_ms_median": round(api_ms, 2),
        "api_over_html_ratio": round(api_ms / html_ms, 2),
        "api_products_100_no_expand_ms_median": round(statistics.median(plain_times) * 1000, 2),
        **sizes,
    }
    for name, value in result.items():
        print(f"{name}: {value}")
    save_result("api", result)


if __name__ == "__main__":
    main()
