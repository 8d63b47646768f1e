"""Autotask Services imported into our catalog (seed 002: brand and Services category).

Active Services become products of the chosen brand in the chosen category, through the
catalog's one product insert; a re-import updates them instead of adding any (even after the
brand changed), withdraws those made inactive in Autotask and brings them back; the poll picks
up new ones; a recurring one is the Service its quote lines use. Settings refuse a bundle
category, unknown ids and customers; nothing is imported before both are chosen.
"""

from __future__ import annotations

from decimal import Decimal

from tests.factories import login, make_brand, make_category
from webapp.catalog.models import Product, ProductType
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.psa.autotask.services import SERVICE_PRODUCT


def urls(sandbox):
    base = f"/admin/psa/connections/{sandbox.connection.id}/services"
    return base, f"{base}/import"


def add_service(sandbox, name, price, period=2, active=True):
    return sandbox.add("Services", Name=name, Description=f"{name}, per seat", BillingCodeID=5,
                       PeriodType=period, UnitPrice=price, UnitCost=price / 2,
                       IsActive=active)  # fmt: skip


def imported() -> dict[str, Product]:
    links = db.session.scalars(db.select(core.ExternalLink).filter_by(subject_type=SERVICE_PRODUCT))
    return {p.name: p for p in (db.session.get(Product, link.subject_id) for link in links)}


def configure(client, store, sandbox):
    brand, services = make_brand("Northwind MSP"), make_category("Managed services")
    db.session.commit()
    login(client, store.admin)
    save, _ = urls(sandbox)
    response = client.post(save, data={"service_brand": brand.id, "service_category": services.id})
    assert response.status_code == 303
    return brand, services


def test_active_services_become_products_of_the_brand_in_the_services_category(
    app, store, client, quoting
):
    desk = add_service(quoting, "Managed desktop", 45.0)
    add_service(quoting, "Onboarding", 250.0, period=1)
    add_service(quoting, "Old backup plan", 9.0, active=False)
    brand, services = configure(client, store, quoting)
    page = client.get("/admin/psa/").get_data(as_text=True)
    assert "Services created in Autotask" in page and "Import services" in page
    response = client.post(urls(quoting)[1])
    assert response.status_code == 303
    found = imported()
    assert sorted(found) == ["Managed desktop", "Onboarding"]
    desktop = found["Managed desktop"]
    assert (desktop.brand_id, desktop.category_id) == (brand.id, services.id)
    assert desktop.mpn == f"AT-SVC-{desk}" and desktop.description == "Managed desktop, per seat"
    assert desktop.fixed_price == Decimal("45.00")
    assert desktop.product_type == ProductType.RECURRING_SERVICE
    assert found["Onboarding"].product_type == ProductType.SERVICE
    # A quote line of it uses that Service: no second one is made in Autotask.
    link = core.link_for(quoting.connection.id, "at_service_monthly_p", desktop.id)
    assert link.remote_id == str(desk)
    # Links lost (a reconnect): the same products are found again by their MPN, none added.
    db.session.execute(db.delete(core.ExternalLink).filter_by(subject_type=SERVICE_PRODUCT))
    db.session.commit()
    count = db.select(db.func.count(Product.id))
    before = db.session.scalar(count)
    assert client.post(urls(quoting)[1]).status_code == 303
    assert db.session.scalar(count) == before and imported()["Managed desktop"].id == desktop.id


def test_a_reimport_updates_withdraws_and_brings_back_without_a_second_product(
    app, store, client, quoting
):
    desk = add_service(quoting, "Managed desktop", 45.0)
    configure(client, store, quoting)
    assert client.post(urls(quoting)[1]).status_code == 303
    [product_id] = [p.id for p in imported().values()]
    quoting.change("Services", desk, Name="Managed desktop Plus", UnitPrice=55.0, PeriodType=5)
    other = make_brand("Contractor Co")
    db.session.commit()
    category = imported()["Managed desktop"].category_id
    client.post(urls(quoting)[0], data={"service_brand": other.id, "service_category": category})
    assert client.post(urls(quoting)[1]).status_code == 303
    [product] = imported().values()
    same = db.select(db.func.count(Product.id)).where(Product.mpn == f"AT-SVC-{desk}")
    assert product.id == product_id and db.session.scalar(same) == 1
    assert (product.name, product.fixed_price) == ("Managed desktop Plus", Decimal("55.00"))
    quoting.change("Services", desk, IsActive=False)
    client.post(urls(quoting)[1])
    db.session.refresh(product)
    assert product.obsolete
    quoting.change("Services", desk, IsActive=True)
    client.post(urls(quoting)[1])
    db.session.refresh(product)
    assert not product.obsolete


def test_the_poll_imports_services_created_in_autotask(app, store, client, quoting):
    configure(client, store, quoting)
    add_service(quoting, "Security awareness", 6.5)
    from workers.psa import reconcile

    [done] = reconcile().values()
    assert done["services"] == 1
    assert "Security awareness" in imported()


def test_service_settings_refuse_bundles_unknown_ids_and_customers(app, store, client, quoting):
    brand, bundles = make_brand("Northwind MSP"), make_category("Bundles")
    db.session.commit()
    login(client, store.admin)
    save, run = urls(quoting)
    assert client.post(run).status_code == 400  # nothing chosen yet
    reasons = {
        (str(brand.id), str(bundles.id)): "is for bundles",
        ("999999", str(bundles.id)): "pick one of our brands",
        (str(brand.id), "abc"): "pick one of our categories",
    }
    for (brand_id, category_id), reason in reasons.items():
        response = client.post(save, data={"service_brand": brand_id,
                                           "service_category": category_id})  # fmt: skip
        assert response.status_code == 400 and reason in response.get_data(as_text=True)
    db.session.refresh(quoting.connection)
    assert quoting.connection.option("service_brand") is None
    client.post("/logout")
    login(client, store.customer)
    assert client.post(save, data={"service_brand": brand.id}).status_code in (403, 404)
    assert client.post(run).status_code in (403, 404)
