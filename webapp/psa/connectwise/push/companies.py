"""Companies and contacts in ConnectWise from our organisations and users."""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import PermanentError
from webapp.integrations.models import Delivery
from webapp.psa.connectwise.client import all_of, condition
from webapp.psa.connectwise.push.base import Base
from webapp.psa.connectwise.sync import CONTACT, company_reference


class Companies(Base):
    # -- company ---------------------------------------------------------------------------

    def _company(self, delivery: Delivery):
        from webapp.organizations.models import Organization

        organization = db.session.get(Organization, delivery.subject_id)
        if organization is None:
            raise PermanentError("The organisation was deleted.", field="Organisation")
        identifier = company_reference(organization.id)
        found = self.client.find(
            "company/companies",
            all_of(condition("identifier", "=", identifier), condition("deletedFlag", "=", False)),
        )
        if found:
            return found[0]["id"], identifier, True
        types = self.connection.option("sync_types") or []
        statuses = self.connection.option("sync_statuses") or []
        if not types or not statuses:
            raise PermanentError(
                "Choose which company types and statuses sync.",
                field="Company types",
                fix="Settings › PSA › ConnectWise › Organisations, then Retry.",
            )
        record = {
            "identifier": identifier,
            "name": organization.name[:156],
            "types": [{"id": int(types[0])}],
            "status": {"id": int(statuses[0])},
            "deletedFlag": False,
        }
        if organization.phone.strip():
            record["phoneNumber"] = organization.phone[:30]
        created = self.client.create("company/companies", record)
        return created["id"], identifier, False

    def _contact(self, company: dict, user) -> dict:
        """The ConnectWise contact for one of our users in that company (found by name, else
        created): a contact of another company cannot go on its records (PSA-NOTES T5)."""
        link = core.link_for(self.connection.id, CONTACT, user.id)
        if link is not None and (link.remote_number or "") in ("", contact_company(company)):
            return {"id": int(link.remote_id)}
        first, _, last = (user.name or user.email).strip().partition(" ")
        found = self.client.find(
            "company/contacts",
            all_of(
                condition("company/id", "=", company["id"]),
                condition("firstName", "=", first),
                condition("lastName", "=", last),
            ),
        )
        contact = found[0] if found else self.client.create(
            "company/contacts", {"firstName": first[:30], "lastName": last[:60], "company": company}
        )  # fmt: skip
        core.save_link(
            self.connection, CONTACT, user.id, remote_id=str(contact["id"]),
            remote_number=contact_company(company),
        )  # fmt: skip
        return {"id": int(contact["id"])}


def contact_company(company: dict) -> str:
    """What a contact link keeps of the company its contact belongs to."""
    return f"company {int(company['id'])}"
