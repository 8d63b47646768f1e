"""PSAs registered with the integrations core (Autotask, ConnectWise)."""

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
registry.register(
    Registration(
        "connectwise",
        "psa",
        "webapp.psa.connectwise.provider:ConnectWiseProvider",
        sender="webapp.psa.connectwise.sender:ConnectWiseSender",
        # Verified by webapp.psa.connectwise.callbacks (a key per call, from key_url), then
        # handled by the core's inbound job.
        webhook_handler="webapp.psa.connectwise.callbacks:handle",
    )
)
