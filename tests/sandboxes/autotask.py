"""Serve an Autotask PSA REST API stand-in: zones, swagger-checked entities, limits, webhooks.

Facts come from shared/specs/API-NOTES.md section 3 and PSA-NOTES.md section 1 ("PN 1.x" below)
and the swagger in shared/specs/autotask/. The swagger (a 2020 capture) declares field names and
types but no required lists or picklists; those come from PN and the entities' live
``entityInformation/fields`` behaviour, as a real tenant would report them.

What the sandbox reproduces, because an integration must survive it:
- routes exist only where the swagger has them (``PATCH /Entity/{id}`` is 405, ``PATCH /QuoteItems``
  is 404: children are written through the parent; PN 1.5);
- unknown write fields are ignored silently and recorded in ``ignored_fields`` (PN 1.6);
- a missing required field, a bad picklist value, an overlong string, a wrong type: HTTP 500 with
  ``{"errors": [...]}``, one problem per response (PN 1.1, 1.7);
- queries: unknown operators dropped (the result widens), unknown fields 500, ``eq null`` matches
  nothing, ``MaxRecords`` outside 1-500 is a 500, ``nextPageUrl`` answers 405 to GET and pages
  when POSTed with the same body (PN 1.5, 1.6);
- Service quote items take the Service's period whatever was sent; Product items refuse
  Semi-Annual; at most two identical Service items per quote; an omitted ``isTaxable`` takes
  the tenant default (PN 1.1);
- QuoteLocations and CompanyLocations have separate, overlapping id sequences (PN 1.2);
- exactly one primary quote per opportunity, and an opportunity that uses quote totals shows
  its primary quote's amount and cost (PN 1.2, spec);
- Opportunities need the CRM module (PN 1.2); ticket charges change only while unbilled
  (API-NOTES 3.3);
- 10,000 requests per rolling hour per database (429 + Retry-After), three concurrent requests per
  (integration code, entity) answered with ``Itgenatr005`` and a configurable non-429 status
  (PN 1.9);
- a 401 from a zone that moved (PN 1.7); HTTPS-only is the client's job and is not modelled;
- signed ticket webhooks with the .NET escaping of the body (PN 1.10).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, g, request

from .common import Clock, FaultPlan, RateLimiter, Window, install_fault_hooks
from .specs import require_specs

API_USER = "api-user@sandbox.example"
API_SECRET = "sandbox-secret-0123456789"
INTEGRATION_CODE = "SANDBOX-TRACKING-ID"
API_RESOURCE_ID = 29682885  # the API user's own resource: echo suppression uses it (PN 1.10)
GLOBAL_PREFIX = "/atservicesrest"
VALID_OPS = {
    "eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains",
    "exist", "notExist", "in", "notIn", "and", "or",
}  # fmt: skip
MAX_OR_CONDITIONS = 500

# Required on create, beyond what the swagger says (PN 1.1, 1.3 SOAP-era sets, API-NOTES 3.3).
REQUIRED: dict[str, tuple[str, ...]] = {
    "Companies": ("CompanyName", "CompanyType", "Phone", "OwnerResourceID"),
    "Contacts": ("CompanyID", "FirstName", "LastName", "IsActive"),
    "CompanyLocations": ("CompanyID", "Name"),
    "Opportunities": (
        "CompanyID",
        "Title",
        "Amount",
        "Cost",
        "OwnerResourceID",
        "ProjectedCloseDate",
        "Probability",
        "Stage",
        "Status",
        "CreateDate",
    ),  # fmt: skip
    "Quotes": (
        "OpportunityID",
        "Name",
        "EffectiveDate",
        "ExpirationDate",
        "BillToLocationID",
        "ShipToLocationID",
        "SoldToLocationID",
    ),  # fmt: skip
    "QuoteItems": (
        "QuoteID",
        "QuoteItemType",
        "Quantity",
        "IsOptional",
        "UnitDiscount",
        "LineDiscount",
        "PercentageDiscount",
    ),  # fmt: skip
    "QuoteLocations": (),
    "Products": ("Name", "IsActive", "ProductBillingCodeID", "PeriodType", "PriceCostMethod"),
    "Services": ("Name", "BillingCodeID", "PeriodType", "UnitPrice", "IsActive"),
    "Tickets": ("CompanyID", "Title", "Status", "Priority", "QueueID"),
    "TicketCharges": (
        "TicketID",
        "Name",
        "ChargeType",
        "UnitQuantity",
        "DatePurchased",
        "IsBillableToCompany",
        "Status",
    ),  # fmt: skip
    "TicketWebhooks": ("Name", "WebhookUrl", "DeactivationUrl", "SecretKey", "IsActive"),
    "TicketWebhookFields": ("WebhookID", "FieldID", "IsSubscribedField", "IsDisplayAlwaysField"),
}

# A tenant's picklists (values vary per instance: read them through entityInformation/fields).
PICKLISTS: dict[str, dict[str, list[tuple[int, str]]]] = {
    "Companies": {"CompanyType": [(1, "Customer"), (2, "Lead"), (3, "Prospect"), (6, "Vendor")]},
    "Opportunities": {
        "Stage": [(1, "Identify"), (2, "Qualify"), (3, "Propose"), (4, "Negotiate"), (5, "Close")],
        "Status": [(0, "Inactive"), (1, "Active"), (2, "Lost"), (3, "Closed"), (4, "Implemented")],
        "OpportunityCategoryID": [(1, "Standard"), (2, "Hardware"), (3, "Managed services")],
    },
    "Quotes": {"ShippingType": [(1, "Ground"), (2, "Express"), (3, "Overnight")]},
    "QuoteItems": {
        "QuoteItemType": [
            (1, "Product"),
            (2, "Cost"),
            (3, "Labor"),
            (4, "Expense"),
            (6, "Shipping"),
            (11, "Service"),
            (12, "ServiceBundle"),
        ],  # fmt: skip
        "PeriodType": [
            (1, "One-Time"),
            (2, "Monthly"),
            (3, "Quarterly"),
            (4, "Semi-Annual"),
            (5, "Yearly"),
        ],  # fmt: skip
    },
    "Products": {
        "PeriodType": [(1, "One-Time"), (2, "Monthly"), (3, "Quarterly"), (5, "Yearly")],
        "PriceCostMethod": [(1, "Flat"), (2, "Markup from cost")],
        "ProductCategory": [(1, "Hardware"), (2, "Software"), (3, "Networking"), (4, "Services")],
    },
    "Services": {
        "PeriodType": [
            (1, "One-Time"),
            (2, "Monthly"),
            (3, "Quarterly"),
            (4, "Semi-Annual"),
            (5, "Yearly"),
        ],  # fmt: skip
    },
    "Tickets": {
        "Status": [(1, "New"), (5, "Complete"), (8, "In Progress"), (10, "Waiting Customer")],
        "Priority": [(1, "High"), (2, "Medium"), (3, "Low"), (4, "Critical")],
        "QueueID": [(5, "Client Portal"), (8, "Sales Orders"), (29683, "Procurement")],
        "TicketCategory": [(2, "Standard"), (3, "Sales order")],
    },
    "TicketCharges": {
        "ChargeType": [(1, "Operational"), (2, "Capitalized")],
        "Status": [(1, "Pending"), (2, "Picked"), (3, "Shipped"), (4, "Delivered")],
    },
}

# Lengths reported by entityInformation/fields (PN 1.6); strings not listed: 8000.
LENGTHS: dict[str, dict[str, int]] = {
    "Companies": {"CompanyName": 100, "Phone": 25},
    "Contacts": {"FirstName": 50, "LastName": 50, "EmailAddress": 254},
    "Opportunities": {"Title": 128},
    "Quotes": {"Name": 100, "PurchaseOrderNumber": 50, "ExternalQuoteNumber": 100},
    "QuoteItems": {"Name": 100, "Description": 2000},
    "QuoteLocations": {"Address1": 128, "Address2": 128, "City": 50, "PostalCode": 20},
    "Products": {"Name": 100, "SKU": 50, "ExternalProductID": 50, "ManufacturerProductName": 50},
    "Services": {"Name": 150},
    "Tickets": {"Title": 255, "PurchaseOrderNumber": 50},
    "TicketCharges": {"Name": 100, "PurchaseOrderNumber": 50, "InternalPurchaseOrderNumber": 50},
}

# Which entities a query may filter on which reference, and what each item type needs (PN 1.1).
ITEM_ID_FIELD = {
    1: ("ProductID", "Products"),
    2: ("ChargeID", "BillingCodes"),
    3: ("LaborID", "Roles"),
    4: ("ExpenseID", "BillingCodes"),
    6: ("ShippingID", "ShippingTypes"),
    11: ("ServiceID", "Services"),
    12: ("ServiceBundleID", "ServiceBundles"),
}
ITEM_ID_FIELDS = {f for f, _ in ITEM_ID_FIELD.values()}
READ_ONLY = {"Id", "CreateDate", "CreatorResourceID", "LastActivityDate", "LastModifiedDate"}
WEBHOOK_MODELS = {
    # Ticket webhooks postdate the 2020 swagger; Autotask documents them with the same fields as
    # the company webhook entities (API-NOTES 3.5).
    "TicketWebhookModel": "CompanyWebhookModel",
    "TicketWebhookFieldModel": "CompanyWebhookFieldModel",
}


class AutotaskError(Exception):
    """An error answer: ``{"errors": [message]}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# --------------------------------------------------------------------------------------------
# The swagger: routes and models
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One swagger path: its regex, and the model each method takes."""

    template: str
    pattern: re.Pattern[str]
    methods: dict[str, str | None]  # method -> body model name (None: no body)


@dataclass
class Spec:
    """Routes and model properties of the swagger, keyed case-insensitively."""

    routes: list[Route]
    models: dict[str, dict[str, dict[str, Any]]]  # model -> property -> schema

    def route(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """Return the route matching ``path`` (case-insensitive) and its parameters."""
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match:
                return route, match.groupdict()
        return None

    def props(self, model: str) -> dict[str, dict[str, Any]]:
        """Return a model's properties (property name -> schema)."""
        return self.models[model]


@cache
def autotask_spec() -> Spec:
    """Load the swagger once: routes in order of specificity, and every model's fields."""
    path: Path = require_specs() / "autotask" / "autotask-rest-v1.swagger.json"
    doc = json.loads(path.read_text())
    models = {
        name: definition.get("properties", {}) for name, definition in doc["definitions"].items()
    }
    for new, like in WEBHOOK_MODELS.items():
        models[new] = copy.deepcopy(models[like])
    paths = dict(doc["paths"])
    for entity in ("TicketWebhooks", "TicketWebhookFields"):
        model = f"{entity[:-1]}Model"
        paths[f"/V1.0/{entity}"] = {m: _body_op(model) for m in ("post", "patch", "put")}
        paths[f"/V1.0/{entity}/{{id}}"] = {"get": {}, "delete": {}}
        paths[f"/V1.0/{entity}/query"] = {"post": {}}
        paths[f"/V1.0/{entity}/entityInformation/fields"] = {"get": {}}
    routes = []
    for template, operations in paths.items():
        regex = re.escape(template)
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        methods: dict[str, str | None] = {}
        for method, op in operations.items():
            model = None
            for param in op.get("parameters", []):
                ref = param.get("schema", {}).get("$ref", "")
                if param.get("in") == "body" and ref.startswith("#/definitions/"):
                    model = ref.rsplit("/", 1)[1]
            methods[method.upper()] = model
        routes.append(Route(template, re.compile(regex, re.IGNORECASE), methods))
    # Literal segments beat parameters: /Quotes/query before /Quotes/{id}.
    routes.sort(key=lambda r: (r.template.count("{"), -len(r.template)))
    return Spec(routes, models)


def _body_op(model: str) -> dict[str, Any]:
    return {"parameters": [{"in": "body", "schema": {"$ref": f"#/definitions/{model}"}}]}


# --------------------------------------------------------------------------------------------
# Webhook bodies as Autotask serialises them (PN 1.10)
# --------------------------------------------------------------------------------------------


def dotnet_json(payload: Any) -> bytes:
    """Serialise like Autotask: ``& < > ' " +``, the backtick and non-ASCII as ``\\uXXXX``."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    out = []
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                out.append(ch)
                continue
            elif ch in "&<>'+`":
                out.append(f"\\u{ord(ch):04x}")
                continue
        elif ch == '"':
            in_string = True
        out.append(ch)
    return "".join(out).encode("ascii")


def sign(secret: str, body: bytes) -> str:
    """Return the ``X-Hook-Signature`` value: ``sha1=`` + base64 HMAC-SHA1 of the body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha1).digest()
    return "sha1=" + base64.b64encode(digest).decode()


# --------------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------------


@dataclass
class Database:
    """One Autotask database (tenant): its records and id sequences."""

    records: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)

    def new_id(self, entity: str) -> int:
        """Return the next id of ``entity``'s own sequence."""
        value = self.next_id.get(entity, 1)
        self.next_id[entity] = value + 1
        return value

    def table(self, entity: str) -> dict[int, dict[str, Any]]:
        """Return ``entity``'s records by id."""
        return self.records.setdefault(entity, {})


@dataclass
class SentWebhook:
    """A webhook call the sandbox made, and the receiver's answer."""

    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None


class AutotaskSandbox:
    """State and knobs of one Autotask sandbox; ``.app`` is the Flask app."""

    def __init__(
        self,
        *,
        username: str = API_USER,
        secret: str = API_SECRET,
        integration_code: str = INTEGRATION_CODE,
        hourly_limit: int = 10_000,
        thread_limit: int = 3,
        thread_limit_status: int = 500,
        modules: tuple[str, ...] = ("CRM",),
        taxable_default: bool = True,
        page_size: int = 500,
        denied: dict[str, tuple[str, ...]] | None = None,
        retired_picklists: tuple[str, ...] = (),
    ) -> None:
        self.username = username
        # The API user's security level: entity -> rights it lacks ("canCreate", ...).
        self.denied = {entity: set(rights) for entity, rights in (denied or {}).items()}
        # Picklists ("Tickets.queueID") whose every value an admin made inactive.
        self.retired_picklists = set(retired_picklists)
        self.secret = secret
        self.integration_code = integration_code
        self.modules = set(modules)
        self.taxable_default = taxable_default
        self.page_size = page_size
        self.thread_limit = thread_limit
        self.thread_limit_status = thread_limit_status
        self.clock = Clock()
        self.hour_window = Window("hour", hourly_limit, 3600)
        self.limiter = RateLimiter(self.clock)
        self.faults = FaultPlan("/V1.0/")
        self.db = Database()
        self.zone = 5
        self.base_url = ""  # set by the fixture once the server runs
        self.requests: list[tuple[str, str, Any]] = []
        self.ignored_fields: list[tuple[str, str]] = []
        self.webhooks_sent: list[SentWebhook] = []
        self.zone_lookups = 0
        self._lock = threading.RLock()
        self._pages: dict[str, tuple[str, list[int], int]] = {}
        self._hold: threading.Event | None = None
        self._seed()
        self.app = self._build_app()

    # -- test knobs ---------------------------------------------------------------------
    @property
    def global_url(self) -> str:
        """Return the global host's REST root (where ``ZoneInformation`` lives)."""
        return f"{self.base_url}{GLOBAL_PREFIX}"

    @property
    def zone_url(self) -> str:
        """Return the current zone's REST root, as ``ZoneInformation`` reports it."""
        return f"{self.base_url}/zone{self.zone}{GLOBAL_PREFIX}"

    def move_zone(self) -> None:
        """Move the database to another zone: the old zone answers 401 from now on (PN 1.7)."""
        self.zone += 1

    def release(self) -> None:
        """Wake hanging requests (called on teardown)."""
        self.faults.clear()
        self.faults.release()
        if self._hold is not None:
            self._hold.set()

    def hold_requests(self) -> threading.Event:
        """Make every entity request wait until the returned event is set (thread-limit tests)."""
        self._hold = threading.Event()
        return self._hold

    def records(self, entity: str) -> list[dict[str, Any]]:
        """Return copies of ``entity``'s records, in id order."""
        with self._lock:
            return [copy.deepcopy(r) for _, r in sorted(self.db.table(entity).items())]

    def record(self, entity: str, record_id: int) -> dict[str, Any]:
        """Return a copy of one record."""
        with self._lock:
            return copy.deepcopy(self.db.table(entity)[record_id])

    def add(self, entity: str, **fields: Any) -> int:
        """Insert a record directly (as the MSP's staff would in the Autotask UI); return its id."""
        with self._lock:
            record_id = self.db.new_id(entity)
            self.db.table(entity)[record_id] = {"Id": record_id, **fields}
            if entity == "Quotes":
                _primary_quote(self, self.db.table(entity)[record_id])
            return record_id

    def change(self, entity: str, record_id: int, person_id: int = 4, **fields: Any) -> None:
        """Change a record as a person in the UI would, and fire the entity's webhooks."""
        with self._lock:
            self.db.table(entity)[record_id].update(fields)
            if entity == "Quotes":
                _primary_quote(self, self.db.table(entity)[record_id])
            if entity == "Tickets":  # the incremental-sync field of tickets (PN 1.6)
                self.db.table(entity)[record_id]["LastActivityDate"] = self._stamp()
        if entity == "Tickets":
            self.fire("Update", record_id, fields, person_id=person_id)

    def read(self, entity: str, record_id: int) -> dict[str, Any]:
        """Return one record as ``GET /{entity}/{id}`` answers it (computed fields included)."""
        with self._lock:
            return self._view(entity, self.db.table(entity)[record_id])

    def _view(self, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        item = _camel(record)
        if entity == "Opportunities" and record.get("UseQuoteTotals"):
            totals = self._primary_totals(record["Id"])
            if totals is not None:
                item["amount"], item["cost"] = totals
        return item

    def _primary_totals(self, opportunity_id: int) -> tuple[float, float] | None:
        """An opportunity that uses quote totals shows its primary quote's (the items that are
        not optional: quantity x (unit price - unit discount) - line discount, less the
        percentage discount) [spec: OpportunityModel.UseQuoteTotals]."""
        primary = [
            q["Id"]
            for q in self.db.table("Quotes").values()
            if q.get("OpportunityID") == opportunity_id and q.get("PrimaryQuote")
        ]
        if not primary:
            return None
        amount = cost = 0.0
        for item in self.db.table("QuoteItems").values():
            if item.get("QuoteID") != primary[0] or item.get("IsOptional"):
                continue
            quantity = float(item.get("Quantity") or 0)
            line = quantity * (
                float(item.get("UnitPrice") or 0) - float(item.get("UnitDiscount") or 0)
            )
            line -= float(item.get("LineDiscount") or 0)
            line *= 1 - float(item.get("PercentageDiscount") or 0) / 100
            amount += line
            cost += quantity * float(item.get("UnitCost") or 0)
        return round(amount, 2), round(cost, 2)

    def _stamp(self) -> str:
        return self.clock.utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def used_this_hour(self) -> int:
        """Return how many requests this hour's window counted."""
        remaining = self.limiter._remaining([(self.hour_window, "db")], self.clock.now())
        return self.hour_window.limit - remaining["hour"]

    # -- webhooks -----------------------------------------------------------------------
    def fire(
        self,
        action: str,
        ticket_id: int,
        fields: dict[str, Any] | None = None,
        person_id: int = 4,
        deliver: Callable[[str, bytes, dict[str, str]], int | None] | None = None,
    ) -> list[SentWebhook]:
        """POST a signed ticket event to every active ticket webhook (PN 1.10)."""
        sent = []
        for hook in self.records("TicketWebhooks"):
            if not hook.get("IsActive"):
                continue
            wanted = {
                "Create": hook.get("IsSubscribedToCreateEvents"),
                "Update": hook.get("IsSubscribedToUpdateEvents"),
                "Delete": hook.get("IsSubscribedToDeleteEvents"),
                "Deactivated": True,
            }
            if not wanted.get(action):
                continue
            with self._lock:
                sequence = self.db.new_id("WebhookSequence")
            payload = {
                "Action": action,
                "Guid": hook["WebhookGUID"],
                "EntityType": "Ticket",
                "Id": ticket_id,
                "Fields": {k[0].lower() + k[1:]: v for k, v in (fields or {}).items()},
                "EventTime": self.clock.utcnow().isoformat().replace("+00:00", "Z"),
                "SequenceNumber": sequence,
                "PersonID": person_id,
            }
            body = dotnet_json(payload)
            headers = {"Content-Type": "application/json", "X-Hook-Signature": ""}
            headers["X-Hook-Signature"] = sign(hook["SecretKey"], body)
            url = hook["DeactivationUrl"] if action == "Deactivated" else hook["WebhookUrl"]
            status = (deliver or self._post)(url, body, headers)
            sent.append(SentWebhook(url, body, headers, status))
        self.webhooks_sent.extend(sent)
        return sent

    @staticmethod
    def _post(url: str, body: bytes, headers: dict[str, str]) -> int | None:
        try:
            return requests.post(url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException:
            return None

    # -- seed data ----------------------------------------------------------------------
    def _seed(self) -> None:
        add = self.add
        add("Resources", FirstName="API", LastName="User", Email=self.username, IsActive=True)
        self.db.next_id["Resources"] = API_RESOURCE_ID
        self.db.table("Resources")[API_RESOURCE_ID] = self.db.table("Resources").pop(1)
        self.db.table("Resources")[API_RESOURCE_ID]["Id"] = API_RESOURCE_ID
        self.db.next_id["Resources"] = API_RESOURCE_ID + 1
        for first, last, email in (
            ("Sam", "Sales", "sam@msp.example"),
            ("Pat", "Purchasing", "pat@msp.example"),
        ):
            add("Resources", FirstName=first, LastName=last, Email=email, IsActive=True)
        add("Roles", Name="Engineer", IsActive=True)
        # Each billing code carries the tax category its items take (seed 001, scenarios).
        for name, kind, tax in (
            ("Hardware sales", 2, 1),  # material code (UseType 2 = material)
            ("Software sales", 2, 1),
            ("Shipping & handling", 2, 2),
            ("Card surcharge", 2, 2),
            ("Managed services (recurring)", 3, 2),  # recurring service code
            ("Onsite labour", 2, 2),
        ):
            add("BillingCodes", Name=name, UseType=kind, IsActive=True, TaxCategoryID=tax)
        for name in ("Ground", "Express"):
            add("ShippingTypes", Name=name, IsActive=True, BillingCodeID=3)
        for name in ("Taxable goods", "Non-taxable"):
            add("TaxCategories", Name=name, IsActive=True)
        add("TaxRegions", Name="Default", IsActive=True)
        # An existing customer with a location; the first QuoteLocation id (1) collides with
        # CompanyLocation 1 on purpose (PN 1.2).
        company = add(
            "Companies",
            CompanyName="Northwind Traders",
            CompanyType=1,
            Phone="555-0100",
            OwnerResourceID=API_RESOURCE_ID + 1,
            TaxRegionID=1,
            IsActive=True,
        )
        add(
            "CompanyLocations",
            CompanyID=company,
            Name="Head office",
            Address1="1 Harbour Road",
            City="Seattle",
            PostalCode="98101",
            IsPrimary=True,
        )
        add("Contacts", CompanyID=company, FirstName="Ann", LastName="Approver", IsActive=1)

    # -- request handling ---------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask(f"autotask-sandbox-{id(self)}")
        sb = self
        spec = autotask_spec()

        @app.errorhandler(AutotaskError)
        def on_error(exc: AutotaskError) -> Response:
            return _json({"errors": [exc.message]}, exc.status, exc.headers)

        @app.errorhandler(404)
        def not_found(_exc: Exception) -> Response:
            # An unregistered route answers an HTML 404, as IIS does (PN 1.5).
            return Response("<html><body>404 - File or directory not found.</body></html>", 404)

        @app.errorhandler(405)
        def not_allowed(_exc: Exception) -> Response:
            return _json({"Message": "The requested resource does not support this method."}, 405)

        @app.before_request
        def gate() -> Response | None:
            g.fault = None
            g.slot = None
            return None

        install_fault_hooks(app, sb)

        @app.get(f"{GLOBAL_PREFIX}/<version>/ZoneInformation")
        def zone_information(version: str) -> Response:
            if version.lower() != "v1.0":
                raise AutotaskError(404, "Unknown version")
            sb.zone_lookups += 1
            if request.args.get("user", "").lower() != sb.username.lower():
                # A blank or wrong user name: a 500 with no useful text (PN 1.7).
                raise AutotaskError(500, "Zone information could not be determined")
            return _json(
                {
                    "zoneName": f"America West {sb.zone}",
                    "url": f"{sb.zone_url}/",
                    "webUrl": f"https://ww{sb.zone}.autotask.net/",
                    "ci": 100 + sb.zone,
                },
                200,
            )

        @app.route(
            "/zone<int:zone>/atservicesrest/<path:rest>",
            methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        )
        def entity_api(zone: int, rest: str) -> Response:
            if zone != sb.zone:
                raise AutotaskError(401, "Unauthorized: the database is not in this zone")
            sb._authenticate()
            path = "/" + rest
            body = _body()
            sb.requests.append((request.method, path, body))
            if re.fullmatch(r"/v1\.0/ThresholdInformation", path, re.IGNORECASE):
                return sb._threshold()
            next_page = re.fullmatch(r"/v1\.0/(\w+)/query/next", path, re.IGNORECASE)
            found = spec.route(path)
            if found is None and next_page is None:
                return not_found(None)
            entity = next_page.group(1) if next_page else _entity_of(found[0].template)
            sb._enter_limits(entity)
            # Fault paths are written as the swagger spells them: /V1.0/Entity...
            fault = sb.faults.take(re.sub(r"^/v1\.0/", "/V1.0/", path, flags=re.IGNORECASE))
            if fault is not None:
                if fault.kind == "status":
                    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                    raise AutotaskError(fault.status, "injected fault", headers)
                if fault.kind == "hang" and not fault.after_commit:
                    sb.faults.sleep(fault.seconds)
                else:
                    g.fault = fault
            if sb._hold is not None:
                sb._hold.wait(10)
            if next_page:
                if request.method != "POST":
                    return not_allowed(None)
                return sb._next_page(next_page.group(1), body)
            route, params = found
            if request.method not in route.methods:
                return not_allowed(None)
            with sb._lock:
                return sb._dispatch(route, params, request.method, body)

        return app

    def _authenticate(self) -> None:
        headers = request.headers
        if (
            headers.get("ApiIntegrationCode") != self.integration_code
            or (headers.get("UserName") or "").lower() != self.username.lower()
            or headers.get("Secret") != self.secret
        ):
            raise AutotaskError(401, "Unauthorized")

    def _enter_limits(self, entity: str) -> None:
        # One rolling-hour budget per database; three threads per (tracking id, entity) (PN 1.9).
        decision = self.limiter.enter(
            [(self.hour_window, "db")],
            ("threads", self.thread_limit, (self.integration_code, entity.lower())),
        )
        if not decision.allowed:
            if decision.problem == "threads":
                raise AutotaskError(
                    self.thread_limit_status,
                    "Thread Threshold Exceeded - The Autotask API thread threshold of "
                    f"{self.thread_limit} threads has been exceeded. Itgenatr005",
                )
            raise AutotaskError(
                429,
                "The request was rejected: the hourly request threshold has been exceeded.",
                {"Retry-After": str(decision.retry_after)},
            )
        g.slot = (self.integration_code, entity.lower())

    def _threshold(self) -> Response:
        return _json(
            {
                "externalRequestThreshold": self.hour_window.limit,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": self.used_this_hour(),
            },
            200,
        )

    def _dispatch(self, route: Route, params: dict[str, str], method: str, body: Any) -> Response:
        template = route.template
        entity = _entity_of(template)
        parent = None
        if "{parentId}" in template:
            parent_entity = template.split("/")[2]
            parent = (parent_entity, _int_param(params["parentId"]))
            entity = _child_entity(parent_entity, template.split("/")[4])
        if template.endswith("/entityInformation/fields"):
            return _json({"fields": self._fields(entity)}, 200)
        if template.endswith("/entityInformation"):
            return _json({"info": self._info(entity)}, 200)
        if template.endswith("/query/count"):
            ids = self._query(entity, body, parent)
            return _json({"queryCount": len(ids)}, 200)
        if template.endswith("/query"):
            return self._query_page(entity, body, parent)
        if "{id}" in template:
            record_id = _int_param(params["id"])
            if method == "GET":
                record = self.db.table(entity).get(record_id)
                if record is None or not _belongs(record, parent):
                    return _json({"item": None}, 200)
                return _json({"item": self._view(entity, record)}, 200)
            if method == "DELETE":
                return self._delete(entity, record_id, parent)
            raise AutotaskError(405, "The requested resource does not support this method.")
        model = route.methods[method]
        if model is None:
            raise AutotaskError(405, "The requested resource does not support this method.")
        if method == "POST":
            return self._create(entity, model, body, parent)
        return self._update(entity, model, body, parent, partial=method == "PATCH")

    # -- writes -------------------------------------------------------------------------
    def _clean(self, entity: str, model: str, body: Any) -> dict[str, Any]:
        """Match fields to the model case-insensitively, type-check, drop unknowns silently."""
        if not isinstance(body, dict):
            raise AutotaskError(400, "The request is invalid: a JSON object body is required.")
        props = autotask_spec().props(model)
        by_lower = {name.lower(): name for name in props}
        clean: dict[str, Any] = {}
        for key, value in body.items():
            name = by_lower.get(str(key).lower())
            if name is None or name in ("SoapParentPropertyId",):
                self.ignored_fields.append((entity, str(key)))
                continue
            if name == "UserDefinedFields":
                clean[name] = value
                continue
            clean[name] = _typed(entity, name, props[name], value)
        return clean

    def _check(self, entity: str, record: dict[str, Any], creating: bool) -> None:
        if entity in CRM_ENTITIES:
            _crm(self)  # permissions first: the module check precedes field validation
        if ("canCreate" if creating else "canUpdate") in self.denied.get(entity, ()):
            raise AutotaskError(500, PERMISSION_DENIED)
        if creating:
            for name in REQUIRED.get(entity, ()):
                if record.get(name) is None or record.get(name) == "":
                    raise AutotaskError(
                        500, f"Missing Required Field: {_lower_first(name)}. ; on record number [1]"
                    )
        for name, values in PICKLISTS.get(entity, {}).items():
            value = record.get(name)
            if value is not None and value not in {v for v, _ in values}:
                raise AutotaskError(
                    500, f"Value {value} is not a valid value for {entity}.{_lower_first(name)}."
                )
        for name, limit in LENGTHS.get(entity, {}).items():
            value = record.get(name)
            if isinstance(value, str) and len(value) > limit:
                raise AutotaskError(
                    500,
                    f"{entity}.{_lower_first(name)} exceeds the maximum length of {limit} "
                    "characters.",
                )
        rules = ENTITY_RULES.get(entity)
        if rules is not None:
            rules(self, record, creating)

    def _create(self, entity: str, model: str, body: Any, parent) -> Response:
        record = self._clean(entity, model, body)
        record.pop("Id", None)
        for name in READ_ONLY - {"Id", "CreateDate"}:
            record.pop(name, None)
        if parent is not None:
            self._parent(parent)
            record[_parent_field(parent[0])] = parent[1]
        if entity == "Opportunities":
            record.setdefault("CreateDate", self.clock.utcnow().isoformat())
        if entity == "TicketWebhooks":
            record["WebhookGUID"] = secrets.token_hex(16)
            record.setdefault("IsReady", True)
        self._check(entity, record, creating=True)
        record_id = self.db.new_id(entity)
        record["Id"] = record_id
        record["CreatorResourceID"] = API_RESOURCE_ID
        record.setdefault("CreateDate", self.clock.utcnow().isoformat())
        if entity == "Tickets":
            record["LastActivityDate"] = self._stamp()
        self.db.table(entity)[record_id] = record
        return _json({"itemId": record_id}, 200)

    def _update(self, entity: str, model: str, body: Any, parent, partial: bool) -> Response:
        changes = self._clean(entity, model, body)
        record_id = changes.pop("Id", None)
        if record_id is None:
            raise AutotaskError(500, "Missing Required Field: id. ; on record number [1]")
        table = self.db.table(entity)
        current = table.get(record_id)
        if current is None or not _belongs(current, parent):
            raise AutotaskError(500, f"No matching records found. {entity} id {record_id}")
        if entity == "TicketCharges" and current.get("IsBilled"):
            raise AutotaskError(500, "A ticket charge that has been billed cannot be updated.")
        for name in READ_ONLY:
            changes.pop(name, None)
        if partial:
            updated = {**current, **changes}
        else:
            keep = {
                k: current[k] for k in ("Id", "CreateDate", "CreatorResourceID") if k in current
            }
            if parent is not None:
                keep[_parent_field(parent[0])] = parent[1]
            updated = {**keep, **changes}
        self._check(entity, updated, creating=not partial)
        table[record_id] = updated
        return _json({"itemId": record_id}, 200)

    def _delete(self, entity: str, record_id: int, parent) -> Response:
        if parent is None and entity not in ("TicketWebhooks", "TicketWebhookFields"):
            raise AutotaskError(405, "The requested resource does not support this method.")
        table = self.db.table(entity)
        record = table.get(record_id)
        if record is None or not _belongs(record, parent):
            raise AutotaskError(500, "No matching records found.")
        if entity == "TicketCharges" and record.get("IsBilled"):
            raise AutotaskError(500, "A ticket charge that has been billed cannot be deleted.")
        del table[record_id]
        return _json({"itemId": record_id}, 200)

    def _parent(self, parent: tuple[str, int]) -> dict[str, Any]:
        record = self.db.table(parent[0]).get(parent[1])
        if record is None:
            raise AutotaskError(500, f"No matching records found. {parent[0]} id {parent[1]}")
        return record

    def exists(self, entity: str, record_id: Any) -> bool:
        """Return whether ``entity`` has a record ``record_id``."""
        return isinstance(record_id, int) and record_id in self.db.table(entity)

    # -- queries ------------------------------------------------------------------------
    def _query(self, entity: str, body: Any, parent) -> list[int]:
        if not isinstance(body, dict):
            raise AutotaskError(500, "The query is invalid: a JSON body is required.")
        filters = _get(body, "filter") or []
        if not isinstance(filters, list) or not filters:
            raise AutotaskError(500, "The query must have at least one filter.")
        fields = self._field_names(entity)
        _count_or(filters)
        table = self.db.table(entity)
        ids = []
        for record_id, record in sorted(table.items()):
            if parent is not None and not _belongs(record, parent):
                continue
            if all(self._match(entity, fields, f, record) for f in filters):
                ids.append(record_id)
        return ids

    def _query_page(self, entity: str, body: Any, parent) -> Response:
        max_records = _get(body, "maxRecords") if isinstance(body, dict) else None
        if max_records is not None and (
            not isinstance(max_records, int) or not 1 <= max_records <= 500
        ):
            raise AutotaskError(500, "maxCountOfRecordsToReturn must be between 1 and 500")
        ids = self._query(entity, body, parent)
        size = min(max_records or self.page_size, self.page_size)
        return self._page(entity, body, ids, 0, size)

    def _page(self, entity: str, body: Any, ids: list[int], start: int, size: int) -> Response:
        chunk = ids[start : start + size]
        include = [str(f).lower() for f in (_get(body, "includeFields") or [])]
        items = []
        for record_id in chunk:
            item = self._view(entity, self.db.table(entity)[record_id])
            if include:
                item = {k: v for k, v in item.items() if k.lower() in include or k == "id"}
            items.append(item)
        next_url = None
        if start + size < len(ids):
            token = secrets.token_urlsafe(12)
            self._pages[token] = (json.dumps(body, sort_keys=True), ids, start + size)
            next_url = f"{self.zone_url}/V1.0/{entity}/query/next?paging={token}"
        return _json(
            {
                "items": items,
                "pageDetails": {
                    "count": len(items),
                    "requestCount": size,
                    "prevPageUrl": None,
                    "nextPageUrl": next_url,
                },
            },
            200,
        )

    def _next_page(self, entity: str, body: Any) -> Response:
        token = request.args.get("paging", "")
        stored = self._pages.pop(token, None)
        if stored is None:
            raise AutotaskError(500, "The paging token is invalid or has expired.")
        filter_body, ids, start = stored
        if json.dumps(body, sort_keys=True) != filter_body:
            raise AutotaskError(500, "The next page must be requested with the same query body.")
        size = min(_get(body, "maxRecords") or self.page_size, self.page_size)
        return self._page(entity, body, ids, start, size)

    def _field_names(self, entity: str) -> dict[str, str]:
        model = ENTITY_MODELS.get(entity, f"{entity[:-1]}Model")
        props = autotask_spec().models.get(model) or {}
        names = {name.lower(): name for name in props}
        names.update({k.lower(): k for k in EXTRA_FIELDS.get(entity, ())})
        return names

    def _match(self, entity: str, fields: dict[str, str], flt: Any, record: dict) -> bool:
        if not isinstance(flt, dict):
            raise AutotaskError(500, "Invalid query syntax.")
        op = _get(flt, "op")
        if op in ("and", "or"):
            items = _get(flt, "items") or []
            results = [self._match(entity, fields, item, record) for item in items]
            return all(results) if op == "and" else any(results)
        if op not in VALID_OPS:
            return True  # unknown operators are dropped, widening the result (PN 1.6)
        if _get(flt, "udf"):
            name = _get(flt, "field")
            current = {
                u.get("name"): u.get("value") for u in record.get("UserDefinedFields") or []
            }.get(name)
        else:
            raw = str(_get(flt, "field") or "")
            name = fields.get(raw.lower())
            if name is None:
                raise AutotaskError(500, f"Unable to find {raw} in the {entity[:-1]} Entity.")
            current = record.get(name)
        value = _get(flt, "value")
        if name in PICKLISTS.get(entity, {}) and value is not None:
            for v in value if isinstance(value, list) else [value]:
                if not isinstance(v, int):
                    raise AutotaskError(
                        500, f"Conversion failed when converting the varchar value '{v}' "
                        "to data type int."
                    )  # fmt: skip
        return _compare(op, current, value)

    # -- metadata -----------------------------------------------------------------------
    def _fields(self, entity: str) -> list[dict[str, Any]]:
        model = ENTITY_MODELS.get(entity, f"{entity[:-1]}Model")
        props = autotask_spec().models.get(model) or {}
        out = []
        for name, schema in props.items():
            if name in ("UserDefinedFields", "SoapParentPropertyId"):
                continue
            picklist = PICKLISTS.get(entity, {}).get(name)
            out.append(
                {
                    "name": _lower_first(name),
                    "dataType": schema.get("type", "string"),
                    "length": LENGTHS.get(entity, {}).get(name, 8000)
                    if schema.get("type") == "string"
                    else 0,
                    "isRequired": name in REQUIRED.get(entity, ()),
                    "isReadOnly": name in READ_ONLY,
                    "isQueryable": True,
                    "isReference": name.endswith("ID") and name != "Id",
                    "isPickList": picklist is not None,
                    "picklistValues": [
                        {
                            "value": str(v),
                            "label": label,
                            "isDefaultValue": i == 0,
                            "sortOrder": i,
                            "isActive": f"{entity}.{_lower_first(name)}"
                            not in self.retired_picklists,
                            "isSystem": entity == "QuoteItems",
                        }
                        for i, (v, label) in enumerate(picklist or [])
                    ]
                    or None,
                }
            )
        return out

    def _info(self, entity: str) -> dict[str, Any]:
        crm = entity in CRM_ENTITIES
        allowed = not crm or "CRM" in self.modules
        denied = self.denied.get(entity, set())
        return {
            "name": entity[:-1],
            "canCreate": allowed and "canCreate" not in denied,
            "canUpdate": allowed and "canUpdate" not in denied,
            "canQuery": "canQuery" not in denied,
            "canDelete": entity in CHILDREN.values(),
            "hasUserDefinedFields": True,
            "supportsWebhookCallouts": entity in ("Tickets", "Companies", "Contacts"),
        }


# --------------------------------------------------------------------------------------------
# Entity rules the swagger does not show
# --------------------------------------------------------------------------------------------


def _require_ref(sb: AutotaskSandbox, record: dict, name: str, entity: str) -> None:
    value = record.get(name)
    if value is not None and not sb.exists(entity, value):
        raise AutotaskError(
            500, f"{_lower_first(name)} {value} does not reference a valid {entity[:-1]}."
        )


PERMISSION_DENIED = (
    "The logged in Resource does not have the adequate permissions to update this entity type."
)


def _crm(sb: AutotaskSandbox) -> None:
    if "CRM" not in sb.modules:
        raise AutotaskError(500, PERMISSION_DENIED)


def _rules_contacts(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    _require_ref(sb, record, "CompanyID", "Companies")


def _rules_opportunities(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    _require_ref(sb, record, "CompanyID", "Companies")
    _require_ref(sb, record, "OwnerResourceID", "Resources")
    _contact_of_company(sb, record)
    probability = record.get("Probability")
    if probability is not None and not 0 <= probability <= 100:
        raise AutotaskError(500, "opportunity.probability must be between 0 and 100.")


def _contact_of_company(sb: AutotaskSandbox, record: dict) -> None:
    contact = record.get("ContactID")
    if contact is None:
        return
    row = sb.db.table("Contacts").get(contact)
    if row is None or row.get("CompanyID") != record.get("CompanyID"):
        raise AutotaskError(500, "companyID is not associated with contactID.")


def _rules_quotes(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    opportunity = sb.db.table("Opportunities").get(record.get("OpportunityID"))
    if opportunity is None:
        raise AutotaskError(500, "opportunityID does not reference a valid Opportunity.")
    if record.get("CompanyID") is None:
        record["CompanyID"] = opportunity["CompanyID"]
    elif record["CompanyID"] != opportunity["CompanyID"]:
        raise AutotaskError(500, "The quote's company must be the opportunity's company.")
    _contact_of_company(sb, record)
    for name in ("BillToLocationID", "ShipToLocationID", "SoldToLocationID"):
        # QuoteLocations ids, never CompanyLocations ids (PN 1.2): only existence is checkable.
        _require_ref(sb, record, name, "QuoteLocations")
    _primary_quote(sb, record)


def _primary_quote(sb: AutotaskSandbox, record: dict) -> None:
    """Exactly one primary quote per opportunity (PN 1.2): a quote made primary takes it from
    the others; a quote on an opportunity with no other primary one is the primary one (the
    first quote, or one un-set while no other is primary) (unconfirmed: inferred from "exactly
    one is PrimaryQuote = true")."""
    others = [
        q
        for q in sb.db.table("Quotes").values()
        if q.get("OpportunityID") == record.get("OpportunityID") and q.get("Id") != record.get("Id")
    ]
    if record.get("PrimaryQuote"):
        for other in others:
            other["PrimaryQuote"] = False
    elif not any(other.get("PrimaryQuote") for other in others):
        record["PrimaryQuote"] = True


def _rules_quote_items(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    item_type = record.get("QuoteItemType")
    id_field, target = ITEM_ID_FIELD.get(item_type, (None, None))
    given = [f for f in ITEM_ID_FIELDS if record.get(f) is not None]
    if id_field is None:
        raise AutotaskError(500, f"Value {item_type} is not a valid value for quoteItemType.")
    if given != [id_field]:
        label = dict(PICKLISTS["QuoteItems"]["QuoteItemType"])[item_type]
        raise AutotaskError(
            500,
            f"When QuoteItem.quoteItemType is set to {label}({item_type}) exactly one item id "
            f"must be set: {_lower_first(id_field)}.",
        )
    if not sb.exists(target, record[id_field]):
        raise AutotaskError(
            500, f"{_lower_first(id_field)} {record[id_field]} does not reference a valid item."
        )
    discounts = [record.get(f) or 0 for f in ("UnitDiscount", "LineDiscount", "PercentageDiscount")]
    if sum(1 for d in discounts if d) > 1:
        raise AutotaskError(500, "A quote item may have only one kind of discount.")
    _require_ref(sb, record, "TaxCategoryID", "TaxCategories")
    if record.get("IsTaxable") is None:
        record["IsTaxable"] = sb.taxable_default
    if item_type == 1 and record.get("PeriodType") == 4:
        raise AutotaskError(
            500,
            "When QuoteItem.quoteItemType is set to Product(1) the QuoteItem.periodType may not "
            "be Semi-Annual.",
        )
    if item_type == 11:
        service = sb.db.table("Services")[record["ServiceID"]]
        record["PeriodType"] = service.get("PeriodType")  # silently overridden (PN 1.1)
        same = [
            r
            for r in sb.db.table("QuoteItems").values()
            if r.get("QuoteID") == record.get("QuoteID")
            and r.get("ServiceID") == record["ServiceID"]
            and r.get("Id") != record.get("Id")
        ]
        if creating and len(same) >= 2:
            raise AutotaskError(500, "A quote may contain at most two identical service items.")


def _rules_tickets(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    _require_ref(sb, record, "CompanyID", "Companies")
    _contact_of_company(sb, record)
    if (record.get("AssignedResourceID") is None) != (record.get("AssignedResourceRoleID") is None):
        raise AutotaskError(
            500, "assignedResourceID and assignedResourceRoleID must be set together."
        )


def _rules_ticket_charges(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    _require_ref(sb, record, "ProductID", "Products")
    _require_ref(sb, record, "BillingCodeID", "BillingCodes")
    if record.get("ProductID") is None and record.get("BillingCodeID") is None:
        raise AutotaskError(500, "A ticket charge needs a productID or a billingCodeID.")
    if record.get("UnitQuantity") is not None and record.get("UnitPrice") is not None:
        record["BillableAmount"] = round(record["UnitQuantity"] * record["UnitPrice"], 2)


def _rules_products(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    _require_ref(sb, record, "ProductBillingCodeID", "BillingCodes")


def _rules_services(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    _require_ref(sb, record, "BillingCodeID", "BillingCodes")


def _rules_webhook_fields(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    _require_ref(sb, record, "WebhookID", "TicketWebhooks")


def _rules_webhooks(sb: AutotaskSandbox, record: dict, creating: bool) -> None:
    secret = record.get("SecretKey") or ""
    if len(secret) > 64:
        raise AutotaskError(500, "secretKey exceeds the maximum length of 64 characters.")
    for name in ("WebhookUrl", "DeactivationUrl"):
        if not str(record.get(name) or "").startswith(("https://", "http://")):
            raise AutotaskError(500, f"{_lower_first(name)} must be an absolute URL.")


ENTITY_RULES: dict[str, Callable[[AutotaskSandbox, dict, bool], None]] = {
    "Contacts": _rules_contacts,
    "Opportunities": _rules_opportunities,
    "Quotes": _rules_quotes,
    "QuoteItems": _rules_quote_items,
    "Tickets": _rules_tickets,
    "TicketCharges": _rules_ticket_charges,
    "Products": _rules_products,
    "Services": _rules_services,
    "TicketWebhooks": _rules_webhooks,
    "TicketWebhookFields": _rules_webhook_fields,
}
CRM_ENTITIES = {"Opportunities", "Quotes", "QuoteItems", "QuoteLocations"}
CHILDREN = {
    ("Quotes", "Items"): "QuoteItems",
    ("Tickets", "Charges"): "TicketCharges",
    ("Companies", "Contacts"): "Contacts",
    ("Companies", "Locations"): "CompanyLocations",
}
ENTITY_MODELS = {
    "Opportunities": "OpportunityModel",
    "Companies": "CompanyModel",
    "Services": "ServiceModel",
    "Resources": "ResourceModel",
    "ShippingTypes": "ShippingTypeModel",
    "TaxCategories": "TaxCategoryModel",
    "TaxRegions": "TaxRegionModel",
    "BillingCodes": "BillingCodeModel",
}
# Fields the sandbox's seed records carry that a 2020 model may lack.
EXTRA_FIELDS = {"Resources": ("Email",), "BillingCodes": ("UseType",)}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _json(payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status, headers or {}, mimetype="application/json")


def _body() -> Any:
    raw = request.get_data(as_text=True)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise AutotaskError(400, f"The request body is not valid JSON: {exc}") from None


def _entity_of(template: str) -> str:
    return template.split("/")[2]


def _child_entity(parent: str, child: str) -> str:
    return CHILDREN.get((parent, child), child)


def _parent_field(parent_entity: str) -> str:
    return {"Quotes": "QuoteID", "Tickets": "TicketID", "Companies": "CompanyID"}[parent_entity]


def _belongs(record: dict, parent) -> bool:
    return parent is None or record.get(_parent_field(parent[0])) == parent[1]


def _int_param(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise AutotaskError(400, f"The value '{value}' is not a valid id.") from None


def _get(body: dict, key: str) -> Any:
    """Read ``key`` from a request body case-insensitively (Autotask binds either case)."""
    for k, v in body.items():
        if str(k).lower() == key.lower():
            return v
    return None


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _camel(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        out["id" if key == "Id" else _lower_first(key)] = value
    out.setdefault("userDefinedFields", [])
    return out


def _typed(entity: str, name: str, schema: dict[str, Any], value: Any) -> Any:
    if value is None:
        return None
    kind = schema.get("type")
    where = f"{entity}.{_lower_first(name)}"
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise AutotaskError(
                500, f"Error converting value {json.dumps(value)} to {where} (int)."
            )
        return int(value)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AutotaskError(
                500, f"Error converting value {json.dumps(value)} to {where} (number)."
            )
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise AutotaskError(
                500, f"Error converting value {json.dumps(value)} to {where} (bool)."
            )
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise AutotaskError(
                500, f"Error converting value {json.dumps(value)} to {where} (string)."
            )
        if schema.get("format") == "date-time":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise AutotaskError(
                    500, f"Could not convert '{value}' to a date for {where}."
                ) from None
        return value
    return value


def _count_or(filters: list[Any], count: list[int] | None = None) -> int:
    count = count if count is not None else [0]
    for flt in filters:
        if isinstance(flt, dict):
            if _get(flt, "op") == "or":
                count[0] += len(_get(flt, "items") or [])
            if _get(flt, "op") == "in":
                count[0] += len(_get(flt, "value") or [])
            _count_or(_get(flt, "items") or [], count)
    if count[0] > MAX_OR_CONDITIONS:
        raise AutotaskError(
            500, "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."
        )
    return count[0]


def _compare(op: str, current: Any, value: Any) -> bool:
    if op == "exist":
        return current is not None and current != ""
    if op == "notExist":
        return current is None or current == ""
    if op in ("in", "notIn"):
        values = value if isinstance(value, list) else [value]
        inside = _norm(current) in [_norm(v) for v in values]
        return inside if op == "in" else not inside
    if value is None:
        return False  # {op: eq, value: null} matches nothing (PN 1.6)
    if current is None:
        return op == "noteq"
    a, b = _norm(current), _norm(value)
    if op == "eq":
        return a == b
    if op == "noteq":
        return a != b
    if op in ("beginsWith", "endsWith", "contains"):
        a, b = str(a), str(b)
        return {
            "beginsWith": a.startswith(b),
            "endsWith": a.endswith(b),
            "contains": b in a,
        }[op]
    try:
        return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    except TypeError:
        return False


def _norm(value: Any) -> Any:
    # String comparisons are case-insensitive in Autotask's SQL collation.
    return value.lower() if isinstance(value, str) else value
