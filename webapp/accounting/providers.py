"""Accounting's ledgers, registered with the integrations core."""

from __future__ import annotations

from webapp.accounting.interfaces import AccountingProvider
from webapp.integrations import registry
from webapp.integrations.registry import Registration, UnknownProvider

# Add a provider here (see "HOW TO ADD A PROVIDER" in webapp/accounting/interfaces.py).
LEDGERS = (
    Registration(
        "qbo",
        "ledger",
        "webapp.accounting.quickbooks.provider:QuickBooksProvider",
        webhook_key_config="QBO_WEBHOOK_VERIFIER",
        webhook_handler="webapp.accounting.inbound:handle_webhook",
    ),
    Registration(
        "xero",
        "ledger",
        "webapp.accounting.xero.provider:XeroProvider",
        webhook_key_config="XERO_WEBHOOK_KEY",
        webhook_handler="webapp.accounting.inbound:handle_webhook",
    ),
)
for _ledger in LEDGERS:
    registry.register(_ledger)

__all__ = ["UnknownProvider", "available_providers", "provider_class"]


def provider_class(name: str) -> type[AccountingProvider]:
    """Return the ledger provider class registered as ``name``."""
    entry = registry.registration(name)
    if entry.kind != "ledger":
        raise UnknownProvider(f"{name!r} is not a ledger.")
    return registry.resolve(entry.path)


def available_providers() -> list[type[AccountingProvider]]:
    """Return the ledger provider classes whose packages exist, in registry order."""
    return registry.providers("ledger")
