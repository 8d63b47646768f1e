"""Our contacts (an organisation's users) linked to Autotask contacts of its linked company.

Staff pick one of the company's active Autotask contacts or create one (name and email from
ours) on the organisation page; the link is made on the Autotask contact id, read again from
Autotask (its company checked there; an email or name is never matched on its own). A create
first looks for an active contact of that company with the same email and refuses, naming it,
so the admin links it instead of making a second one. The link is used where Autotask has a
contact field: the opportunity's and the Autotask quote's ``contactID`` (the quote's first
recipient), the ticket's ``contactID`` (the order's customer).
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import IntegrationError, PermanentError
from webapp.integrations.models import ExternalLink, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.psa import companies, operations
from webapp.psa.models import PsaConnection

CONTACT = "contact"  # link subject: one of our users (an organisation's contact)
FOUND_MAX = 100


@dataclass(frozen=True)
class FoundContact:
    remote_id: str
    name: str
    email: str


def contact_id(connection_id: int, user) -> int | None:
    """The Autotask contact linked to our user, when there is one (for ``contactID``)."""
    if user is None:
        return None
    link = core.link_for(connection_id, CONTACT, user.id)
    return int(link.remote_id) if link is not None else None


def panel(organization, connection: PsaConnection) -> list[dict]:
    """The organisation's contacts, each with its Autotask contact link (or None)."""
    return [
        {"user": u, "link": core.link_for(connection.id, CONTACT, u.id)}
        for u in sorted(organization.contacts, key=lambda u: u.name.lower())
    ]


def _company(connection: PsaConnection, organization) -> ExternalLink:
    company = core.link_for(connection.id, companies.ORGANIZATION, organization.id)
    if company is None:
        raise IntegrationRuleError(
            f"{organization.name} has no Autotask company yet: link or create it first."
        )
    return company


def _user(connection: PsaConnection, organization, user_id):
    from webapp.auth.models import User

    user = db.session.get(User, int(user_id)) if str(user_id or "").isdigit() else None
    if user is None or user.organization_id != organization.id:
        raise IntegrationRuleError(f"Contact: pick one of the contacts of {organization.name}.")
    existing = core.link_for(connection.id, CONTACT, user.id)
    if existing is not None:
        raise IntegrationRuleError(
            f"{user.name} is already linked to the Autotask contact "
            f"{existing.remote_number or existing.remote_id}."
        )
    return user


def _save(connection: PsaConnection, user, contact: dict, actor, what: str) -> ExternalLink:
    remote_id = str(contact["id"])
    taken = db.session.scalar(
        db.select(ExternalLink).filter_by(
            connection_id=connection.id, subject_type=CONTACT, remote_id=remote_id
        )
    )
    if taken is not None:
        from webapp.auth.models import User

        other = db.session.get(User, taken.subject_id)
        raise IntegrationRuleError(
            f"That Autotask contact is already linked to {other.name if other else 'a contact'}."
        )
    name = (_name(contact) or remote_id)[:100]
    from webapp.psa.autotask.contact_sync import seen

    # What Autotask holds now: the poll takes back only what changes there after this.
    saved = core.save_link(connection, CONTACT, user.id, remote_id=remote_id, remote_number=name,
                           version=seen(contact))  # fmt: skip
    core.log_sync(connection, SyncDirection.PULL, "contact", remote_id=remote_id,
                  message=f"{user.name} {what} {name} by {actor}.")  # fmt: skip
    db.session.flush()
    return saved


def _name(row: dict) -> str:
    return " ".join(str(row.get(k) or "") for k in ("firstName", "lastName")).strip()


def company_contacts(connection: PsaConnection, organization) -> list[FoundContact]:
    """The active Autotask contacts of the organisation's company (by name)."""
    company = _company(connection, organization)
    rows = operations.client_for(connection).query(
        "Contacts",
        [
            {"op": "eq", "field": "companyID", "value": int(company.remote_id)},
            {"op": "eq", "field": "isActive", "value": 1},
        ],
        limit=FOUND_MAX,
    )
    found = [
        FoundContact(str(r["id"]), _name(r) or str(r["id"]), str(r.get("emailAddress") or ""))
        for r in rows
    ]
    return sorted(found, key=lambda c: (c.name.lower(), int(c.remote_id)))


def link(connection: PsaConnection, organization, user_id, remote_id: str, actor: str):
    """Link our contact to the Autotask contact with that id (read from Autotask)."""
    user = _user(connection, organization, user_id)
    if not str(remote_id or "").strip().isdigit():
        raise IntegrationRuleError("Autotask contact: pick one from the list.")
    company = _company(connection, organization)
    wanted = int(str(remote_id).strip())
    try:
        contact = operations.client_for(connection).get("Contacts", wanted)
    except IntegrationError as exc:
        raise IntegrationRuleError(f"Autotask could not be asked ({exc.message}).") from None
    if not contact or not contact.get("isActive", 1):
        raise IntegrationRuleError(f"Autotask has no active contact with id {wanted}.")
    if str(contact.get("companyID")) != company.remote_id:
        raise IntegrationRuleError(
            f"The Autotask contact {wanted} belongs to another company, not the company of "
            f"{organization.name}."
        )
    return _save(connection, user, contact, actor, "linked to")


def create(connection: PsaConnection, organization, user_id, actor: str):
    """Create our contact in Autotask under the organisation's company, and link it."""
    user = _user(connection, organization, user_id)
    company = _company(connection, organization)
    client = operations.client_for(connection)
    first, _, last = user.name.strip().partition(" ")
    record = {
        "companyID": int(company.remote_id),
        "firstName": first[:50] or user.email[:50],
        "lastName": (last.strip() or first)[:50],
        "emailAddress": user.email[:254],
        "isActive": 1,
    }
    try:
        same = client.query(
            "Contacts",
            [
                {"op": "eq", "field": "companyID", "value": record["companyID"]},
                {"op": "eq", "field": "emailAddress", "value": record["emailAddress"]},
            ],
            limit=2,
        )
        if same:
            raise IntegrationRuleError(
                f"The Autotask company already has a contact with {user.email} "
                f"({_name(same[0])}, id {same[0]['id']}): link it instead."
            )
        remote_id = client.create_child("Companies", record["companyID"], "Contacts", record)
        stored = client.get("Contacts", remote_id)
    except PermanentError as exc:
        raise IntegrationRuleError(f"Autotask refused the contact: {exc.message}") from None
    except IntegrationError as exc:
        raise IntegrationRuleError(f"Autotask could not be asked ({exc.message}).") from None
    return _save(connection, user, {"id": remote_id, **stored}, actor, "created as")
