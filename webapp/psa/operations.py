"""PSA rules: connect an Autotask database, check it, read its picklists (flush, never commit)."""

from __future__ import annotations

import json

from flask import current_app

from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import IntegrationError
from webapp.integrations.models import ConnectionStatus, SyncDirection
from webapp.integrations.operations import IntegrationRuleError
from webapp.integrations.secrets import decrypt, encrypt
from webapp.jobs import enqueue_after_commit
from webapp.models_base import utcnow
from webapp.psa import checks
from webapp.psa.autotask import budget as budget_module
from webapp.psa.autotask.budget import AutotaskLimiter
from webapp.psa.autotask.client import AutotaskClient, Credentials, Zone
from webapp.psa.autotask.provider import AutotaskProvider
from webapp.psa.checks import CheckItem
from webapp.psa.models import PsaConnection

AUTOTASK = "autotask"


def _http(connection: PsaConnection | None) -> IntegrationHttp:
    config = current_app.config
    gate = None
    if connection is not None and connection.id is not None:
        gate = limiter(connection)
    return IntegrationHttp(
        None,
        gate=gate,
        timeout=float(config.get("ACCOUNTING_HTTP_TIMEOUT", 30)),
        allow_http=bool(config.get("INTEGRATIONS_ALLOW_HTTP")),
        vendor="Autotask",
    )


def limiter(connection: PsaConnection) -> AutotaskLimiter:
    """The connection's share of Autotask's budget (Redis: every process sees the same)."""
    from webapp.jobs import redis_conn

    return AutotaskLimiter(
        redis_conn(),
        str(connection.id),
        AutotaskProvider.rate_limit,
        max_wait=float(current_app.config.get("ACCOUNTING_LIMITER_MAX_WAIT", 120)),
    )


def budget(connection: PsaConnection) -> dict:
    """What the PSA page shows: our calls left this hour and this minute, as the core's limiter
    counts them for web and workers alike (``ConnectionLimiter.budget``: it reads, never
    takes; the minute is the slowed one past ``SLOW_FROM``), and the database-wide reading.
    Redis unreachable: ``{"unavailable": True}`` (the page says so, it does not fail)."""
    from redis.exceptions import RedisError

    gate = limiter(connection)
    try:
        left = gate.budget()
        used, shared, blocked = gate.used_this_hour(), gate.shared(), gate.shared_blocked()
    except RedisError:
        current_app.logger.warning("Autotask budget: Redis unavailable", exc_info=True)
        return {"unavailable": True}
    return {
        "ours_left": left.get("hour", 0),
        "minute_left": left.get("minute", 0),
        "slowed": used >= budget_module.SLOW_FROM,
        "ours": budget_module.OURS,
        "slow_from": budget_module.SLOW_FROM,
        "shared": shared,
        "blocked": blocked,
    }


def check_shared_budget(connection: PsaConnection, client: AutotaskClient) -> str:
    """Read ThresholdInformation when the last reading is old; the reason to wait, or ''."""
    gate = limiter(connection)
    if gate.shared_due():
        found = client.threshold()
        gate.remember_shared(
            found.get("currentTimeframeRequestCount") or 0,
            found.get("externalRequestThreshold") or budget_module.HOURLY,
        )
    return gate.shared_blocked()


def credentials(connection: PsaConnection) -> Credentials:
    stored = json.loads(decrypt(connection.token_ciphertext))
    return Credentials(connection.username, stored["secret"], stored["integration_code"])


def client_for(connection: PsaConnection) -> AutotaskClient:
    """The client of a stored connection; a zone found again is saved on the connection."""

    def remember(zone: Zone) -> None:
        connection.api_base = zone.api_base
        connection.zone_name = zone.name[:100]
        connection.zone_resolved_at = utcnow()

    config = current_app.config
    zone = Zone(connection.api_base, connection.zone_name) if connection.api_base else None
    return AutotaskClient(
        credentials(connection),
        _http(connection),
        zone_url=config["AUTOTASK_ZONE_URL"],
        fixed_base=config.get("AUTOTASK_API_BASE") or "",
        zone=zone,
        on_zone=remember,
    )


def connect_autotask(username: str, secret: str, integration_code: str, actor) -> PsaConnection:
    """Check the credentials against Autotask and store them (encrypted) for the database.

    Nothing is stored when Autotask does not accept them; the refusal says what to fix.
    """
    username, integration_code = username.strip(), integration_code.strip()
    if not (username and secret and integration_code):
        raise IntegrationRuleError("Enter the API user name, its secret and the integration code.")
    config = current_app.config
    probe = AutotaskClient(
        Credentials(username, secret, integration_code),
        _http(None),
        zone_url=config["AUTOTASK_ZONE_URL"],
        fixed_base=config.get("AUTOTASK_API_BASE") or "",
    )
    provider = AutotaskProvider(probe)
    results = provider.check()
    signed_in = any(item.name == "Sign-in" and item.ok for item in results)
    if not signed_in:
        raise IntegrationRuleError(" ".join(item.message for item in results if not item.ok))
    connection = db.session.scalar(
        db.select(PsaConnection).filter_by(provider=AUTOTASK, tenant_id=username.lower())
    )
    if connection is None:
        connection = PsaConnection(provider=AUTOTASK, tenant_id=username.lower())
        db.session.add(connection)
    connection.username = username
    connection.tenant_name = probe.zone.name if probe.zone else ""
    connection.token_ciphertext = encrypt(
        json.dumps({"secret": secret, "integration_code": integration_code}).encode()
    )
    connection.api_base = probe.zone.api_base
    connection.zone_name = (probe.zone.name or "")[:100]
    connection.zone_resolved_at = utcnow()
    core.mark_connected(connection, actor)
    checks.store_check(connection, results)
    request_picklists(connection)
    enqueue_after_commit("workers.psa.keep_webhook", connection.id)  # tickets back to us
    return connection


def run_check(connection: PsaConnection) -> list[CheckItem]:
    """Run the connection check again (the admin's *Check again*) and store the answer."""
    return checks.record_check(connection, AutotaskProvider(client_for(connection)).check())


def request_picklists(connection: PsaConnection) -> None:
    """Queue a read of the picklists (after commit; the page polls until it ends)."""
    connection.picklists_requested_at = utcnow()
    db.session.flush()
    enqueue_after_commit("workers.psa.refresh_picklists", connection.id)


def refresh_picklists(connection: PsaConnection) -> bool:
    """Read and store every picklist the settings offer; a fault keeps the last copy."""
    try:
        found, problems = AutotaskProvider(client_for(connection)).picklists()
    except IntegrationError as exc:
        connection.picklists_error = f"Autotask picklists unavailable: {exc.message}"
        connection.picklists_read_at = utcnow()
        core.log_sync(connection, SyncDirection.PULL, "picklists", ok=False, message=exc.message)
        return False
    connection.picklists = found
    connection.picklists_read_at = utcnow()
    connection.picklists_error = "; ".join(p.message for p in problems)
    core.log_sync(
        connection, SyncDirection.PULL, "picklists", message=f"Read {len(found)} picklists."
    )
    return True


def disconnect(connection: PsaConnection, actor) -> None:
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise IntegrationRuleError(f"{connection.label} is already disconnected.")
    core.disconnect(connection, actor)


# What the Opportunities settings hold: option key -> (picklist, label). Seed 002's fields.
OPPORTUNITY_CHOICES: dict[str, tuple[str, str]] = {
    "opportunity_category": ("Opportunities.opportunityCategoryID", "Category"),
    "default_owner": (
        "Resources",
        "Default owner (when the quote's owner is not an Autotask resource)",
    ),
    "created_stage": ("Opportunities.stage", "Stage when a quote is created"),
    "created_status": ("Opportunities.status", "Status when a quote is created"),
    "won_stage": ("Opportunities.stage", "Stage when a quote is won"),
    "won_status": ("Opportunities.status", "Status when a quote is won"),
    "lost_stage": ("Opportunities.stage", "Stage when a quote is lost"),
    "lost_status": ("Opportunities.status", "Status when a quote is lost"),
}
REQUIRED_WHEN_ENABLED = ("default_owner", "created_stage", "created_status", "won_stage",
                         "won_status", "lost_stage", "lost_status")  # fmt: skip


def save_opportunity_options(
    connection: PsaConnection,
    *,
    enabled: bool,
    probability: int,
    choices: dict[str, str],
    unquoted_sales_won: bool = False,
) -> list[str]:
    """Check every choice against the picklists read from Autotask and store them.

    Returns warnings to show (a probability of 0 %); raises IntegrationRuleError naming the
    field when a choice is not one Autotask offers or a required one is missing.
    """
    if not 0 <= probability <= 100:
        raise IntegrationRuleError("Probability: enter a whole percentage from 0 to 100.")
    stored = {}
    for key, (picklist, label) in OPPORTUNITY_CHOICES.items():
        value = (choices.get(key) or "").strip()
        offered = {v for v, _ in connection.choices(picklist)}
        if value and value not in offered:
            raise IntegrationRuleError(f"{label}: {value!r} is not one of Autotask's values.")
        if enabled and not value and key in REQUIRED_WHEN_ENABLED:
            raise IntegrationRuleError(f"{label}: choose one to switch the sync on.")
        stored[key] = value
    connection.options = {
        **(connection.options or {}),
        **stored,
        "opportunities_enabled": enabled,
        "probability": probability,
        "unquoted_sales_won": unquoted_sales_won,
    }
    db.session.flush()
    if probability == 0:
        return ["A probability of 0 % makes every new opportunity look lost in forecasts."]
    return []


# Quote items and tickets (seed 002 "when an item is quoted or sold", seed 001's ticket sync):
# option key -> (picklist, label).
ITEM_CHOICES: dict[str, tuple[str, str]] = {
    "product_material_code": ("BillingCodes.material", "Product material code"),
    "recurring_billing_code": ("BillingCodes.recurring", "Recurring service billing code"),
    "service_material_code": ("BillingCodes.material", "Non-recurring service material code"),
    "surcharge_material_code": ("BillingCodes.material", "Payment surcharge material code"),
    "shipping_type": ("ShippingTypes", "Shipping type"),
    "ticket_queue": ("Tickets.queueID", "Ticket queue"),
    "ticket_status": ("Tickets.status", "Ticket status for a new ticket"),
    "ticket_priority": ("Tickets.priority", "Ticket priority"),
    "charge_type": ("TicketCharges.chargeType", "Ticket charge type"),
}
DEFAULT_TITLE = "Sales order {number} for {organization}"
TITLE_FIELDS = ("number", "organization", "po", "total")


def save_item_options(
    connection: PsaConnection,
    *,
    choices: dict[str, str],
    title: str,
    tickets: bool = False,
    categories: dict[str, str] | None = None,
) -> None:
    """Check the item and ticket choices against Autotask's lists and store them.

    ``categories`` maps our category ids to Autotask product categories (seed 002: "map your
    product categories"); a product created in Autotask takes its category's, else the
    nearest mapped parent's (``category_map``). None keeps the stored map.

    The title template may use {number}, {organization}, {po} and {total}; anything else is
    refused with the names it may use.
    """
    stored = {}
    for key, (picklist, label) in ITEM_CHOICES.items():
        value = (choices.get(key) or "").strip()
        if value and value not in {v for v, _ in connection.choices(picklist)}:
            raise IntegrationRuleError(f"{label}: {value!r} is not one of Autotask's values.")
        stored[key] = value
    title = " ".join((title or "").split()) or DEFAULT_TITLE
    if len(title) > 200:
        raise IntegrationRuleError("Ticket title: at most 200 characters.")
    try:
        ticket_title(title, number="SO-1", organization="x", po="", total="0")
    except (KeyError, IndexError, ValueError) as exc:
        names = ", ".join("{" + f + "}" for f in TITLE_FIELDS)
        raise IntegrationRuleError(
            f"Ticket title: {exc} cannot be filled in; use {names}."
        ) from None
    if tickets:
        for key in ("ticket_queue", "ticket_status", "ticket_priority", "charge_type"):
            if not stored[key]:
                label = ITEM_CHOICES[key][1]
                raise IntegrationRuleError(f"{label}: choose one to switch tickets on.")
    if categories is not None:
        stored["category_map"] = _category_map(connection, categories)
    connection.options = {
        **(connection.options or {}),
        **stored,
        "ticket_title": title,
        "tickets_enabled": tickets,
    }
    db.session.flush()


def _category_map(connection: PsaConnection, categories: dict[str, str]) -> dict[str, str]:
    from webapp.catalog.models import Category

    allowed = {v: label for v, label in connection.choices("Products.productCategory")}
    mapped = {}
    for key, value in categories.items():
        value = (value or "").strip()
        if not value:
            continue
        category = db.session.get(Category, int(key)) if str(key).isdigit() else None
        if category is None:
            raise IntegrationRuleError(f"Category mapping: we have no category {key!r}.")
        if value not in allowed:
            raise IntegrationRuleError(
                f"Category mapping for {category.name}: {value!r} is not one of Autotask's "
                "product categories."
            )
        mapped[str(category.id)] = value
    return mapped


def ticket_title(template: str, **values: str) -> str:
    """Fill the ticket title template (only the named fields; at most 255 characters)."""
    import string

    for _text, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (name not in TITLE_FIELDS or spec or conversion):
            raise KeyError(name or "{}")
    return template.format(**values)[:255]
