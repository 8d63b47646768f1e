"""Item and line descriptions in the ledger name the brand once ("Dell Latitude", not twice)."""

from __future__ import annotations

from decimal import Decimal

from tests.accounting.builders import make_document
from tests.factories import make_brand, make_product
from webapp import signals
from webapp.catalog.models import brand_and_name
from webapp.extensions import db
from webapp.integrations.models import Delivery
from workers.integrations import sync_connection


def test_brand_and_name_names_the_brand_once():
    assert brand_and_name("Dell", "Latitude 5440") == "Dell Latitude 5440"
    assert brand_and_name("Dell", "Dell Latitude 5440") == "Dell Latitude 5440"
    assert brand_and_name("Dell", "DELL Dell Latitude 5440") == "Dell Latitude 5440"
    assert brand_and_name("HP", "HPE ProLiant") == "HP HPE ProLiant"


def test_qbo_item_and_invoice_line_do_not_repeat_the_brand(qbo, qbo_connection, store):
    dell = make_brand("Dell")
    product = make_product(
        category=store.products[0].category, brand=dell, name="Dell Latitude 5440"
    )
    doc = make_document(store.org, store.customer, [product], shipping="0")
    doc.lines[0].description = "Dell Dell Latitude 5440"  # as stored by older checkouts
    signals.sales_document_ready_to_invoice.send(doc)
    db.session.commit()

    sync_connection(qbo_connection.id)

    delivery = db.session.execute(db.select(Delivery).filter_by(kind="invoice")).scalar_one()
    invoice = qbo.get(qbo.realms[0], "Invoice", delivery.remote_id)
    assert invoice["Line"][0]["Description"] == "Dell Latitude 5440"
    [item] = [i for i in qbo.entities(qbo.realms[0], "Item") if i.get("Sku") == product.mpn]
    assert item["Description"] == "Dell Latitude 5440"
    assert doc.total == Decimal(str(invoice["TotalAmt"]))
