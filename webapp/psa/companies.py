"""Our organisations linked to EXISTING Autotask companies (or created: ``webapp.psa.sync``).

Staff search Autotask's active companies by name on the organisation page and pick one; the
link is made on the company's Autotask id, read again from Autotask when it is picked (a name
is never matched on its own). A company already linked to another of our organisations is
refused, and so is relinking an organisation that already has its company (its opportunities
and tickets are there). An organisation whose company create is queued but not sent yet takes
the picked company instead: the queued create confirms with it (``AutotaskSender``).
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.models import DeliveryStatus, ExternalLink, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.integrations.outbox import find_delivery, schedule_sync
from webapp.psa import operations
from webapp.psa.models import PsaConnection

ORGANIZATION = "organization"  # link subject, as in webapp.psa.sync
COMPANY_DELIVERY = "psa_company"  # webapp.psa.sync.COMPANY
SEARCH_MIN, SEARCH_MAX, FOUND_MAX = 2, 100, 25


@dataclass(frozen=True)
class FoundCompany:
    remote_id: str
    name: str
    number: str
    linked_to: str  # the name of our organisation already linked to it, or ""


def connections() -> list[PsaConnection]:
    return [c for c in core.active_connections(PsaConnection) if c.provider == operations.AUTOTASK]


def panel(organization) -> list[dict]:
    """Each active Autotask connection with the organisation's company link (or None)."""
    return [
        {"connection": c, "link": core.link_for(c.id, ORGANIZATION, organization.id)}
        for c in connections()
    ]


def _linked_to(connection: PsaConnection, remote_ids: list[str]) -> dict[str, int]:
    rows = db.session.execute(
        db.select(ExternalLink.remote_id, ExternalLink.subject_id).where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.subject_type == ORGANIZATION,
            ExternalLink.remote_id.in_(remote_ids),
        )
    ).all()
    return {remote: subject for remote, subject in rows}


def search(connection: PsaConnection, text: str) -> list[FoundCompany]:
    """Active Autotask companies whose name contains ``text`` (at most 25, by name)."""
    from webapp.organizations.models import Organization

    text = (text or "").strip()
    if not SEARCH_MIN <= len(text) <= SEARCH_MAX:
        raise IntegrationRuleError(
            f"Search: type {SEARCH_MIN} to {SEARCH_MAX} characters of the company's name."
        )
    rows = operations.client_for(connection).query(
        "Companies",
        [
            {"op": "contains", "field": "companyName", "value": text},
            {"op": "eq", "field": "isActive", "value": True},
        ],
        limit=FOUND_MAX,
    )
    linked = _linked_to(connection, [str(r["id"]) for r in rows])
    names = {
        o.id: o.name
        for o in db.session.scalars(
            db.select(Organization).where(Organization.id.in_(list(linked.values())))
        )
    }
    found = [
        FoundCompany(
            str(r["id"]),
            str(r.get("companyName") or r["id"]),
            str(r.get("companyNumber") or ""),
            names.get(linked.get(str(r["id"])), ""),
        )
        for r in rows
    ]
    return sorted(found, key=lambda c: (c.name.lower(), int(c.remote_id)))


def link(connection: PsaConnection, organization, remote_id: str, actor: str) -> ExternalLink:
    """Link the organisation to the Autotask company with that id (read from Autotask)."""
    from webapp.organizations.models import Organization

    if not str(remote_id or "").strip().isdigit():
        raise IntegrationRuleError("Company: pick a company from the search results.")
    company_id = int(str(remote_id).strip())
    existing = core.link_for(connection.id, ORGANIZATION, organization.id)
    if existing is not None:
        raise IntegrationRuleError(
            f"{organization.name} is already linked to the Autotask company "
            f"{existing.remote_number or existing.remote_id}; its opportunities and tickets "
            "are there."
        )
    other = _linked_to(connection, [str(company_id)])
    if other:
        name = db.session.get(Organization, other[str(company_id)]).name
        raise IntegrationRuleError(
            f"That Autotask company is already linked to {name}: one company per organisation."
        )
    queued = find_delivery(connection.id, COMPANY_DELIVERY, ORGANIZATION, organization.id)
    if queued is not None and queued.status == DeliveryStatus.SENT:
        raise IntegrationRuleError(
            f"The Autotask company of {organization.name} is being created right now; "
            "wait for it (Settings › PSA shows the outcome)."
        )
    try:
        company = operations.client_for(connection).get("Companies", company_id)
    except IntegrationError as exc:
        raise IntegrationRuleError(f"Autotask could not be asked ({exc.message}).") from None
    if not company or not company.get("isActive", True):
        raise IntegrationRuleError(f"Autotask has no active company with id {company_id}.")
    name = str(company.get("companyName") or company_id)
    saved = core.save_link(
        connection, ORGANIZATION, organization.id, remote_id=str(company_id),
        remote_number=name[:100],
    )  # fmt: skip
    core.log_sync(connection, SyncDirection.PULL, "company", remote_id=str(company_id),
                  message=f"{organization.name} linked to {name} by {actor}.")  # fmt: skip
    if queued is not None and queued.status == DeliveryStatus.PENDING:
        schedule_sync(connection)  # the queued create now confirms with the picked company
    db.session.flush()
    return saved
