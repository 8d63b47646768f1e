"""Autotask Services into our catalog (seed 002, "When a service or labor role is created in
Autotask": the brand and the Services category).

Each active Autotask Service becomes a product of the brand the admin chose (the MSP's own) in
the Services category they chose (never a bundle category, as the seed warns), with the
Service's name, description, unit price (a fixed price) and period: one-time is a service,
another period a recurring service. New products are made through the catalog's one product
insert (``bulk.create_products`` -> ``ProductInserter``); a product already imported (found by
its link to the Service, so changing the brand later makes no second one) takes the Service's
name, description, price and period again. A Service no longer active in Autotask withdraws
its product (obsolete), and brings it back when it is active again. A recurring product is
also linked as the Service a quote line of it uses (``quotes.QuotePush._service``), so a quote
never makes a second Service for it.

It runs when the admin presses *Import services* and at every reconciliation poll once the
brand and category are chosen (new Services in Autotask arrive within a poll).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import ExternalLink, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.psa.models import PsaConnection

SERVICE_PRODUCT = "at_service_product"  # link: our product -> the Autotask Service it is
MPN_PREFIX = "AT-SVC-"
# Autotask periodType -> our recurrence, where we have one (quote lines reuse the Service).
RECURRENCE = {2: "monthly", 5: "annual"}
BUNDLE_WORDS = ("bundle", "bundles")


@dataclass
class ServiceImport:
    created: int = 0
    updated: int = 0
    withdrawn: int = 0

    def __str__(self) -> str:
        return (
            f"{self.created} services added to the catalog, {self.updated} updated, "
            f"{self.withdrawn} withdrawn (inactive in Autotask)."
        )


def save_service_options(connection: PsaConnection, *, brand, category) -> None:
    """The brand and the Services category imported Services take (both, or neither)."""
    from webapp.catalog.models import Brand, Category

    brand, category = str(brand or "").strip(), str(category or "").strip()
    options = dict(connection.options or {})
    if not brand and not category:
        options.pop("service_brand", None)
        options.pop("service_category", None)
        connection.options = options
        return
    found_brand = db.session.get(Brand, int(brand)) if brand.isdigit() else None
    if found_brand is None:
        raise IntegrationRuleError(
            "Brand for services: pick one of our brands (Settings › Brands)."
        )
    found = db.session.get(Category, int(category)) if category.isdigit() else None
    if found is None:
        raise IntegrationRuleError("Category for services: pick one of our categories.")
    if found.name.strip().lower() in BUNDLE_WORDS:
        raise IntegrationRuleError(
            f"Category for services: “{found.name}” is for bundles; pick the Services category."
        )
    options["service_brand"], options["service_category"] = str(found_brand.id), str(found.id)
    connection.options = options


def configured(connection: PsaConnection) -> bool:
    return bool(connection.option("service_brand") and connection.option("service_category"))


def _kind(period) -> object:
    from webapp.catalog.models import ProductType

    return ProductType.SERVICE if int(period or 1) == 1 else ProductType.RECURRING_SERVICE


def _price(service: dict) -> Decimal | None:
    value = service.get("unitPrice")
    return None if value is None else Decimal(str(value))


def import_services(connection: PsaConnection, client, actor=None) -> ServiceImport:
    """Bring our catalog's services in step with Autotask's active Services."""
    from webapp.catalog import bulk
    from webapp.catalog import product_editing as catalog
    from webapp.catalog.feed_parsing import product_description, product_name
    from webapp.catalog.models import Product

    if not configured(connection):
        raise IntegrationRuleError(
            "Choose the brand and the category for services first (Settings › PSA)."
        )
    brand = int(connection.option("service_brand"))
    category = int(connection.option("service_category"))
    active = [{"op": "eq", "field": "isActive", "value": True}]
    services = {int(s["id"]): s for s in client.query("Services", active, limit=100_000)}
    links = {
        int(link.remote_id): link
        for link in db.session.scalars(
            db.select(ExternalLink).filter_by(
                connection_id=connection.id, subject_type=SERVICE_PRODUCT
            )  # fmt: skip
        )
    }
    done = ServiceImport()
    new = []
    for service_id, service in sorted(services.items()):
        try:
            name = product_name(str(service.get("name") or "").strip())
        except ValueError:
            continue  # a Service without a usable name: nothing to sell
        description = product_description(str(service.get("description") or "").strip())
        link = links.get(service_id)
        product = db.session.get(Product, link.subject_id) if link else None
        if product is None:  # unlinked (a link lost with a reconnect): adopt the same MPN
            product = db.session.scalar(
                db.select(Product).filter_by(brand_id=brand, mpn=f"{MPN_PREFIX}{service_id}")
            )
            if product is not None:
                core.save_link(connection, SERVICE_PRODUCT, product.id, remote_id=str(service_id),
                               remote_number=name[:100])  # fmt: skip
        if product is None:
            new.append((service, bulk.NewProduct(brand, f"{MPN_PREFIX}{service_id}", name,
                                                 category, description)))  # fmt: skip
            continue
        before = (product.name, product.description, product.fixed_price, product.product_type,
                  product.obsolete)  # fmt: skip
        catalog.describe_product(product, {"name": name, "description": description}, actor)
        _set_terms(connection, product, service, actor)
        if before != (product.name, product.description, product.fixed_price,
                      product.product_type, product.obsolete):  # fmt: skip
            done.updated += 1
    made = bulk.create_products([p for _, p in new])
    for service, wanted in new:
        product = db.session.get(Product, made[wanted.key])
        core.save_link(connection, SERVICE_PRODUCT, product.id, remote_id=str(service["id"]),
                       remote_number=wanted.name[:100])  # fmt: skip
        _set_terms(connection, product, service, actor)
        done.created += 1
    for service_id, link in links.items():
        product = db.session.get(Product, link.subject_id)
        if service_id not in services and product is not None and not product.obsolete:
            catalog.set_obsolete(product, True, actor)
            done.withdrawn += 1
    core.log_sync(connection, SyncDirection.PULL, "services", message=str(done))
    db.session.flush()
    return done


def _set_terms(connection: PsaConnection, product, service: dict, actor) -> None:
    """The Service's price, period and availability on the product; a recurring one is also
    the Service its quote lines use."""
    from webapp.catalog import product_editing as catalog

    kind = _kind(service.get("periodType"))
    catalog.set_product_type(product, kind, actor)
    catalog.set_fixed_price(product, _price(service), actor)
    if product.obsolete:
        catalog.set_obsolete(product, False, actor)
    recurrence = RECURRENCE.get(int(service.get("periodType") or 1))
    if recurrence is not None:
        name = str(service.get("name") or "")[:100]
        core.save_link(connection, f"at_service_{recurrence}_p", product.id,
                       remote_id=str(service["id"]), remote_number=name)  # fmt: skip
