"""Accounting's ledgers, registered with the integrations core."""

from __future__ import annotations

from webapp.accounting.interfaces import AccountingProvider, DeliveryKind
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
        sender="webapp.accounting.deliveries:LedgerSender",
    ),
    Registration(
        "xero",
        "ledger",
        "webapp.accounting.xero.provider:XeroProvider",
        webhook_key_config="XERO_WEBHOOK_KEY",
        webhook_handler="webapp.accounting.inbound:handle_webhook",
        sender="webapp.accounting.deliveries:LedgerSender",
    ),
)
for _ledger in LEDGERS:
    registry.register(_ledger)
registry.register_kinds({kind.value: kind.label for kind in DeliveryKind})

__all__ = ["UnknownProvider", "available_providers", "provider_class"]


def provider_class(name: str) -> type[AccountingProvider]:
    """Return the ledger provider class registered as ``name``."""
    return registry.domain_provider(name, "ledger")


def available_providers() -> list[type[AccountingProvider]]:
    """Return the ledger provider classes whose packages exist, in registry order."""
    return registry.providers("ledger")
