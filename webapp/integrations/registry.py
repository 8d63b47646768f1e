"""Which providers exist: each domain registers its own; the core never imports them.

A registration names the provider class by dotted path (imported on first use, so a
missing optional package only hides that provider) and, when the vendor sends webhooks, the
config key of the signing secret and the function that handles a verified event in a job.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any


class UnknownProvider(LookupError):
    """No provider is registered under that name (or its package is missing)."""


@dataclass(frozen=True)
class Registration:
    name: str  # URL and database key, e.g. "qbo"
    kind: str  # "ledger", "psa", ...: which domain's screens list it
    path: str  # "package.module:Class"
    # Inbound webhooks: the config key of the signing secret, and "module:function" that
    # takes (provider class, raw body) in a job once the signature was verified.
    webhook_key_config: str = ""
    webhook_handler: str = ""


_REGISTRY: dict[str, Registration] = {}


def register(registration: Registration) -> None:
    existing = _REGISTRY.get(registration.name)
    if existing is not None and existing != registration:
        raise ValueError(f"Another provider is already registered as {registration.name!r}.")
    _REGISTRY[registration.name] = registration


def registration(name: str) -> Registration:
    found = _REGISTRY.get(name)
    if found is None:
        raise UnknownProvider(f"No provider named {name!r}.")
    return found


def resolve(path: str) -> Any:
    """Import ``package.module:attribute``; UnknownProvider when the package is missing."""
    module_name, _, attr = path.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UnknownProvider(f"{path.split(':')[0]!r} is not installed.") from exc
        raise
    return getattr(module, attr)


def provider_class(name: str) -> Any:
    """Return the provider class registered as ``name``."""
    return resolve(registration(name).path)


def providers(kind: str) -> list[Any]:
    """Return the installed provider classes of one kind, in registration order."""
    found = []
    for entry in _REGISTRY.values():
        if entry.kind != kind:
            continue
        try:
            found.append(resolve(entry.path))
        except UnknownProvider:
            continue
    return found
