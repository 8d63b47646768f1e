"""Serve a Xero Accounting API stand-in: OAuth 2, /connections, accounting, limits, faults."""

# Facts come from shared/specs/API-NOTES.md section 2 ("API-NOTES 2.x" below) and the OpenAPI
# documents in shared/specs/xero/. Behaviour marked "(recalled)" is Xero behaviour that
# API-NOTES does not document; it is modelled from memory of Xero's docs and may differ.
# Documents are saved in xero_documents.py, money in xero_money.py, reads in xero_reads.py,
# the HTTP layer in xero_app.py.

from __future__ import annotations

import copy
import threading
import uuid
from typing import Any

from flask import Flask

from .common import (
    Clock,
    FaultPlan,
    IdempotencyStore,
    OAuthClient,
    OAuthServer,
    RateLimiter,
    Window,
)
from .specs import XeroSpec, xero_spec
from .xero_app import build_app
from .xero_base import (
    API_PREFIX,
    COLLECTIONS,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT,
    Collection,
    Connection,
    RecordedRequest,
    Tenant,
    XeroApiError,
    msdate,
    render,
    seed_accounts,
    seed_tax_rates,
    validation_error,
)
from .xero_documents import XeroDocuments
from .xero_money import XeroMoney
from .xero_reads import XeroReads


class XeroSandbox(XeroDocuments, XeroMoney, XeroReads):
    """State and knobs of one Xero sandbox; ``.app`` is the Flask app."""

    def __init__(
        self,
        *,
        tenants: list[dict[str, str]] | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uris: tuple[str, ...] | None = None,
        access_token_lifetime: float = 1800,
        refresh_token_lifetime: float = 60 * 86400,
        refresh_grace: float = 1800,
        code_lifetime: float = 300,
        minute_limit: int = 60,
        day_limit: int = 5000,
        concurrent_limit: int = 5,
        app_minute_limit: int = 10_000,
        enforce_scopes: bool = True,
        base_currency: str = "USD",
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or Clock()
        self.spec: XeroSpec = xero_spec()
        # API-NOTES 2.2: access token 30 min; refresh token 60 days unused, rotated on every
        # use, the superseded one retryable for a 30-minute grace period.
        self.oauth = OAuthServer(
            self.clock,
            [OAuthClient(client_id, client_secret, redirect_uris)],
            access_token_lifetime=access_token_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
            code_lifetime=code_lifetime,
            refresh_grace=refresh_grace,
            token_type="Bearer",
            allow_body_client_auth=True,  # PKCE public clients post client_id (API-NOTES 2.2)
            require_offline_access=True,  # refresh tokens only with offline_access
            extra_token_fields=lambda grant, _rt: {"scope": grant.scope},
        )
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_currency = base_currency
        self.tenants: dict[str, Tenant] = {}
        for spec in tenants or [DEFAULT_TENANT]:
            self.add_tenant(
                spec["tenantId"],
                spec.get("tenantName", "Org"),
                spec.get("tenantType", "ORGANISATION"),
            )
        self.connections: dict[str, Connection] = {}
        self.faults = FaultPlan(API_PREFIX)
        self.idempotency = IdempotencyStore()
        self.limiter = RateLimiter(self.clock)
        # API-NOTES 2.5: per tenant 5 concurrent, 60/min, 5000/day; per app 10,000/min.
        self.minute_window = Window("minute", minute_limit, 60)
        self.day_window = Window("day", day_limit, 86400)
        self.app_minute_window = Window("appminute", app_minute_limit, 60)
        self.concurrent_limit = concurrent_limit
        self.enforce_scopes = enforce_scopes
        self.base_currency = base_currency
        # Period lock date (YYYY-MM-DD): documents dated on or before it are refused, as a
        # closed period in Xero refuses them. Set it in a test to model a closed period.
        self.lock_date: str | None = None
        self.requests: list[RecordedRequest] = []
        self.base_url: str | None = None
        self._lock = threading.RLock()
        self.app = build_app(self)

    # -- setup / inspection -------------------------------------------------------------
    def add_tenant(self, tenant_id: str, name: str, tenant_type: str = "ORGANISATION") -> Tenant:
        """Add an organisation (seeded chart of accounts and tax rates)."""
        tenant = Tenant(tenant_id, name, tenant_type)
        tenant.ledger = {c.name: {} for c in COLLECTIONS.values()}
        for account in seed_accounts():
            tenant.ledger["Accounts"][account["AccountID"]] = account
        for rate in seed_tax_rates():
            tenant.ledger["TaxRates"][rate["TaxType"]] = rate
        # GET /Organisation (schema Organisation); tests change PaymentTerms to suit.
        tenant.organisation = {
            "OrganisationID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-org-{tenant_id}")),
            "Name": name,
            "BaseCurrency": self.base_currency,
            "OrganisationType": "COMPANY",
            "PaymentTerms": {
                "Bills": {"Day": 30, "Type": "DAYSAFTERBILLDATE"},
                "Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"},
            },
        }
        self.tenants[tenant_id] = tenant
        return tenant

    @property
    def tenant_id(self) -> str:
        """Return the first tenant's id (the usual single-org case)."""
        return next(iter(self.tenants))

    def records(self, collection: str, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Return rendered copies of every stored record of ``collection`` (e.g. "Invoices")."""
        with self._lock:
            ledger = self.tenants[tenant_id or self.tenant_id].ledger[collection]
            return [render(copy.deepcopy(r)) for r in ledger.values()]

    def issue_tokens(
        self,
        scope: str = "openid profile email offline_access accounting.transactions "
        "accounting.contacts accounting.settings",
        tenant_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """Return a token set whose grant is connected to ``tenant_ids`` (default: all)."""
        auth_event = str(uuid.uuid4())
        tokens = self.oauth.mint(self.client_id, scope, auth_event_id=auth_event)
        access, _ = self.oauth.check_bearer(f"Bearer {tokens['access_token']}")
        assert access is not None
        self._connect(access.grant.grant_id, auth_event, tenant_ids)
        return tokens

    def expire_access_tokens(self) -> None:
        """Expire every issued access token now (the next API call gets 401)."""
        self.oauth.expire_access_tokens()

    def api_url(self) -> str:
        """Return ``<base>/api.xro/2.0`` for the running server."""
        if self.base_url is None:
            raise RuntimeError("sandbox is not being served; use the xero_sandbox fixture")
        return f"{self.base_url}/api.xro/2.0"

    def release(self) -> None:
        """Wake hanging requests and clear faults (teardown)."""
        self.faults.clear()
        self.faults.release()

    def today(self) -> str:
        """Return the sandbox date as YYYY-MM-DD."""
        return self.clock.utcnow().date().isoformat()

    def _connect(self, grant_id: str, auth_event: str, tenant_ids: list[str] | None) -> None:
        with self._lock:
            for tenant_id in tenant_ids or list(self.tenants):
                conn = Connection(
                    str(uuid.uuid4()), tenant_id, auth_event, grant_id, self.clock.now()
                )
                self.connections[conn.id] = conn

    def connected(self, grant_id: str, tenant_id: str) -> bool:
        """Return whether the grant has a live connection to the tenant."""
        with self._lock:
            return any(
                c.grant_id == grant_id and c.tenant_id == tenant_id
                for c in self.connections.values()
            )

    # -- writes -------------------------------------------------------------------------
    def write(
        self,
        tenant: Tenant,
        coll: Collection,
        method: str,
        body: Any,
        item_id: str | None,
        summarize: bool,
        unitdp: int,
    ) -> dict[str, Any]:
        """Validate and save a PUT/POST body; return the response body or raise."""
        spec_path = f"/{coll.name}" + (f"/{{{coll.id_field}}}" if item_id else "")
        try:
            schema_name = self.spec.request_schema_name(spec_path, method)
        except KeyError:
            raise XeroApiError(
                405,
                {"Type": "MethodNotAllowed", "Message": f"{method} {spec_path} is not in the spec"},
            ) from None
        if schema_name not in (coll.item, coll.name):
            # e.g. POST /Payments/{PaymentID} takes PaymentDelete; not modelled here.
            raise XeroApiError(
                405,
                {
                    "Type": "MethodNotAllowed",
                    "Message": f"{method} {spec_path} ({schema_name}) is not "
                    "supported by the sandbox",
                },
            )
        if (
            coll.name == "Payments"
            and schema_name == coll.item
            and isinstance(body, dict)
            and coll.name in body
        ):
            # Quirk: POST /Payments declares a single Payment body, but the spec's own
            # example wraps it in {"Payments": [...]}; accept both.
            schema_name = f"{coll.name}"
        wrapped = schema_name != coll.item
        problems = self.spec.problems(schema_name, body)
        if wrapped:
            items = body.get(coll.name) if isinstance(body, dict) else None
            outer = [
                p
                for p in problems
                if not (len(p.path) >= 2 and p.path[0] == coll.name and isinstance(p.path[1], int))
            ]
            if not outer and not isinstance(items, list):
                outer_msg = f"{coll.name}: a JSON array of {coll.item} objects is required"
                raise validation_error([{"ValidationErrors": [{"Message": outer_msg}]}])
            if outer:
                raise validation_error(
                    [{"ValidationErrors": [{"Message": p.message} for p in outer]}]
                )
        else:
            if not isinstance(body, dict):
                raise validation_error(
                    [{"ValidationErrors": [{"Message": "body must be an object"}]}]
                )
            items = [body]
        assert isinstance(items, list)
        per_item: dict[int, list[str]] = {}
        for p in problems:
            index = p.path[1] if wrapped else 0
            assert isinstance(index, int)
            per_item.setdefault(index, []).append(p.message)
        with self._lock:
            snapshot = copy.deepcopy((tenant.ledger, tenant.counters))
            results: list[tuple[dict[str, Any], list[str], dict[str, Any] | None]] = []
            for i, item in enumerate(items):
                errors = per_item.get(i, [])
                record = None
                if not errors:
                    if item_id:
                        item = {**item, coll.id_field: item_id}
                    errors, record = self._save(tenant, coll, item, method, {"unitdp": unitdp})
                results.append((item, errors, record))
            failed = [(item, errs) for item, errs, _ in results if errs]
            if failed and summarize:
                tenant.ledger, tenant.counters = snapshot
                raise validation_error(
                    [self._error_element(coll, item, errs) for item, errs in failed]
                )
        rendered = [
            self._error_element(coll, item, errs)
            if errs
            else {**render(copy.deepcopy(record)), "StatusAttributeString": "OK"}
            for item, errs, record in results
        ]
        return self.envelope(coll.name, rendered)

    def envelope(self, key: str, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        """Wrap rows in Xero's response envelope."""
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "Xero Sandbox",
            "DateTimeUTC": msdate(self.clock.now()),
            **extra,
            key: rows,
        }

    def _error_element(self, coll: Collection, item: Any, errors: list[str]) -> dict[str, Any]:
        element = dict(item) if isinstance(item, dict) else {}
        props = self.spec.properties(coll.item)
        # The flag's name differs per schema (Invoice.HasErrors, Contact.HasValidationErrors).
        for flag in ("HasErrors", "HasValidationErrors"):
            if flag in props:
                element[flag] = True
                break
        element["StatusAttributeString"] = "ERROR"
        element["ValidationErrors"] = [{"Message": m} for m in errors]
        return element

    def _save(
        self,
        tenant: Tenant,
        coll: Collection,
        item: dict[str, Any],
        method: str,
        opts: dict[str, Any],
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Apply business rules and store one object; return (errors, record)."""
        ledger = tenant.ledger[coll.name]
        # Read-only members are ignored, as Xero does (the spec's own PUT /Contacts example
        # sends UpdatedDateUTC).
        data = {k: v for k, v in item.items() if k not in self.spec.read_only(coll.item)}
        existing = None
        given_id = data.get(coll.id_field)
        if given_id:
            existing = ledger.get(given_id)
            if existing is None and method == "POST":
                return [f"{coll.item} with {coll.id_field} {given_id} could not be found"], None
            if existing is not None and method == "PUT":
                # API-NOTES 2.3: PUT = create only; POST = update-or-create.
                return [f"{coll.item} {given_id} already exists; use POST to update it"], None
            # A PUT carrying an unknown id creates a new object (the spec's own PUT /Contacts
            # example sends a ContactID); the id is assigned by the sandbox.
        record_id = existing[coll.id_field] if existing else str(uuid.uuid4())
        handler = getattr(self, f"_save_{coll.name.lower()}")
        errors, record = handler(tenant, data, existing, {**opts, "id": record_id})
        if errors:
            return errors, None
        assert record is not None
        record[coll.id_field] = record_id
        record["UpdatedDateUTC"] = self.clock.now()
        ledger[record[coll.id_field]] = record
        return [], record

    def _find(self, tenant: Tenant, coll: str, key: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        for record in tenant.ledger[coll].values():
            if str(record.get(key, "")).casefold() == str(value).casefold():
                return record
        return None

    def _account(self, tenant: Tenant, code: str | None) -> dict[str, Any] | None:
        found = self._find(tenant, "Accounts", "Code", code)
        return found if found and found.get("Status") == "ACTIVE" else None

    def _save_contacts(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, _opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        record = {**(existing or {}), **data}
        name = record.get("Name")
        if not name:
            return ["Name is required for a contact (API-NOTES 2.3)"], None
        clash = self._find(tenant, "Contacts", "Name", name)
        if clash and clash is not existing and clash.get("ContactStatus") == "ACTIVE":
            # Contact names are unique across active contacts (recalled wording).
            return [
                f"The contact name {name} is already assigned to another contact. The "
                "contact name must be unique across all active contacts."
            ], None
        record.setdefault("ContactStatus", "ACTIVE")
        record.setdefault("Addresses", [])
        record.setdefault("Phones", [])
        record.setdefault("ContactPersons", [])
        record.setdefault("HasAttachments", False)
        record.setdefault("HasValidationErrors", False)
        # API-NOTES 2.3: IsSupplier / IsCustomer are derived from transactions, not settable.
        record["IsSupplier"] = bool(existing and existing.get("IsSupplier"))
        record["IsCustomer"] = bool(existing and existing.get("IsCustomer"))
        return [], record

    def _save_items(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, _opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        if existing is None and data.get("Code"):
            existing_by_code = self._find(tenant, "Items", "Code", data["Code"])
            if existing_by_code is not None:
                return [f"Item code '{data['Code']}' already exists (recalled wording)"], None
        record = {**(existing or {}), **data}
        errors = []
        for side in ("PurchaseDetails", "SalesDetails"):
            details = record.get(side) or {}
            for key in ("AccountCode", "COGSAccountCode"):
                if details.get(key) and not self._account(tenant, details[key]):
                    errors.append(f"{side}.{key} '{details[key]}' is not a valid account code")
            if details.get("TaxType") and details["TaxType"] not in tenant.ledger["TaxRates"]:
                errors.append(f"{side}.TaxType '{details['TaxType']}' does not exist")
        if record.get("IsTrackedAsInventory"):
            # API-NOTES 2.3: tracked items need InventoryAssetAccountCode + COGSAccountCode.
            if not record.get("InventoryAssetAccountCode"):
                errors.append("InventoryAssetAccountCode is required for tracked inventory")
            if not (record.get("PurchaseDetails") or {}).get("COGSAccountCode"):
                errors.append("PurchaseDetails.COGSAccountCode is required for tracked inventory")
        if errors:
            return errors, None
        record["IsSold"] = bool(record.get("SalesDetails"))
        record["IsPurchased"] = bool(record.get("PurchaseDetails"))
        record.setdefault("IsTrackedAsInventory", False)
        return [], record

    def _save_accounts(
        self, tenant: Tenant, data: dict[str, Any], existing: Any, _opts: dict[str, Any]
    ) -> tuple[list[str], dict[str, Any] | None]:
        record = {**(existing or {}), **data}
        errors = [f"{k} is required" for k in ("Code", "Name", "Type") if not record.get(k)]
        if len(str(record.get("Code", ""))) > 10:
            errors.append("Code must be at most 10 characters (API-NOTES 2.3)")
        for key, message in (
            ("Code", "Please enter a unique Code."),
            ("Name", "Please enter a unique Name."),
        ):
            clash = self._find(tenant, "Accounts", key, record.get(key))
            if clash is not None and clash is not existing:
                # "Please enter a unique Name." is the spec's PUT /Accounts 400 example.
                errors.append(message)
        if errors:
            return errors, None
        record.setdefault("Status", "ACTIVE")
        record.setdefault("EnablePaymentsToAccount", False)
        return [], record


def create_xero_sandbox(**options: Any) -> Flask:
    """Build the Xero sandbox Flask app; its state is ``app.sandbox``."""
    return XeroSandbox(**options).app
