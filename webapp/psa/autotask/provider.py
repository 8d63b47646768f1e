"""Autotask as a provider of the integrations core: its limits, the connection check, picklists.

Built per job or request from a ``ConnectionContext``-like set of facts; it never touches the
database (``webapp.psa.operations`` stores what it returns).
"""

from __future__ import annotations

from typing import ClassVar

from webapp.integrations.interfaces import IntegrationError, RateLimit
from webapp.psa.autotask.client import AutotaskClient
from webapp.psa.checks import CheckItem

# What each feature needs of the API user, by entity (Autotask's own names).
NEEDS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Companies", ("canQuery", "canCreate", "canUpdate"), "link organisations to companies"),
    ("Contacts", ("canQuery", "canCreate"), "link contacts"),
    ("Resources", ("canQuery",), "use quote owners as opportunity owners"),
    ("Opportunities", ("canQuery", "canCreate", "canUpdate"), "opportunities from quotes"),
    ("Quotes", ("canQuery", "canCreate", "canUpdate"), "Autotask quotes from our quotes"),
    ("QuoteItems", ("canQuery", "canCreate"), "quote lines"),
    ("QuoteLocations", ("canCreate",), "quote addresses"),
    ("Products", ("canQuery", "canCreate"), "products on quotes and ticket charges"),
    ("Tickets", ("canQuery", "canCreate", "canUpdate"), "tickets from sales orders"),
    ("TicketCharges", ("canQuery", "canCreate", "canUpdate"), "ticket charges"),
)
# The module an entity needs (the API refuses writes without it; PSA-NOTES 1.2).
MODULES = {"Opportunities": "CRM", "Quotes": "CRM", "QuoteItems": "CRM", "QuoteLocations": "CRM"}
COMPLETE = 5  # Tickets.status "Complete" is a system value in every Autotask database
RIGHTS = {"canQuery": "read", "canCreate": "create", "canUpdate": "update"}
# Picklists the settings offer as dropdowns: entity -> fields.
PICKLISTS: dict[str, tuple[str, ...]] = {
    "Opportunities": ("stage", "status", "opportunityCategoryID"),
    "Quotes": ("shippingType",),
    "Tickets": ("queueID", "status", "priority", "ticketCategory"),
    "TicketCharges": ("chargeType",),
    "Products": ("productCategory",),
}


class AutotaskProvider:
    name: ClassVar[str] = "autotask"
    label: ClassVar[str] = "Autotask PSA"
    # 10,000 requests per rolling hour per database (shared with the MSP's other tools: we
    # keep to half), three concurrent requests per endpoint (PSA-NOTES 1.9).
    # (webapp.psa.autotask.budget slows down from 4,000 and reads the database-wide count.)
    rate_limit: ClassVar[RateLimit] = RateLimit(per_minute=300, concurrent=3, per_hour=5000)

    def __init__(self, client: AutotaskClient) -> None:
        self.client = client

    @staticmethod
    def syncs_tickets(connection) -> bool:
        """Sales orders become tickets only when the admin switched tickets on."""
        return bool(connection.option("tickets_enabled"))

    @staticmethod
    def open_tickets(connection, organization) -> list:
        """Open tickets of the organisation's company, for the checkout's ticket choice."""
        from webapp.integrations import operations as core
        from webapp.psa import operations
        from webapp.psa.tickets import TicketChoice

        if not connection.option("tickets_enabled"):
            return []
        link = core.link_for(connection.id, "organization", organization.id)
        if link is None:
            return []
        rows = operations.client_for(connection).query(
            "Tickets",
            [
                {"op": "eq", "field": "companyID", "value": int(link.remote_id)},
                {"op": "noteq", "field": "status", "value": COMPLETE},
            ],
            limit=100,
        )
        return [
            TicketChoice(
                connection.id,
                str(row["id"]),
                str(row.get("ticketNumber") or row["id"]),
                str(row.get("title") or ""),
            )
            for row in sorted(rows, key=lambda r: -int(r["id"]))
        ]

    def check(self) -> list[CheckItem]:
        """What the API user may do, by name; every line says what to change when it fails."""
        client = self.client
        try:
            zone = client.resolve_zone()
        except IntegrationError as exc:
            return [CheckItem("Zone", False, exc.message)]
        items = [CheckItem("Zone", True, f"{zone.name or 'found'} ({zone.api_base})")]
        try:
            threshold = client.threshold()
        except IntegrationError as exc:
            return [*items, CheckItem("Sign-in", False, exc.message)]
        used = threshold.get("currentTimeframeRequestCount")
        limit = threshold.get("externalRequestThreshold")
        items.append(
            CheckItem(
                "Sign-in", True, f"API user accepted; {used} of {limit} requests used this hour."
            )
        )
        for entity, rights, purpose in NEEDS:
            try:
                info = client.entity_information(entity)
            except IntegrationError as exc:
                items.append(CheckItem(entity, False, f"Cannot read ({purpose}): {exc.message}"))
                continue
            missing = [RIGHTS[r] for r in rights if not info.get(r)]
            if not missing:
                items.append(CheckItem(entity, True, f"OK: {purpose}."))
                continue
            module = MODULES.get(entity)
            hint = (
                f"Is the {module} module enabled, and may the API user's security level "
                f"{' and '.join(missing)} {entity}?"
                if module
                else f"Let the API user's security level {' and '.join(missing)} {entity}."
            )
            items.append(
                CheckItem(
                    entity,
                    False,
                    f"The API user may not {' or '.join(missing)} {entity} "
                    f"(needed to {purpose}). {hint}",
                )  # fmt: skip
            )
        return items

    def picklists(self) -> tuple[dict[str, list[dict]], list[CheckItem]]:
        """Read every picklist the settings need; also say which are missing or empty."""
        found: dict[str, list[dict]] = {}
        problems: list[CheckItem] = []
        for entity, names in PICKLISTS.items():
            fields = {f.get("name", "").lower(): f for f in self.client.fields(entity)}
            for name in names:
                key = f"{entity}.{name}"
                field = fields.get(name.lower())
                values = [
                    {"value": str(v["value"]), "label": str(v.get("label") or v["value"])}
                    for v in (field or {}).get("picklistValues") or []
                    if v.get("isActive", True)
                ]
                if not values:
                    problems.append(
                        CheckItem(key, False, f"Autotask has no active values in {key}.")
                    )
                found[key] = values
        active = [{"op": "eq", "field": "isActive", "value": True}]
        codes = [_lowered(c) for c in self.client.query("BillingCodes", active)]
        # Material codes (useType 2) for goods, one-off services, surcharge; recurring service
        # codes (useType 3) for Services; each with the tax category its items take.
        for key, use in (("BillingCodes.material", 2), ("BillingCodes.recurring", 3)):
            found[key] = [
                {
                    "value": str(c["id"]),
                    "label": str(c.get("name") or c["id"]),
                    "tax_category": str(c.get("taxcategoryid") or ""),
                }  # fmt: skip
                for c in codes
                if int(c.get("usetype") or 0) == use
            ]
        found["BillingCodes"] = found["BillingCodes.material"] + found["BillingCodes.recurring"]
        found["ShippingTypes"] = [
            {
                "value": str(t["id"]),
                "label": str(t.get("name") or t["id"]),
                "billing_code": str(t.get("billingcodeid") or ""),
            }  # fmt: skip
            for t in map(_lowered, self.client.query("ShippingTypes", active))
        ]
        resources = self.client.query(
            "Resources", [{"op": "eq", "field": "isActive", "value": True}]
        )
        found["Resources"] = [
            {
                "value": str(r.get("id") or r.get("Id")),
                "label": " ".join(
                    str(r.get(k) or r.get(k[0].upper() + k[1:]) or "")
                    for k in ("firstName", "lastName")
                ).strip()
                or str(r.get("email") or r.get("Email") or ""),
                "email": str(r.get("email") or r.get("Email") or "").lower(),
            }
            for r in resources
        ]
        return found, problems


def _lowered(record: dict) -> dict:
    return {str(k).lower(): v for k, v in record.items()}
