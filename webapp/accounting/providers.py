"""The provider registry: ledger name -> provider class (imported on first use)."""

from __future__ import annotations

from importlib import import_module

from webapp.accounting.interfaces import AccountingProvider

# Add a provider here (see "HOW TO ADD A PROVIDER" in webapp/accounting/interfaces.py).
PROVIDER_PATHS: dict[str, str] = {
    "qbo": "webapp.accounting.quickbooks.provider:QuickBooksProvider",
    "xero": "webapp.accounting.xero.provider:XeroProvider",
}


class UnknownProvider(LookupError):
    """No provider is registered under that name (or its package is missing)."""


def provider_class(name: str) -> type[AccountingProvider]:
    """Return the provider class registered as ``name``."""
    path = PROVIDER_PATHS.get(name)
    if path is None:
        raise UnknownProvider(f"No accounting provider named {name!r}.")
    module_name, _, attr = path.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UnknownProvider(f"The {name!r} provider is not installed.") from exc
        raise
    return getattr(module, attr)


def available_providers() -> list[type[AccountingProvider]]:
    """Return the provider classes whose packages exist, in registry order."""
    found = []
    for name in PROVIDER_PATHS:
        try:
            found.append(provider_class(name))
        except UnknownProvider:
            continue
    return found
