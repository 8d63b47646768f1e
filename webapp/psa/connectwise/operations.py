"""ConnectWise rules: connect a company, check it, read its lookups, choose the configuration.

Writes flush, never commit. Secrets (private key, client id) are stored encrypted through
``webapp.integrations.secrets``; the public key is not secret and is shown.
"""

from __future__ import annotations

import json
import re

import requests
from flask import current_app

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.egress import EgressRefused, PublicAddressAdapter, check_url
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.models import ConnectionStatus, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.integrations.secrets import decrypt, encrypt
from webapp.jobs import enqueue_after_commit
from webapp.models_base import utcnow
from webapp.psa import checks
from webapp.psa.checks import CheckItem
from webapp.psa.connectwise.client import ConnectWiseClient, Credentials, site_root
from webapp.psa.connectwise.provider import ConnectWiseProvider
from webapp.psa.models import PsaConnection

CONNECTWISE = "connectwise"
SITE = re.compile(r"(https?://)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,200})(?::\d{1,5})?")
COMPANY = re.compile(r"[A-Za-z0-9_.-]{1,100}")
CLIENT_ID = re.compile(r"[A-Za-z0-9-]{1,100}")  # sent as a header: nothing else may pass

# The three configurations of seed 003 (Settings › PSA › ConnectWise explains each).
CW_INVOICING = "cw_invoicing"  # 1: invoicing in ConnectWise, purchasing in our product
OUR_INVOICING = "our_invoicing"  # 2: invoicing and purchasing in our product
CW_BOTH = "cw_both"  # 3: ConnectWise invoices and purchases
CONFIGURATIONS: dict[str, tuple[str, str]] = {
    CW_INVOICING: (
        "Invoicing in ConnectWise, purchasing here (recommended)",
        "Sales orders sync to ConnectWise for invoicing — from the opportunity (recommended) or "
        "a ticket — with products created in the ConnectWise catalog when missing. Supplier "
        "purchase orders go to your ledger (QuickBooks Online / Xero) from here, or, with "
        "ConnectWise procurement on, to ConnectWise as completed purchase orders.",
    ),
    OUR_INVOICING: (
        "Invoicing and purchasing here (high volume)",
        "Invoices and purchase orders go to your ledger from here. Each sales order raises a "
        "ConnectWise ticket for service advice, without products; opportunities are optional, "
        "for reporting.",
    ),
    CW_BOTH: (
        "ConnectWise invoices and purchases",
        "Sales orders sync to ConnectWise for invoicing as in the first configuration; our "
        "automatic purchase orders become procurement suggestions issued to your purchasing "
        "officer, not the supplier, who raises the purchase order in ConnectWise.",
    ),
}
INVOICE_FROM = {"opportunity": "the opportunity (recommended)", "ticket": "the ticket"}

# Settings chosen from lookups: option key -> (lookup key, label, needed by).
CHOICES: dict[str, tuple[str, str]] = {
    "sales_rep": ("members", "Sales rep when the quote's owner is not a member"),
    "opportunity_stage": ("opportunity_stages", "Stage of a new opportunity"),
    "opportunity_status": ("opportunity_statuses", "Status of a new opportunity"),
    "won_status": ("opportunity_statuses", "Status when the quote is accepted (won)"),
    "lost_status": ("opportunity_statuses", "Status when the quote is lost"),
    "board": ("boards", "Service board for tickets"),
    "ticket_status": ("ticket_statuses", "Status of a new ticket"),
    "subcategory": ("subcategories", "Product subcategory for new catalog items"),
    "product_type": ("product_types", "Product type for new catalog items"),
    "warehouse": ("warehouses", "Warehouse for purchase orders (procurement)"),
    "po_status": ("po_statuses", "Status of a completed purchase order (procurement)"),
    "tax_code": ("tax_codes", "Tax code for taxable products"),
}
ALWAYS_NEEDED = ("sales_rep", "board", "ticket_status")
OPPORTUNITY_NEEDED = ("opportunity_stage", "opportunity_status", "won_status", "lost_status")
PRODUCT_NEEDED = ("subcategory", "product_type")


def _http(connection: PsaConnection | None) -> IntegrationHttp:
    """The channel of a connection: every call (redirects too) only to public addresses, the
    one checked being the one connected to (``webapp.integrations.egress``)."""
    config = current_app.config
    gate = None
    if connection is not None and connection.id is not None:
        gate = core.limiter_for(str(connection.id), ConnectWiseProvider)
    session = requests.Session()
    adapter = PublicAddressAdapter(allow_loopback=bool(config.get("CONNECTWISE_ALLOW_LOOPBACK")))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return IntegrationHttp(
        None,
        session=session,
        gate=gate,
        timeout=float(config.get("CONNECTWISE_HTTP_TIMEOUT", 30)),
        allow_http=bool(config.get("INTEGRATIONS_ALLOW_HTTP")),
        vendor="ConnectWise",
    )


def credentials(connection: PsaConnection) -> Credentials:
    stored = json.loads(decrypt(connection.token_ciphertext))
    return Credentials(
        connection.tenant_id, connection.username, stored["private_key"], stored["client_id"]
    )


def _client(creds: Credentials, http: IntegrationHttp, site: str, codebase: str = "", on=None):
    config = current_app.config
    return ConnectWiseClient(
        creds,
        http,
        site=site,
        api_base=config.get("CONNECTWISE_API_BASE") or "",
        codebase=codebase,
        version=config.get("CONNECTWISE_API_VERSION") or "2026.1",
        on_codebase=on,
    )


def client_for(connection: PsaConnection) -> ConnectWiseClient:
    """The client of a stored connection; a codebase found again is saved on the connection."""

    def remember(codebase: str, api_root: str) -> None:
        connection.zone_name = codebase[:100]
        connection.api_base = api_root[:300]
        connection.zone_resolved_at = utcnow()

    return _client(
        credentials(connection), _http(connection), connection.site, connection.zone_name, remember
    )


def connect_connectwise(
    site: str, company_id: str, public_key: str, private_key: str, client_id: str, actor
) -> PsaConnection:
    """Check the API member's keys against ConnectWise and store them (encrypted).

    Nothing is stored when ConnectWise does not accept them; the refusal says what to fix.
    """
    site, company_id = site.strip().rstrip("/"), company_id.strip()
    public_key, client_id = public_key.strip(), client_id.strip()
    if not (site and company_id and public_key and private_key and client_id):
        raise IntegrationRuleError(
            "Enter the site, company id, public and private key, and the client id."
        )
    if not SITE.fullmatch(site):
        raise IntegrationRuleError(
            "Site: enter the host name you sign in to, e.g. na.myconnectwise.net."
        )
    try:
        check_url(
            site_root(site),
            allow_http=bool(current_app.config.get("INTEGRATIONS_ALLOW_HTTP")),
            allow_loopback=bool(current_app.config.get("CONNECTWISE_ALLOW_LOOPBACK")),
        )
    except EgressRefused as exc:
        raise IntegrationRuleError(f"Site: {exc.message}") from None
    if not COMPANY.fullmatch(company_id):
        raise IntegrationRuleError(
            "Company id: letters, digits, dots, dashes and underscores only (as at sign-in)."
        )
    if not CLIENT_ID.fullmatch(client_id):
        raise IntegrationRuleError(
            "Client id: paste the id from developer.connectwise.com (letters, digits and dashes)."
        )
    probe = _client(Credentials(company_id, public_key, private_key, client_id), _http(None), site)
    results = ConnectWiseProvider(probe).check()
    if not any(item.name == "Sign-in" and item.ok for item in results):
        raise IntegrationRuleError(" ".join(item.message for item in results if not item.ok))
    connection = db.session.scalar(
        db.select(PsaConnection).filter_by(provider=CONNECTWISE, tenant_id=company_id.lower())
    )
    if connection is None:
        connection = PsaConnection(provider=CONNECTWISE, tenant_id=company_id.lower())
        db.session.add(connection)
        connection.options = default_options()
    connection.site = site[:200]
    connection.username = public_key[:200]
    connection.tenant_name = company_id
    connection.token_ciphertext = encrypt(
        json.dumps({"private_key": private_key, "client_id": client_id}).encode()
    )
    connection.zone_name = probe.codebase[:100]
    connection.api_base = probe.api_root[:300]
    connection.zone_resolved_at = utcnow()
    core.mark_connected(connection, actor)
    checks.store_check(connection, results)
    request_lookups(connection)
    return connection


def default_options() -> dict:
    return {
        "configuration": CW_INVOICING,
        "invoice_from": "opportunity",
        "procurement": False,
        "opportunities": True,
        "sync_types": [],  # filled with Prospect once the lookups are read
        "sync_statuses": [],  # ... and Active
    }


def run_check(connection: PsaConnection) -> list[CheckItem]:
    """Run the connection check again (the admin's *Check again*) and store the answer."""
    return checks.record_check(connection, ConnectWiseProvider(client_for(connection)).check())


def request_lookups(connection: PsaConnection) -> None:
    """Queue a read of the lookups (after commit; the page polls until it ends)."""
    connection.picklists_requested_at = utcnow()
    db.session.flush()
    enqueue_after_commit("workers.psa.refresh_connectwise_lookups", connection.id)


def refresh_lookups(connection: PsaConnection) -> bool:
    """Read and store every lookup; a fault keeps the last copy."""
    try:
        lookups = ConnectWiseProvider(client_for(connection)).lookups()
    except IntegrationError as exc:
        connection.picklists_error = f"ConnectWise lookups unavailable: {exc.message}"
        connection.picklists_read_at = utcnow()
        core.log_sync(connection, SyncDirection.PULL, "lookups", ok=False, message=exc.message)
        return False
    connection.picklists = lookups.found
    connection.picklists_read_at = utcnow()
    connection.picklists_error = "; ".join(p.message for p in lookups.problems)
    options = dict(connection.options or default_options())
    # Seed 000: most MSPs sync the Prospect type with an Active status.
    if not options.get("sync_types"):
        options["sync_types"] = _named(lookups.found.get("company_types", []), "Prospect")
    if not options.get("sync_statuses"):
        options["sync_statuses"] = _named(lookups.found.get("company_statuses", []), "Active")
    connection.options = options
    core.log_sync(
        connection, SyncDirection.PULL, "lookups", message=f"Read {len(lookups.found)} lookups."
    )
    return True


def _named(rows: list[dict], name: str) -> list[str]:
    return [row["value"] for row in rows if row["label"].lower() == name.lower()]


def disconnect(connection: PsaConnection, actor) -> None:
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise IntegrationRuleError(f"{connection.label} is already disconnected.")
    core.disconnect(connection, actor)


def save_settings(
    connection: PsaConnection,
    *,
    configuration: str,
    invoice_from: str,
    procurement: bool,
    opportunities: bool,
    sync_types: list[str],
    sync_statuses: list[str],
    choices: dict[str, str],
    actor=None,
) -> None:
    """Check every choice against the lookups read from ConnectWise and store them.

    Raises IntegrationRuleError naming the setting when a value is not one ConnectWise offers
    or one the chosen configuration needs is missing. Configuration 3 turns our automatic
    purchase orders into suggestions for the purchasing officer (Settings › Purchasing).
    """
    if configuration not in CONFIGURATIONS:
        raise IntegrationRuleError("Configuration: choose one of the three.")
    if invoice_from not in INVOICE_FROM:
        raise IntegrationRuleError("Invoice from: choose the opportunity or the ticket.")
    if configuration != CW_INVOICING and procurement:
        raise IntegrationRuleError(
            "ConnectWise procurement: only with “Invoicing in ConnectWise, purchasing here” "
            "(in the other two our purchase orders go to the ledger or to your purchasing "
            "officer)."
        )
    for name, values, lookup in (
        ("Company types", sync_types, "company_types"),
        ("Company statuses", sync_statuses, "company_statuses"),
    ):
        offered = {v for v, _ in connection.choices(lookup)}
        unknown = [v for v in values if v not in offered]
        if unknown:
            raise IntegrationRuleError(f"{name}: {', '.join(unknown)} is not one of ConnectWise's.")
        if not values:
            raise IntegrationRuleError(f"{name}: choose at least one to sync.")
    uses_opportunities = configuration != OUR_INVOICING or opportunities
    needed = set(ALWAYS_NEEDED)
    if uses_opportunities:
        needed.update(OPPORTUNITY_NEEDED)
    if configuration != OUR_INVOICING:
        needed.update(PRODUCT_NEEDED)
    if procurement:
        needed.update(("warehouse", "po_status"))
    stored = {}
    for key, (lookup, label) in CHOICES.items():
        value = (choices.get(key) or "").strip()
        offered = {v for v, _ in connection.choices(lookup)}
        if value and value not in offered:
            raise IntegrationRuleError(f"{label}: {value!r} is not one of ConnectWise's values.")
        if not value and key in needed:
            raise IntegrationRuleError(f"{label}: choose one (this configuration needs it).")
        stored[key] = value
    won = _flag(connection, "opportunity_statuses", stored.get("won_status"), "wonFlag")
    if stored.get("won_status") and won is False:
        raise IntegrationRuleError(
            "Status when the quote is accepted (won): that status is not a won status in "
            "ConnectWise."
        )
    board = stored.get("board")
    status = stored.get("ticket_status")
    if board and status:
        rows = [r for r in connection.picklists.get("ticket_statuses", []) if r["value"] == status]
        if rows and rows[0].get("board") != board:
            raise IntegrationRuleError(
                "Status of a new ticket: choose a status of the chosen service board."
            )
    if configuration == CW_BOTH:
        _suggestions_to_the_purchasing_officer(actor)
    connection.options = {
        **(connection.options or {}),
        **stored,
        "configuration": configuration,
        "invoice_from": invoice_from,
        "procurement": bool(procurement),
        "opportunities": bool(uses_opportunities),
        "sync_types": list(sync_types),
        "sync_statuses": list(sync_statuses),
        "enabled": True,
    }
    db.session.flush()


def _suggestions_to_the_purchasing_officer(actor) -> None:
    """Configuration 3: POs wait as drafts for the purchasing officer, never go to suppliers."""
    from webapp.settings.operations import get_setting, set_setting

    if not get_setting("purchasing_officer_email"):
        raise IntegrationRuleError(
            "Purchasing officer email: set it in Settings › Purchasing first — in this "
            "configuration our purchase orders are suggestions sent to the purchasing officer."
        )
    if get_setting("purchasing_issue_mode") != "suggestions":
        set_setting("purchasing_issue_mode", "suggestions", actor)


def _flag(connection: PsaConnection, lookup: str, value: str | None, flag: str):
    for row in connection.picklists.get(lookup, []):
        if row["value"] == value:
            return row.get(flag)
    return None
