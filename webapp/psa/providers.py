"""PSAs registered with the integrations core (Autotask; ConnectWise next)."""

from __future__ import annotations

from webapp.integrations import registry
from webapp.integrations.registry import Registration

registry.register(
    Registration(
        "autotask",
        "psa",
        "webapp.psa.autotask.provider:AutotaskProvider",
        sender="webapp.psa.sync:AutotaskSender",
    )
)
