"""Inputs and outputs of the purchasing optimizer: plain dataclasses, money in Decimal."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

Id = int | str
Method = Literal["mip", "greedy", "first_with_stock"]


@dataclass(frozen=True)
class DemandLine:
    """One sales-order line still to be bought after own stock was allocated."""

    id: Id
    product_id: Id
    quantity: int
    # Bid prices are negotiated per customer deal, so the line says whose deal it is.
    customer_id: Id | None = None


@dataclass(frozen=True)
class Offer:
    """What one supplier sells one product for, and how many it has on hand."""

    supplier_id: Id
    product_id: Id
    unit_cost: Decimal
    stock: int
    eta_days: int | None = None
    # customer id -> special unit cost this supplier granted for that customer's deal.
    bids: Mapping[Id, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Supplier:
    """A distributor: freight terms, how much the MSP favours it, whether it takes orders."""

    id: Id
    name: str
    freight: Decimal = Decimal(0)
    free_freight_threshold: Decimal | None = None
    # Percent added to unit costs in the objective only: negative favours the supplier.
    premium_pct: Decimal = Decimal(0)
    online: bool = True


@dataclass(frozen=True)
class Settings:
    """Knobs for one planning run."""

    # Wall-clock budget in seconds for the whole plan() call, not just the solver.
    time_limit: float = 2.0
    # Stop once the incumbent is proven within this fraction of the optimum (1e-3 = 0.1%).
    mip_rel_gap: float = 1e-3
    # False: each line comes from one supplier unless no single supplier could ever hold it.
    allow_split: bool = True
    # False skips HiGHS and returns the greedy plan (also what happens if highspy is missing).
    use_solver: bool = True


@dataclass(frozen=True)
class Candidate:
    """One supplier considered for a demand line, and why it won or lost."""

    supplier_id: Id
    supplier_name: str
    online: bool
    unit_cost: Decimal
    regular_unit_cost: Decimal
    bid_used: bool
    premium_pct: Decimal
    effective_unit_cost: Decimal
    stock: int
    eta_days: int | None
    freight: Decimal
    free_freight_threshold: Decimal | None
    freight_note: str
    quantity: int
    won: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (Decimals as strings)."""
        return _jsonable(self)


@dataclass(frozen=True)
class Decision:
    """Why a demand line was bought the way it was."""

    demand_line_id: Id
    product_id: Id
    quantity: int
    summary: str
    candidates: tuple[Candidate, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (Decimals as strings)."""
        return _jsonable(self)


@dataclass(frozen=True)
class PlanLine:
    """One purchase-order line: part (or all) of a demand line bought from one supplier."""

    demand_line_id: Id
    product_id: Id
    supplier_id: Id | None
    quantity: int
    unit_cost: Decimal
    line_total: Decimal
    bid_used: bool
    backorder: bool
    eta_days: int | None
    # The decision record is written on first access: a 10,000-line plan is found in about a
    # second, explaining all of it takes several, and most callers read only some of it.
    _decide: Callable[[], Decision] = field(repr=False, compare=False)

    @cached_property
    def decision(self) -> Decision:
        """Return the decision record of this line's demand line (shared by its split parts)."""
        return self._decide()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (Decimals as strings), decision record included."""
        return _jsonable(self)


@dataclass(frozen=True)
class SupplierOrder:
    """The purchase order to one supplier."""

    supplier_id: Id
    supplier_name: str
    lines: tuple[PlanLine, ...]
    subtotal: Decimal
    freight: Decimal
    freight_waived: bool
    total: Decimal

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (Decimals as strings)."""
        return _jsonable(self)


@dataclass(frozen=True)
class Plan:
    """A complete buying plan with its exact costs and how it was found."""

    method: Method
    orders: tuple[SupplierOrder, ...]
    # Demand lines (or parts) that no supplier offers at all: nobody to back-order from.
    unsourced: tuple[PlanLine, ...]
    goods_cost: Decimal
    freight_cost: Decimal
    total_cost: Decimal
    # What the optimizer minimises: goods at premium-adjusted prices plus freight.
    objective: Decimal
    backorder_units: int
    offline_units: int
    unsourced_units: int
    mip_gap: float | None
    solve_seconds: float
    notes: tuple[str, ...] = ()

    @property
    def lines(self) -> tuple[PlanLine, ...]:
        """Return every PO line across all orders."""
        return tuple(line for order in self.orders for line in order.lines)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (Decimals as strings)."""
        return _jsonable(self)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {
            f.name: _jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
        if isinstance(value, PlanLine):
            data["decision"] = _jsonable(value.decision)
        return data
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value
