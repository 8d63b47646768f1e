"""Model factories and ready-made scenes (a small catalog, signed-in users)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest

from webapp.auth.models import Role, User
from webapp.catalog.models import (
    Brand,
    Category,
    PricingRule,
    Product,
    ProductType,
    Supplier,
    SupplierOffer,
    TaxCode,
)
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization, PriceGroup
from webapp.sales import operations as sales_operations
from webapp.sales.models import PaymentMethod, SalesDocument
from webapp.store.models import ShippingMethod

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_organization(name: str | None = None, *, approved: bool = True, **fields) -> Organization:
    n = next(_seq)
    org = Organization(
        name=name or f"Client {n}",
        approved=approved,
        address_line1=f"{n} Main Street",
        city="Springfield",
        postcode="62701",
        country="United States",
        **fields,
    )
    db.session.add(org)
    db.session.flush()
    return org


def make_user(
    *,
    role: Role = Role.CUSTOMER,
    organization: Organization | None = None,
    email: str | None = None,
    password: str | None = PASSWORD,
    **fields,
) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.com",
        name=fields.pop("name", f"User {n}"),
        role=role,
        organization=organization,
        **fields,
    )
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def make_category(name: str | None = None) -> Category:
    n = next(_seq)
    name = name or f"Category {n}"
    category = Category(name=name, slug=f"{name.lower().replace(' ', '-')}-{n}")
    db.session.add(category)
    db.session.flush()
    return category


def make_brand(name: str | None = None) -> Brand:
    n = next(_seq)
    name = name or f"Brand {n}"
    brand = Brand(name=name, slug=f"{name.lower().replace(' ', '-')}-{n}")
    db.session.add(brand)
    db.session.flush()
    return brand


def make_supplier(code: str | None = None, **fields) -> Supplier:
    n = next(_seq)
    supplier = Supplier(
        code=code or f"sup{n}",
        name=fields.pop("name", f"Supplier {n}"),
        email=fields.pop("email", f"orders{n}@supplier.example"),
        **fields,
    )
    db.session.add(supplier)
    db.session.flush()
    return supplier


def make_product(
    *,
    category: Category,
    brand: Brand,
    name: str | None = None,
    cost: Decimal | str | None = "100.00",
    stock: int = 10,
    eta_days: int | None = 3,
    supplier: Supplier | None = None,
    **fields,
) -> Product:
    """A product with one supplier offer (unless cost is None), aggregates filled in."""
    n = next(_seq)
    product = Product(
        mpn=fields.pop("mpn", f"MPN-{n}"),
        brand=brand,
        category=category,
        name=name or f"Product {n}",
        product_type=fields.pop("product_type", ProductType.PHYSICAL),
        **fields,
    )
    db.session.add(product)
    db.session.flush()
    if cost is not None:
        offer = SupplierOffer(
            supplier=supplier or make_supplier(),
            product=product,
            supplier_sku=f"SKU-{n}",
            cost=Decimal(cost),
            stock=stock,
            eta_days=eta_days,
            updated_at=utcnow(),
        )
        db.session.add(offer)
        product.best_cost = Decimal(cost)
        product.total_stock = stock
        product.min_eta_days = eta_days
    db.session.flush()
    return product


@dataclass
class Store:
    """A small store: two organizations with a customer each, staff, and a few products."""

    org: Organization
    other_org: Organization
    unapproved_org: Organization
    customer: User
    other_customer: User
    unapproved_customer: User
    admin: User
    sales: User
    purchasing: User
    category: Category
    brand: Brand
    supplier: Supplier
    products: list[Product]
    tax: TaxCode
    shipping: ShippingMethod
    price_group: PriceGroup


@pytest.fixture
def store(app) -> Store:
    tax = TaxCode(code="GST", name="GST 10%", rate=Decimal("10"), is_default=True)
    shipping = ShippingMethod(name="Courier", charge=Decimal("15.00"), position=1)
    group = PriceGroup(name="Partner")
    db.session.add_all([tax, shipping, group])
    org = make_organization("Contoso", approved=True)
    other = make_organization("Fabrikam", approved=True)
    unapproved = make_organization("Litware", approved=False)
    category = make_category("Laptops")
    brand = make_brand("Lenovo")
    supplier = make_supplier("ingram", name="Ingram")
    products = [
        make_product(
            category=category,
            brand=brand,
            name="ThinkPad T14",
            cost="1000.00",
            stock=5,
            supplier=supplier,
        ),
        make_product(
            category=category,
            brand=brand,
            name="ThinkPad X1 Carbon",
            cost="1500.00",
            stock=0,
            eta_days=10,
            supplier=supplier,
        ),
        make_product(
            category=category,
            brand=brand,
            name="ThinkPad E16",
            cost="700.00",
            stock=20,
            supplier=supplier,
        ),
    ]
    # Default markup 15% (settings registry); a 10% rule on laptops makes the price exact.
    db.session.add(PricingRule(category_id=category.id, markup_pct=Decimal("10")))
    scene = Store(
        org=org,
        other_org=other,
        unapproved_org=unapproved,
        customer=make_user(organization=org, email="buyer@contoso.example", is_approver=True),
        other_customer=make_user(organization=other, email="buyer@fabrikam.example"),
        unapproved_customer=make_user(organization=unapproved, email="buyer@litware.example"),
        admin=make_user(role=Role.ADMIN, email="admin@msp.example"),
        sales=make_user(role=Role.SALES, email="sales@msp.example"),
        purchasing=make_user(role=Role.PURCHASING, email="purchasing@msp.example"),
        category=category,
        brand=brand,
        supplier=supplier,
        products=products,
        tax=tax,
        shipping=shipping,
        price_group=group,
    )
    db.session.commit()
    return scene


def login(client, user: User, password: str = PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def issue_order(
    store: Store,
    key: str = "k1",
    *,
    quantity: int = 3,
    unit_price: Decimal = Decimal("33.33"),
    unit_cost: Decimal = Decimal("20"),
    shipping_charge: Decimal = Decimal("10.00"),
    hold_reason: str = "",
) -> SalesDocument:
    """Issue a store order of one ThinkPad line for the store's customer (the real operation);
    `hold_reason` issues it held, as a margin or credit check would."""
    return sales_operations.issue_document(
        organization=store.org,
        contact=store.customer,
        lines=[
            sales_operations.LineInput(
                product_id=store.products[0].id,
                sku="MPN",
                description="ThinkPad",
                quantity=quantity,
                unit_price=unit_price,
                unit_cost=unit_cost,
                tax_code=None,
            )
        ],
        header=sales_operations.HeaderInput(
            ship_to_name="A",
            address_line1="B",
            address_line2="",
            city="C",
            region="",
            postcode="1",
            country="US",
            shipping_method_name="Courier",
            shipping_charge=shipping_charge,
            payment_method=PaymentMethod.ON_ACCOUNT,
            surcharge_pct=Decimal(0),
            customer_po="",
            note="",
        ),
        source=sales_operations.DocumentSource.STORE,
        idempotency_key=key,
        actor=store.customer,
        currency="USD",
        hold_reason=hold_reason,
    )
