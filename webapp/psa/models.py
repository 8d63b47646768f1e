"""PSA connections: a kind of integrations-core connection, with what was read from the PSA."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.integrations.models import Connection, read_pending
from webapp.models_base import UTCDateTime


class PsaConnection(Connection):
    """One Autotask database or ConnectWise company and what we know of it.

    For ConnectWise: ``tenant_id`` is the company id, ``username`` the API member's public key,
    ``site`` where it signs in, ``zone_name`` the codebase ``/login/companyinfo`` named and
    ``api_base`` the API root built from it; ``picklists`` holds the lookups.
    """

    __tablename__ = "psa_connections"
    __mapper_args__ = {"polymorphic_identity": "psa"}

    id: Mapped[int] = mapped_column(ForeignKey("integration_connections.id"), primary_key=True)
    # The API user (not secret); its secret and the integration code are in token_ciphertext.
    username: Mapped[str] = mapped_column(String(200), default="")
    # The zone's REST root, from ZoneInformation; read again when the zone answers 401.
    api_base: Mapped[str] = mapped_column(String(300), default="")
    zone_name: Mapped[str] = mapped_column(String(100), default="")
    # ConnectWise: the site (e.g. na.myconnectwise.net) whose companyinfo names the codebase.
    site: Mapped[str] = mapped_column(String(200), default="", server_default="")
    zone_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The connection check: [{"name", "ok", "message"}], newest run.
    check_results: Mapped[list] = mapped_column(JSON, default=list)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Picklists read from entityInformation/fields: {"Entity.field": [{"value", "label"}]}.
    picklists: Mapped[dict] = mapped_column(JSON, default=dict)
    picklists_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    picklists_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    picklists_error: Mapped[str] = mapped_column(Text, default="")
    # The admin's configuration (opportunities sync...), keys as in OPPORTUNITY_OPTIONS.
    options: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def check_passed(self) -> bool:
        return bool(self.check_results) and all(item["ok"] for item in self.check_results)

    @property
    def picklists_pending(self) -> bool:
        """Return whether a read of the picklists was asked for and has not ended."""
        return read_pending(self.picklists_requested_at, self.picklists_read_at)

    def option(self, key: str, default=None):
        return (self.options or {}).get(key, default)

    def choices(self, key: str) -> list[tuple[str, str]]:
        """A picklist as (value, label) pairs for a dropdown (never a typed id)."""
        return [(item["value"], item["label"]) for item in self.picklists.get(key, [])]
