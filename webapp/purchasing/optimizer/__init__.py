"""Purchasing optimizer: choose suppliers for demand lines at the lowest landed cost.

Pure Python (numpy + HiGHS via highspy); no database, no Flask. Call `plan()`.
"""

from .model import (
    Candidate,
    Decision,
    DemandLine,
    Offer,
    Plan,
    PlanLine,
    Settings,
    Supplier,
    SupplierOrder,
)
from .planner import first_with_stock, plan

__all__ = [
    "Candidate",
    "Decision",
    "DemandLine",
    "Offer",
    "Plan",
    "PlanLine",
    "Settings",
    "Supplier",
    "SupplierOrder",
    "first_with_stock",
    "plan",
]
