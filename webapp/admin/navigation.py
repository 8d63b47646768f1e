"""The admin sidebar: one list, filtered by role and by which sections are installed."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[str, ...] = ()  # empty: every staff role


NAV: list[NavItem] = [
    NavItem("admin.dashboard", "Dashboard"),
    NavItem("sales_admin.orders", "Orders"),
    NavItem("quotes_admin.index", "Quotes", ("admin", "sales")),
    NavItem("purchasing_admin.purchase_orders", "Purchase orders", ("admin", "purchasing")),
    NavItem("purchasing_admin.receipts", "Receipts", ("admin", "purchasing")),
    NavItem("reports_admin.index", "Reports"),
    NavItem("organizations_admin.index", "Organizations"),
    NavItem("catalog_admin.products", "Products"),
    NavItem("catalog_admin.suppliers", "Suppliers & feeds"),
    NavItem("catalog_admin.pricing", "Pricing rules", ("admin",)),
    NavItem("catalog_admin.tax_codes", "Tax codes", ("admin",)),
    NavItem("quotes_admin.templates", "Quote templates", ("admin",)),
    NavItem("quotes_admin.approval_rules", "Quote approval rules", ("admin",)),
    NavItem("auth_admin.users", "Users & roles", ("admin",)),
    NavItem("settings_admin.sales", "Settings", ("admin",)),
    NavItem("api_admin.keys", "API keys", ("admin",)),
    NavItem("accounting_admin.integrations", "Integrations", ("admin",)),
    NavItem("psa_admin.index", "PSA (Autotask)", ("admin",)),
    NavItem("ticketmail_admin.index", "Ticket by email", ("admin",)),
    NavItem("webhooks_admin.index", "Webhooks", ("admin",)),
    NavItem("accounting_admin.sync_log", "Sync log"),
    NavItem("mail_admin.sent", "Sent mail", ("admin",)),
    NavItem("admin.security_events", "Security events", ("admin",)),
]


def admin_nav() -> list[NavItem]:
    """Return the sidebar entries the signed-in staff member may open."""
    role = current_user.role.value
    return [
        item
        for item in NAV
        if item.endpoint in current_app.view_functions and (not item.roles or role in item.roles)
    ]
