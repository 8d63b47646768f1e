"""ConnectWise as a provider of the integrations core: its limits, the connection check, lookups.

It never touches the database (``webapp.psa.connectwise.operations`` stores what it returns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from webapp.integrations.interfaces import IntegrationError, RateLimit
from webapp.psa.checks import CheckItem
from webapp.psa.connectwise.client import ConnectWiseClient, NotFound

# What each feature needs of the API member: (path read, security-role area, purpose).
NEEDS: tuple[tuple[str, str, str], ...] = (
    ("company/companies", "Companies › Company Maintenance", "link organisations to companies"),
    ("company/contacts", "Companies › Contacts", "opportunity contacts"),
    ("sales/opportunities", "Sales › Opportunity", "opportunities from quotes"),
    ("sales/orders", "Sales › Sales Orders", "sales orders for invoicing"),
    ("service/tickets", "Service Desk › Service Tickets", "tickets from sales orders"),
    ("procurement/catalog", "Procurement › Product Catalog", "products created when missing"),
    ("procurement/products", "Procurement › Product", "products on opportunities and tickets"),
    ("procurement/purchaseorders", "Procurement › Purchasing", "purchase orders (procurement)"),
    ("system/callbacks", "System › Table Setup", "callbacks back from ConnectWise"),
)

# Lookups offered as dropdowns: key -> (path, Table Setup name that hides it when not exposed).
LOOKUPS: dict[str, tuple[str, str]] = {
    "boards": ("service/boards", "Service / Board"),
    "opportunity_stages": ("sales/stages", "Opportunities / Stage"),
    "opportunity_statuses": ("sales/opportunities/statuses", "Opportunities / Status"),
    "order_statuses": ("sales/orders/statuses", "Sales / Order Status"),
    "categories": ("procurement/categories", "Products / Category"),
    "subcategories": ("procurement/subcategories", "Products / Subcategory"),
    "product_types": ("procurement/types", "Products / Type"),
    "warehouses": ("procurement/warehouses", "Inventory / Warehouse"),
    "tax_codes": ("finance/taxCodes", "Invoicing / Tax Code"),
    "members": ("system/members", "Members (System › Members)"),
    "po_statuses": ("procurement/purchaseorderstatuses", "Procurement / Purchase Order Status"),
    "company_types": ("company/companies/types", "Companies / Company Type"),
    "company_statuses": ("company/companies/statuses", "Companies / Company Status"),
}
FLAGS = ("wonFlag", "lostFlag", "closedFlag", "defaultFlag")


@dataclass(frozen=True)
class Lookups:
    found: dict[str, list[dict]]
    problems: list[CheckItem]


def _label(row: dict) -> str:
    name = (
        row.get("name")
        or " ".join(str(row.get(k) or "") for k in ("firstName", "lastName")).strip()
    )
    return str(name or row.get("identifier") or row.get("id"))


def _choice(row: dict, **extra) -> dict:
    item = {"value": str(row.get("id")), "label": _label(row), **extra}
    for flag in FLAGS:
        if row.get(flag) is not None:
            item[flag] = bool(row[flag])
    if row.get("identifier"):
        item["identifier"] = str(row["identifier"])
    return item


class ConnectWiseProvider:
    name: ClassVar[str] = "connectwise"
    label: ClassVar[str] = "ConnectWise PSA"
    # ~1,000 requests a minute per company before 429s (PN 2.5), shared with the MSP's other
    # tools: we keep to half; two at a time per company (API-NOTES 4.4).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_minute=500, concurrent=2)

    def __init__(self, client: ConnectWiseClient) -> None:
        self.client = client

    def check(self) -> list[CheckItem]:
        """What the API member may do, by name; each failure says what to change."""
        client = self.client
        try:
            codebase = client.discover()
        except IntegrationError as exc:
            return [CheckItem("Codebase", False, exc.message)]
        items = [CheckItem("Codebase", True, f"{codebase} ({client.api_root})")]
        try:
            client.get("company/companies", pageSize=1)
        except NotFound:
            return [
                *items,
                CheckItem(
                    "Sign-in",
                    False,
                    "ConnectWise refused the API member's keys (cloud answers 404): check the "
                    "company id, public and private key.",
                ),
            ]
        except IntegrationError as exc:
            return [*items, CheckItem("Sign-in", False, exc.message)]
        items.append(CheckItem("Sign-in", True, "API member keys and client id accepted."))
        for path, area, purpose in NEEDS[1:]:
            try:
                client.get(path, pageSize=1)
            except IntegrationError as exc:
                items.append(
                    CheckItem(
                        area,
                        False,
                        f"The API member may not read {path} (needed for {purpose}): give its "
                        f"security role {area} ({exc.message}).",
                    )
                )
                continue
            items.append(CheckItem(area, True, f"OK: {purpose}."))
        lookups = self.lookups()
        items.extend(lookups.problems)
        return items

    def lookups(self) -> Lookups:
        """Read every lookup the settings offer; name the empty ones (hidden setup tables)."""
        found: dict[str, list[dict]] = {}
        problems: list[CheckItem] = []
        for key, (path, table) in LOOKUPS.items():
            try:
                rows = list(self.client.each(path))
            except IntegrationError as exc:
                problems.append(CheckItem(table, False, f"Cannot read {path}: {exc.message}"))
                found[key] = []
                continue
            if not rows:
                problems.append(
                    CheckItem(
                        table,
                        False,
                        f"{table} looks empty: make it visible to the API member under System › "
                        "Table Setup › Customize (hidden setup tables read as empty).",
                    )
                )
            found[key] = [_choice(row) for row in rows if not row.get("inactiveFlag")]
        statuses = []
        for board in found.get("boards", []):
            try:
                rows = list(self.client.each(f"service/boards/{board['value']}/statuses"))
            except IntegrationError as exc:
                problems.append(
                    CheckItem(f"{board['label']} statuses", False, f"Cannot read: {exc.message}")
                )
                continue
            statuses.extend(
                _choice(row, board=board["value"], label=f"{board['label']} › {_label(row)}")
                for row in rows
            )
        found["ticket_statuses"] = statuses
        return Lookups(found, problems)

    @staticmethod
    def syncs_tickets(connection) -> bool:
        """Orders raise tickets unless every order goes as an opportunity to invoice from
        (configurations 1 and 3 invoicing from opportunities: store orders become won ones)."""
        from webapp.psa.connectwise import sync

        return not sync.invoices_from_opportunity(connection) or not connection.option(
            "opportunities"
        )

    @staticmethod
    def open_tickets(connection, organization) -> list:
        """Open tickets of the organisation's company, for the checkout's ticket choice."""
        from webapp.integrations import operations as core
        from webapp.psa.connectwise import operations, sync
        from webapp.psa.connectwise.client import all_of, condition
        from webapp.psa.tickets import TicketChoice

        link = core.link_for(connection.id, sync.ORGANIZATION, organization.id)
        if link is None:
            return []
        client = operations.client_for(connection)
        rows = client.find(
            "service/tickets",
            all_of(
                condition("company/id", "=", int(link.remote_id)),
                condition("closedFlag", "=", False),
            ),
            page_size=100,
        )
        return [
            TicketChoice(connection.id, str(row["id"]), f"#{row['id']}", str(row.get("summary")))
            for row in rows
        ]
