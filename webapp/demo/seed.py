"""Load a realistic demo: suppliers, their feeds (imported through the real importer),
client organizations with contacts, staff, pricing rules, tax codes and shipping methods."""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from slugify import slugify
from sqlalchemy import select

from webapp.auth.models import Role, User
from webapp.catalog import feeds
from webapp.catalog.models import (
    Brand,
    Category,
    PricingRule,
    Product,
    ProductType,
    Supplier,
    SupplierCategoryMap,
    TaxCode,
)
from webapp.demo import catalog_data
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization, PriceGroup
from webapp.store.models import ShippingMethod

DEMO_PASSWORD = "demo-password"  # noqa: S105 (printed by `make run`; demo data only)

STAFF = [
    ("admin@msp.example", "Alex Admin", Role.ADMIN),
    ("sales@msp.example", "Sam Sales", Role.SALES),
    ("purchasing@msp.example", "Pat Purchasing", Role.PURCHASING),
]
CONTACTS = [
    # email, name, organization, approver
    ("jordan@contoso.example", "Jordan Lee", "Contoso Dental", True),
    ("casey@contoso.example", "Casey Smith", "Contoso Dental", False),
    ("morgan@fabrikam.example", "Morgan Diaz", "Fabrikam Legal", True),
]

# The third supplier writes European-style feeds: shows the per-supplier format settings.
FEED_FORMATS = {
    "synnex": {
        "delimiter": ";",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "columns": {
            "sku": "ArticleNo",
            "mpn": "ManufacturerPartNo",
            "brand": "Vendor",
            "name": "Description",
            "category": "ProductGroup",
            "cost": "NetPrice",
            "stock": "Qty",
            "eta_days": "LeadTime",
            "description": "LongDescription",
        },
    },
}


def already_seeded() -> bool:
    return db.session.scalar(select(Supplier.id).limit(1)) is not None


def _write_feed(path: Path, code: str, rows) -> None:
    feed_format = FEED_FORMATS.get(code, {})
    columns = feed_format.get("columns", {})
    delimiter = feed_format.get("delimiter", ",")
    fields = ["sku", "mpn", "brand", "name", "category", "cost", "stock", "eta_days", "description"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow([columns.get(f, f) for f in fields])
        for row in rows:
            if feed_format.get("decimal_separator") == ",":
                row = {**row, "cost": row["cost"].replace(".", ",")}
            writer.writerow([row[f] for f in fields])


def seed(product_count: int, feed_dir: Path, echo: Callable[[str], None] = print) -> None:
    """Create the whole demo in one go; the caller commits."""
    standard = TaxCode(
        code="GST", name="Goods and services tax 10%", rate=Decimal("10"), is_default=True
    )
    exempt = TaxCode(code="FRE", name="Tax free", rate=Decimal("0"))
    db.session.add_all([standard, exempt])

    for position, (name, *_rest) in enumerate(catalog_data.CATEGORIES):
        db.session.add(Category(name=name, slug=slugify(name), position=position))
    services = Category(name="Managed Services", slug="managed-services", position=90)
    labour = Category(name="Professional Services", slug="professional-services", position=91)
    db.session.add_all([services, labour])

    partner = PriceGroup(name="Partner", description="Lower markup for long-standing clients")
    db.session.add(partner)
    db.session.flush()

    categories = {c.name: c for c in db.session.scalars(select(Category))}
    db.session.add_all(
        [
            PricingRule(category_id=categories["Laptops"].id, markup_pct=Decimal("12")),
            PricingRule(category_id=categories["Servers"].id, markup_pct=Decimal("10")),
            PricingRule(category_id=categories["Cables & Adapters"].id, markup_pct=Decimal("40")),
            PricingRule(price_group_id=partner.id, markup_pct=Decimal("8")),
        ]
    )
    db.session.add_all(
        [
            ShippingMethod(name="Standard courier (2-4 days)", charge=Decimal("15.00"), position=1),
            ShippingMethod(name="Express overnight", charge=Decimal("35.00"), position=2),
            ShippingMethod(name="Collect from our office", charge=Decimal("0.00"), position=3),
        ]
    )

    for email, name, role in STAFF:
        user = User(email=email, name=name, role=role)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
    db.session.flush()
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))

    organizations = {
        "Contoso Dental": Organization(
            name="Contoso Dental",
            account_number="C-1001",
            approved=True,
            approved_at=utcnow(),
            approved_by=admin,
            price_group=partner,
            phone="+1 555 0100",
            email="office@contoso.example",
            address_line1="12 Harbour Street",
            city="Springfield",
            region="IL",
            postcode="62701",
            country="United States",
        ),
        "Fabrikam Legal": Organization(
            name="Fabrikam Legal",
            account_number="C-1002",
            approved=False,
            phone="+1 555 0200",
            email="admin@fabrikam.example",
            address_line1="400 Market Avenue",
            address_line2="Level 3",
            city="Shelbyville",
            region="IL",
            postcode="62565",
            country="United States",
        ),
    }
    db.session.add_all(organizations.values())
    for email, name, org_name, approver in CONTACTS:
        user = User(
            email=email,
            name=name,
            role=Role.CUSTOMER,
            organization=organizations[org_name],
            is_approver=approver,
        )
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)

    suppliers = []
    for code, name, email, online, freight, threshold, premium in catalog_data.SUPPLIERS:
        supplier = Supplier(
            code=code,
            name=name,
            email=email,
            online=online,
            freight_fee=Decimal(freight),
            free_freight_threshold=Decimal(threshold) if threshold else None,
            priority_premium_pct=Decimal(premium),
            feed_format=FEED_FORMATS.get(code, {}),
        )
        db.session.add(supplier)
        suppliers.append(supplier)
    db.session.flush()
    # One supplier names its categories its own way: they are mapped onto ours.
    for ours in ("Laptops", "Desktops", "Monitors"):
        db.session.add(
            SupplierCategoryMap(
                supplier_id=suppliers[1].id,
                supplier_category=f"Computing > {ours}",
                category_id=categories[ours].id,
            )
        )

    _fixed_price_products(services, labour, exempt)

    items = list(catalog_data.products(product_count))
    feed_dir.mkdir(parents=True, exist_ok=True)
    for index, supplier in enumerate(suppliers):
        rows = list(catalog_data.supplier_feed_rows(items, index))
        if index == 1:
            rows = [
                {**r, "category": f"Computing > {r['category']}"}
                if r["category"] in ("Laptops", "Desktops", "Monitors")
                else r
                for r in rows
            ]
        path = feed_dir / f"{supplier.code}.csv"
        _write_feed(path, supplier.code, rows)
        run = feeds.create_run(supplier, path, path.name, actor_id=admin.id)
        summary = feeds.run_import(run, path)
        echo(
            f"  {supplier.name}: {summary.rows_read:,} feed rows, "
            f"{summary.products_created:,} new products"
        )
    # Software licences are not physical goods.
    for product in db.session.scalars(
        select(Product).where(Product.category_id == categories["Software Licences"].id)
    ):
        product.product_type = ProductType.NON_PHYSICAL


def _fixed_price_products(services: Category, labour: Category, exempt: TaxCode) -> None:
    brand = Brand(name="Northwind MSP", slug="northwind-msp")
    db.session.add(brand)
    db.session.flush()
    for mpn, name, category, product_type, price in [
        (
            "MS-ESSENTIAL",
            "Managed Workstation — Essentials (per device, monthly)",
            services,
            ProductType.RECURRING_SERVICE,
            "45.00",
        ),
        (
            "MS-PREMIUM",
            "Managed Workstation — Premium (per device, monthly)",
            services,
            ProductType.RECURRING_SERVICE,
            "79.00",
        ),
        (
            "MS-SERVER",
            "Managed Server (per server, monthly)",
            services,
            ProductType.RECURRING_SERVICE,
            "199.00",
        ),
        ("LAB-ONSITE", "Onsite engineer (per hour)", labour, ProductType.LABOUR, "165.00"),
        ("LAB-REMOTE", "Remote engineer (per hour)", labour, ProductType.LABOUR, "135.00"),
        ("SVC-SETUP", "New device setup and imaging", labour, ProductType.SERVICE, "120.00"),
    ]:
        db.session.add(
            Product(
                mpn=mpn,
                brand_id=brand.id,
                category_id=category.id,
                name=name,
                description=name,
                product_type=product_type,
                fixed_price=Decimal(price),
                tax_code=None if product_type is not ProductType.LABOUR else exempt,
            )
        )
