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
    # The outbox's Sender for this provider's connections: "module:Class", built as
    # Class(connection) (see webapp.integrations.outbox.Sender).
    sender: str = ""


_REGISTRY: dict[str, Registration] = {}
# Delivery kinds ("invoice", "psa_ticket"...) -> what staff read, registered by their domains.
_KINDS: dict[str, str] = {}


def register(registration: Registration) -> None:
    existing = _REGISTRY.get(registration.name)
    if existing is not None and existing != registration:
        raise ValueError(f"Another provider is already registered as {registration.name!r}.")
    _REGISTRY[registration.name] = registration


def register_kinds(labels: dict[str, str]) -> None:
    """Declare a domain's delivery kinds and their labels (a kind belongs to one domain)."""
    for kind, text in labels.items():
        if _KINDS.get(kind, text) != text:
            raise ValueError(f"Another domain already registered the delivery kind {kind!r}.")
        _KINDS[kind] = text


def kind_label(kind: str) -> str:
    return _KINDS.get(kind) or kind.replace("_", " ").capitalize()


def label(name: str) -> str:
    """Return the vendor's name as staff know it (the provider class's ``label``)."""
    try:
        return provider_class(name).label
    except UnknownProvider:
        return name


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


def domain_provider(name: str, kind: str) -> Any:
    """Return the provider class ``name``, refusing one registered for another domain."""
    entry = registration(name)
    if entry.kind != kind:
        raise UnknownProvider(f"{name!r} is not a {kind} provider.")
    return resolve(entry.path)


def sender(connection: Any) -> Any:
    """Build the outbox Sender registered for the connection's provider."""
    entry = registration(connection.provider)
    if not entry.sender:
        raise UnknownProvider(f"{entry.name!r} sends nothing through the outbox.")
    return resolve(entry.sender)(connection)


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
