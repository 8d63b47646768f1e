"""Pure functions from our quotes and orders to Autotask payloads (seed 001's scenarios).

A quote line becomes one Autotask quote item (PSA-NOTES 1.1): goods of any kind (recurring or
not) a *Product* item, a recurring service a *Service* item, a one-off service or labour a
*Cost* item on the non-recurring material code; the quote's shipping a *Shipping* item on the
configured shipping type and its payment surcharge a *Cost* item on the surcharge material code.
Lines not chosen (optional lines not ticked, the other picks of a "choose one" section) go as
optional items, so the Autotask quote shows what the customer could still add.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

PRODUCT, COST, SHIPPING, SERVICE = 1, 2, 6, 11  # QuoteItemType values (PSA-NOTES 1.1)
ITEM_ID_FIELD = {PRODUCT: "productID", COST: "chargeID", SHIPPING: "shippingID",
                 SERVICE: "serviceID"}  # fmt: skip
# periodType: 1 One-Time, 2 Monthly, 3 Quarterly, 4 Semi-Annual, 5 Yearly (PSA-NOTES 1.1).
PERIOD = {"none": 1, "monthly": 2, "annual": 5}
PERIOD_LABEL = {1: "one-time", 2: "monthly", 3: "quarterly", 4: "semi-annual", 5: "yearly"}
GOODS = {"physical", "non_physical", "bundle"}
LINE, SHIPPING_REF, SURCHARGE_REF = "at_item_line", "at_item_shipping", "at_item_surcharge"


@dataclass(frozen=True)
class WantedItem:
    """One Autotask quote item as our quote wants it."""

    ref_type: str  # link subject type: LINE (ref_id = quote line id) or the quote's shipping...
    ref_id: int
    item_type: int
    name: str
    quantity: int
    unit_price: Decimal
    unit_cost: Decimal
    optional: bool
    period: int
    line: dict | None = None  # the snapshot line (products and services are found from it)

    @property
    def needs(self) -> str:
        """What the item points at: 'product', 'service', or a configured code."""
        return {PRODUCT: "product", SERVICE: "service"}.get(self.item_type, "code")


def item_type_of(line: dict) -> int:
    """The Autotask item type of a snapshot line (a recurring service switches to Cost when
    it becomes one-off, and back)."""
    if line["product_type"] in GOODS:
        return PRODUCT
    if line["product_type"] == "recurring_service" and line["recurrence"] != "none":
        return SERVICE
    if line["recurrence"] != "none":
        return SERVICE  # labour or a service sold by the month is a recurring service too
    return COST


def name_key(text: str) -> int:
    """A stable 31-bit number for a line's name (custom lines have no product id)."""
    import zlib

    return zlib.crc32(" ".join(text.lower().split()).encode()) & 0x7FFFFFFF


def line_id(line: dict) -> int:
    return int(line["key"].lstrip("l"))


def wanted_items(
    snapshot: dict, chosen: dict[str, int], *, surcharge: Decimal, shipping: Decimal
) -> list[WantedItem]:
    """Every item the Autotask quote should hold; ``chosen`` maps line keys to quantities."""
    items = []
    for section in snapshot["sections"]:
        for line in section["lines"]:
            item_type = item_type_of(line)
            items.append(
                WantedItem(
                    LINE,
                    line_id(line),
                    item_type,
                    line["description"][:100],
                    chosen.get(line["key"], line["quantity"]),
                    Decimal(line["unit_price"]),
                    Decimal(line["unit_cost"]),
                    line["key"] not in chosen,
                    PERIOD.get(line["recurrence"], 1),
                    line,
                )
            )
    items = merge_services(items)
    if shipping > 0:
        items.append(
            WantedItem(
                SHIPPING_REF,
                snapshot["quote_id"],
                SHIPPING,
                (snapshot.get("shipping_label") or "Shipping")[:100],
                1,
                shipping,
                Decimal(0),
                False,
                1,
            )  # fmt: skip
        )
    if surcharge > 0:
        items.append(
            WantedItem(
                SURCHARGE_REF,
                snapshot["quote_id"],
                COST,
                "Payment surcharge",
                1,
                surcharge,
                Decimal(0),
                False,
                1,
            )  # fmt: skip
        )
    return items


def item_record(item: WantedItem, target_id: int) -> dict:
    """The fields we keep in step on every sync (the tax category is added only at create)."""
    record = {
        "quoteItemType": item.item_type,
        ITEM_ID_FIELD[item.item_type]: target_id,
        "name": item.name,
        "quantity": item.quantity,
        "unitPrice": float(item.unit_price),
        "unitCost": float(item.unit_cost),
        "isOptional": item.optional,  # a false is sent as false (PSA-NOTES trap T12)
        "unitDiscount": 0,
        "lineDiscount": 0,
        "percentageDiscount": 0,
    }
    if item.item_type in (PRODUCT, SERVICE):
        # Product lines take the period we send; Service lines take the Service's own
        # (PSA-NOTES 1.1) — we send it anyway and read it back.
        record["periodType"] = item.period
    return record


def reference(kind: str, subject_type: str, subject_id: int, extra: str = "") -> str:
    """Our reference on a record Autotask creates (queried before any create is repeated)."""
    tail = f"-{extra}" if extra else ""
    return f"MSP-{kind}-{subject_type[0].upper()}{subject_id}{tail}"


def product_record(
    line: dict, product, material_code: int, ref: str, category: int | None = None
) -> dict:
    """An Autotask Product for one of ours (or for a custom line that has none); ``category``
    is the Autotask product category our category is mapped to (seed 002)."""
    name = (product.name if product is not None else line["description"])[:100]
    sku = line["sku"] or (product.mpn if product is not None else "")
    record = {
        "name": name,
        "description": line["description"][:2000],
        "sku": sku[:50],
        "externalProductID": ref[:50],
        "productBillingCodeID": material_code,
        "periodType": 1,
        "priceCostMethod": 1,
        "unitPrice": float(Decimal(line["unit_price"])),
        "unitCost": float(Decimal(line["unit_cost"])),
        "isActive": True,
    }
    if category is not None:
        record["productCategory"] = int(category)
    mpn = getattr(product, "mpn", "") if product is not None else ""
    if mpn:
        record["manufacturerProductName"] = str(mpn)[:50]
    return record


def service_record(line: dict, billing_code: int, ref: str) -> dict:
    """An Autotask Service for a recurring line, with its period (the items take it)."""
    return {
        "name": line["description"][:150],
        "description": ref,
        "invoiceDescription": line["description"][:1000],
        "billingCodeID": billing_code,
        "periodType": PERIOD[line["recurrence"]],
        "unitPrice": float(Decimal(line["unit_price"])),
        "unitCost": float(Decimal(line["unit_cost"])),
        "isActive": True,
    }


def location_record(organization) -> dict:
    """A new QuoteLocation from the organisation's address (never a CompanyLocations id)."""
    return {
        "address1": organization.address_line1[:128],
        "address2": organization.address_line2[:128],
        "city": organization.city[:50],
        "state": organization.region[:25],
        "postalCode": organization.postcode[:20],
    }


def merge_services(items: list[WantedItem]) -> list[WantedItem]:
    """Identical recurring lines as one Service item with their quantities added: a quote may
    hold at most two identical Service items (PSA-NOTES 1.1, trap T13)."""
    from dataclasses import replace

    merged: list[WantedItem] = []
    seen: dict[tuple, int] = {}
    for item in items:
        if item.item_type != SERVICE:
            merged.append(item)
            continue
        line = item.line or {}
        key = (line.get("product_id") or name_key(item.name), item.period, item.unit_price,
               item.unit_cost, item.optional)  # fmt: skip
        if key in seen:
            first = merged[seen[key]]
            merged[seen[key]] = replace(first, quantity=first.quantity + item.quantity)
            continue
        seen[key] = len(merged)
        merged.append(item)
    return merged


def autotask_category(connection, product) -> int | None:
    """The Autotask product category of one of our products: its category's mapping, else the
    nearest mapped parent's; None when none is mapped (the product is created without)."""
    mapped = connection.option("category_map") or {}
    category = product.category if product is not None else None
    seen = set()
    while category is not None and category.id not in seen:
        seen.add(category.id)
        if str(category.id) in mapped:
            return int(mapped[str(category.id)])
        category = category.parent
    return None
