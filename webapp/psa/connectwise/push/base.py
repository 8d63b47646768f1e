"""What every ConnectWise push needs: the connection, its client, the chosen settings."""

from __future__ import annotations

from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.psa.connectwise import operations
from webapp.psa.connectwise.sync import ORGANIZATION
from webapp.psa.models import PsaConnection


class Base:
    """A ConnectWise sender's connection, client and settings, shared by every push."""

    def __init__(self, connection: PsaConnection) -> None:
        self.connection = connection
        self.client = operations.client_for(connection)
        self.http = self.client.http

    # -- settings --------------------------------------------------------------------------

    def _ref(self, key: str, what: str) -> dict:
        value = self.connection.option(key)
        if value in (None, ""):
            raise PermanentError(
                f"Choose the {what} in Settings › PSA › ConnectWise.",
                field=what,
                fix="Pick it from the list (read from ConnectWise), save, then press Retry.",
            )
        return {"id": int(value)}

    def _company_of(self, organization_id: int) -> dict:
        link = core.link_for(self.connection.id, ORGANIZATION, organization_id)
        if link is None:
            raise PermanentError(
                "The organisation has no ConnectWise company yet.", field="Company"
            )
        return {"id": int(link.remote_id)}
