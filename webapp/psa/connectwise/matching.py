"""Ours ↔ ConnectWise records picked by staff: an organisation's company, a quote's (or an order's)
opportunity. Matched on ConnectWise's id, never on a name; each pick is checked against
ConnectWise before it is stored. Writes flush, never commit.
"""

from __future__ import annotations

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import DeliveryStatus
from webapp.integrations.operations import IntegrationRuleError
from webapp.psa.connectwise import operations, sync
from webapp.psa.connectwise.client import NotFound, all_of, condition
from webapp.psa.models import PsaConnection

MAX_OFFERED = 50  # a search answers at most this many; narrow it by name


def _client(connection: PsaConnection):
    return operations.client_for(connection)


def _fits(connection: PsaConnection, company: dict) -> bool:
    """A company an organisation may be matched to: not deleted, one of the synced statuses and
    types (the recycle bin keeps same-name twins; PSA-NOTES T6)."""
    if company.get("deletedFlag"):
        return False
    statuses = {int(v) for v in connection.option("sync_statuses", [])}
    if statuses and (company.get("status") or {}).get("id") not in statuses:
        return False
    types = {int(v) for v in connection.option("sync_types", [])}
    company_types = {t.get("id") for t in company.get("types") or []}
    return not types or bool(company_types & types)


def companies_offered(connection: PsaConnection, search: str = "") -> list[dict]:
    """Companies an organisation may be matched to, by name (``contains``), at most
    ``MAX_OFFERED``."""
    parts = [condition("deletedFlag", "=", False)]
    statuses = [int(v) for v in connection.option("sync_statuses", [])]
    if statuses:
        parts.append(condition("status/id", "in", statuses))
    if search.strip():
        parts.append(condition("name", "contains", search.strip()[:100]))
    found = []
    for company in _client(connection).each("company/companies", all_of(*parts)):
        if _fits(connection, company):
            found.append(company)
            if len(found) >= MAX_OFFERED:
                break
    return found


def company_of(connection: PsaConnection, organization_id: int) -> int | None:
    link = core.link_for(connection.id, sync.ORGANIZATION, organization_id)
    return int(link.remote_id) if link is not None else None


def link_organization(connection: PsaConnection, organization, company_id: int) -> dict:
    """Match an organisation to an existing ConnectWise company (by its id, never its name).

    Refused, naming why, when the company is unknown, deleted or not a synced type and status,
    or already matched to another of our organisations (one company, one organisation).
    """
    company_id = int(company_id)
    try:
        company = _client(connection).get(f"company/companies/{company_id}")
    except NotFound:
        company = None
    if not company or not _fits(connection, company):
        raise IntegrationRuleError(
            f"Company: ConnectWise company {company_id} is not one of the synced types and "
            "statuses (or it is deleted)."
        )
    from webapp.integrations.models import ExternalLink

    taken = db.session.scalar(
        db.select(ExternalLink).where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.subject_type == sync.ORGANIZATION,
            ExternalLink.remote_id == str(company_id),
            ExternalLink.subject_id != organization.id,
        )
    )
    if taken is not None:
        from webapp.organizations.models import Organization

        other = db.session.get(Organization, taken.subject_id)
        raise IntegrationRuleError(
            f"Company: {company.get('name')} is already matched to "
            f"{other.name if other else 'another organisation'}."
        )
    before = company_of(connection, organization.id)
    core.save_link(
        connection,
        sync.ORGANIZATION,
        organization.id,
        remote_id=str(company["id"]),
        remote_number=str(company.get("identifier") or "")[:100],
    )
    if before is not None and before != company_id:
        company["moved_quotes"] = _follow_the_company(connection, organization, before, company)
    db.session.flush()
    return company


UNDECIDED = ("draft", "pending_internal_approval", "approved_internally", "sent", "expired")


def _follow_the_company(connection: PsaConnection, organization, before: int, company) -> list:
    """Re-matched: the opportunities of the organisation's undecided quotes move to the new
    company (a delivery each, with a timeline entry); won, lost and cancelled ones stay where
    they were decided. Contacts found in the old company are looked up again in the new one.
    Returns the numbers of the quotes whose opportunity moves."""
    from webapp.auth.models import User
    from webapp.integrations.models import ExternalLink
    from webapp.quotes.lifecycle import record_quote_event
    from webapp.quotes.models import Quote

    users = db.select(User.id).where(User.organization_id == organization.id)
    db.session.execute(
        db.delete(ExternalLink)
        .where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.subject_type == sync.CONTACT,
            ExternalLink.subject_id.in_(users),
        )
        .execution_options(synchronize_session="fetch")
    )
    quotes = db.session.execute(
        db.select(Quote, ExternalLink.remote_id)
        .join(ExternalLink, ExternalLink.subject_id == Quote.id)
        .where(
            ExternalLink.connection_id == connection.id,
            ExternalLink.subject_type == sync.QUOTE,
            Quote.organization_id == organization.id,
        )
        .order_by(Quote.id)
    ).all()
    moved, detached = [], []
    name = company.get("name") or f"#{company['id']}"
    for quote, opportunity in quotes:
        if quote.status.value not in UNDECIDED:
            continue  # decided: its opportunity stays with the company it was decided in
        if _picked_not_sent(connection, quote):
            # The old company's own opportunity, picked on the quote: not ours to move.
            db.session.execute(
                db.delete(ExternalLink).filter_by(
                    connection_id=connection.id, subject_type=sync.QUOTE, subject_id=quote.id
                )
            )
            record_quote_event(
                quote,
                "psa.opportunity_detached",
                f"{organization.name} now matches ConnectWise company {name}: the quote no "
                f"longer goes on opportunity {opportunity} of company #{before} (picked, not "
                "sent yet). Pick one of the new company, or a new opportunity is created.",
                opportunity=int(opportunity),
                company=int(company["id"]),
                previous_company=before,
            )
            detached.append(quote.number)
            continue
        sync.queue_move(connection, quote)
        record_quote_event(
            quote,
            "psa.opportunity_moved",
            f"{organization.name} now matches ConnectWise company {name}: opportunity "
            f"{opportunity} moves there from company #{before}.",
            opportunity=int(opportunity),
            company=int(company["id"]),
            previous_company=before,
        )
        moved.append(quote.number)
    if detached:
        company["detached_quotes"] = detached
    return moved


def _picked_not_sent(connection: PsaConnection, quote) -> bool:
    """The quote's link is an opportunity picked on it that nothing of ours reached yet."""
    delivery = sync.find_delivery(connection.id, sync.OPPORTUNITY, sync.QUOTE, quote.id)
    return delivery is None or (
        delivery.status != DeliveryStatus.CONFIRMED and not delivery.attempts
    )


def _closed_statuses(connection: PsaConnection) -> set[int]:
    return {
        int(row["value"])
        for row in connection.picklists.get("opportunity_statuses", [])
        if row.get("wonFlag") or row.get("lostFlag") or row.get("closedFlag")
    }


def opportunities_offered(connection: PsaConnection, organization_id: int) -> list[dict]:
    """The open opportunities of the organisation's ConnectWise company (none when the
    organisation is not matched to a company yet)."""
    company_id = company_of(connection, organization_id)
    if company_id is None:
        return []
    closed = _closed_statuses(connection)
    found = []
    for row in _client(connection).each(
        "sales/opportunities", condition("company/id", "=", company_id)
    ):
        if (row.get("status") or {}).get("id") in closed:
            continue
        found.append(row)
        if len(found) >= MAX_OFFERED:
            break
    return found


def pick_opportunity(
    connection: PsaConnection, subject_type: str, subject, opportunity_id: int
) -> dict:
    """Attach a quote (``sync.QUOTE``) or an order without a quote (``sync.WON_SALE``) to an
    existing open opportunity of its organisation's company instead of a new one.

    Only before it reached ConnectWise: afterwards its products are on another opportunity.
    """
    if subject_type not in (sync.QUOTE, sync.WON_SALE):
        raise ValueError(subject_type)
    delivery = sync.find_delivery(connection.id, sync.OPPORTUNITY, subject_type, subject.id)
    linked = core.link_for(connection.id, subject_type, subject.id)
    if delivery is not None and (delivery.attempts or linked is not None):
        raise IntegrationRuleError(
            "Opportunity: this already went to ConnectWise as opportunity "
            f"{linked.remote_id if linked else '(being created)'}; it cannot move to another."
        )
    company_id = company_of(connection, subject.organization_id)
    if company_id is None:
        raise IntegrationRuleError(
            "Opportunity: match the organisation to its ConnectWise company first."
        )
    opportunity_id = int(opportunity_id)
    offered = {row["id"]: row for row in opportunities_offered(connection, subject.organization_id)}
    opportunity = offered.get(opportunity_id)
    if opportunity is None:
        raise IntegrationRuleError(
            f"Opportunity: {opportunity_id} is not an open opportunity of the organisation's "
            "ConnectWise company."
        )
    core.save_link(
        connection,
        subject_type,
        subject.id,
        remote_id=str(opportunity_id),
        remote_number=str(opportunity.get("name") or "")[:100],
    )
    db.session.flush()
    return opportunity
