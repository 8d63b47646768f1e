"""Validate the inputs once and precompute what every planning method shares."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from webapp.money import HUNDRED

from .model import DemandLine, Id, Offer, Supplier

# Sorts unknown ETAs after every known one.
NO_ETA = 10**9


@dataclass
class Group:
    """Demand lines that are interchangeable for buying: same product, same bid prices."""

    product_id: Id
    lines: list[int]
    demand: int
    # No-split mode: the quantity must come from a single supplier (or be back-ordered whole).
    whole: bool
    # Offer index -> (unit cost actually paid, bid used, premium-adjusted unit cost).
    prices: dict[int, tuple[Decimal, bool, Decimal]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductSupply:
    """How a product's demand must be met: online first, offline next, back-order the rest."""

    demand: int
    online_fill: int
    offline_fill: int
    shortage: int
    backorder_offer: int | None


@dataclass
class Instance:
    """A validated planning problem with groups, prices and supply limits precomputed."""

    demand: list[DemandLine]
    suppliers: list[Supplier]
    offers: list[Offer]
    allow_split: bool
    supplier_index: dict[Id, int]
    offer_supplier: list[int]
    offer_offline: list[bool]
    product_offers: dict[Id, list[int]]
    groups: list[Group]
    line_group: list[int]
    product_groups: dict[Id, list[int]]
    supply: dict[Id, ProductSupply]
    multiplier: list[Decimal]
    # Suppliers in the order the naive rule tries them: online first, cheapest premium, name.
    priority: list[int]

    def online(self, offer: int) -> bool:
        """Tell whether the offer's supplier takes orders now."""
        return not self.offer_offline[offer]


def build_instance(
    demand: Iterable[DemandLine],
    offers: Iterable[Offer],
    suppliers: Iterable[Supplier],
    *,
    allow_split: bool = True,
) -> Instance:
    """Check the inputs and precompute groups, effective prices and supply per product."""
    demand = list(demand)
    offers = list(offers)
    suppliers = list(suppliers)
    supplier_index = _index_suppliers(suppliers)
    multiplier = [1 + s.premium_pct / HUNDRED for s in suppliers]

    offer_supplier: list[int] = []
    product_offers: dict[Id, list[int]] = {}
    seen: set[tuple[Id, Id]] = set()
    for i, offer in enumerate(offers):
        _check_offer(offer, supplier_index, seen)
        offer_supplier.append(supplier_index[offer.supplier_id])
        product_offers.setdefault(offer.product_id, []).append(i)

    line_ids: set[Id] = set()
    for line in demand:
        _check_line(line, line_ids)

    groups, line_group, product_groups = _group_lines(
        demand, offers, product_offers, offer_supplier, multiplier, allow_split
    )
    supply = {
        product: _product_supply(
            sum(groups[g].demand for g in gids),
            product_offers.get(product, []),
            offers,
            offer_supplier,
            suppliers,
        )
        for product, gids in product_groups.items()
    }
    priority = sorted(
        range(len(suppliers)),
        key=lambda s: (
            not suppliers[s].online,
            suppliers[s].premium_pct,
            suppliers[s].name,
            str(suppliers[s].id),
        ),
    )
    return Instance(
        demand=demand,
        suppliers=suppliers,
        offers=offers,
        allow_split=allow_split,
        supplier_index=supplier_index,
        offer_supplier=offer_supplier,
        offer_offline=[not suppliers[s].online for s in offer_supplier],
        product_offers=product_offers,
        groups=groups,
        line_group=line_group,
        product_groups=product_groups,
        supply=supply,
        multiplier=multiplier,
        priority=priority,
    )


def _index_suppliers(suppliers: list[Supplier]) -> dict[Id, int]:
    index: dict[Id, int] = {}
    for i, s in enumerate(suppliers):
        if s.id in index:
            raise ValueError(f"supplier {s.id!r} listed twice")
        for name in ("freight", "premium_pct"):
            if not isinstance(getattr(s, name), Decimal):
                raise ValueError(f"supplier {s.id!r}: {name} must be a Decimal")
        if s.freight < 0:
            raise ValueError(f"supplier {s.id!r}: freight must not be negative")
        threshold = s.free_freight_threshold
        if threshold is not None and not isinstance(threshold, Decimal):
            raise ValueError(f"supplier {s.id!r}: free_freight_threshold must be a Decimal")
        if s.premium_pct <= -HUNDRED:
            raise ValueError(f"supplier {s.id!r}: premium_pct must be above -100")
        index[s.id] = i
    return index


def _check_offer(offer: Offer, supplier_index: dict[Id, int], seen: set[tuple[Id, Id]]) -> None:
    key = (offer.supplier_id, offer.product_id)
    if key in seen or offer.supplier_id not in supplier_index:
        problem = "listed twice" if key in seen else "has an unknown supplier"
        raise ValueError(f"offer {key!r} {problem}")
    seen.add(key)
    cost, stock = offer.unit_cost, offer.stock
    if not isinstance(cost, Decimal) or cost < 0:
        raise ValueError(f"offer {key!r}: unit_cost must be a non-negative Decimal")
    if not isinstance(stock, int) or stock < 0:
        raise ValueError(f"offer {key!r}: stock must be an int >= 0")
    if offer.bids and any(not isinstance(b, Decimal) or b < 0 for b in offer.bids.values()):
        raise ValueError(f"offer {key!r}: bid costs must be non-negative Decimals")


def _check_line(line: DemandLine, line_ids: set[Id]) -> None:
    if line.id in line_ids:
        raise ValueError(f"demand line {line.id!r} listed twice")
    line_ids.add(line.id)
    if not isinstance(line.quantity, int) or line.quantity <= 0:
        raise ValueError(f"demand line {line.id!r}: quantity must be an int > 0")


def _group_lines(
    demand: list[DemandLine],
    offers: list[Offer],
    product_offers: dict[Id, list[int]],
    offer_supplier: list[int],
    multiplier: list[Decimal],
    allow_split: bool,
) -> tuple[list[Group], list[int], dict[Id, list[int]]]:
    bid_customers: dict[Id, set[Id]] = {}
    max_stock: dict[Id, int] = {}
    for product, idxs in product_offers.items():
        bid_customers[product] = {c for i in idxs for c in offers[i].bids}
        max_stock[product] = max(offers[i].stock for i in idxs)

    groups: list[Group] = []
    keys: dict[tuple[Id, Id | None], int] = {}
    line_group: list[int] = []
    product_groups: dict[Id, list[int]] = {}
    for li, line in enumerate(demand):
        product = line.product_id
        customer = line.customer_id if line.customer_id in bid_customers.get(product, ()) else None
        key = (product, customer)
        g = keys.get(key) if allow_split else None
        if g is None:
            g = len(groups)
            whole = not allow_split and line.quantity <= max_stock.get(product, 0)
            group = Group(product, [], 0, whole)
            for i in product_offers.get(product, []):
                offer = offers[i]
                bid = offer.bids.get(customer) if customer is not None else None
                bid_used = bid is not None and bid < offer.unit_cost
                unit = bid if bid_used and bid is not None else offer.unit_cost
                group.prices[i] = (unit, bid_used, unit * multiplier[offer_supplier[i]])
            groups.append(group)
            product_groups.setdefault(product, []).append(g)
            if allow_split:
                keys[key] = g
        groups[g].lines.append(li)
        groups[g].demand += line.quantity
        line_group.append(g)
    return groups, line_group, product_groups


def _product_supply(
    demand: int,
    idxs: list[int],
    offers: list[Offer],
    offer_supplier: list[int],
    suppliers: list[Supplier],
) -> ProductSupply:
    online = sum(offers[i].stock for i in idxs if suppliers[offer_supplier[i]].online)
    offline = sum(offers[i].stock for i in idxs if not suppliers[offer_supplier[i]].online)
    online_fill = min(demand, online)
    offline_fill = min(demand - online_fill, offline)
    backorder_offer = min(
        idxs,
        key=lambda i: (
            not suppliers[offer_supplier[i]].online,
            NO_ETA if offers[i].eta_days is None else offers[i].eta_days,
            offers[i].unit_cost,
            suppliers[offer_supplier[i]].name,
        ),
        default=None,
    )
    return ProductSupply(
        demand=demand,
        online_fill=online_fill,
        offline_fill=offline_fill,
        shortage=demand - online_fill - offline_fill,
        backorder_offer=backorder_offer,
    )
