"""Serve a ConnectWise PSA (Manage) REST API stand-in: codebase discovery, schema-checked writes,
conditions, forward-only paging, PATCH rules, limits, procurement ordering rules and callbacks.

Facts come from shared/specs/API-NOTES.md section 4 and PSA-NOTES.md section 2 ("PN 2.x" below)
and the OpenAPI document in shared/specs/connectwise/ (the GET subset of 2026.4; its schemas also
describe the bodies clients send). Purchase orders, purchasing demands and callback entries are not
in that subset: their schemas here follow the generated SDK docs API-NOTES 4.3 / 4.5 cite.

Reproduced, because an integration must survive it:
- ``/login/companyinfo/{company}`` names the codebase; an upgrade moves it and the old codebase
  answers 404 (PN 2.1);
- Basic auth ``company+public:private`` and a ``clientId`` header on every call; a wrong key is a
  404 on cloud (PN 2.1); the ``Accept`` version pin is recorded (PN 2.2);
- POST bodies are validated against the spec's schema (required fields, types, references as
  objects) and answer 201 with the record; errors are ``ErrorResponseMessage`` with the field;
- PATCH takes JSON-Patch operations with case-sensitive paths; a path *inside* an object answers a
  false 200 and changes nothing; ``customFields`` is replaced whole (PN 2.3);
- ``conditions``: strings in double quotes, datetimes in brackets; a bare word is a 400 (PN 2.4);
- forward-only paging with ``pagination-type: forward-only`` + ``pageId`` and a ``Link`` header;
  ``orderBy`` is refused with it; ``pageSize`` at most 1,000 (PN 2.4);
- 429 with ``Retry-After`` past a per-minute budget (PN 2.5);
- purchasing demand: a PO can link to a sales order's products only once the sales order exists
  and before it is invoiced (PN 2.7, 2.8); ``convertToSalesOrder`` (PN 2.6);
- callbacks registered through ``/system/callbacks``, sent signed with ``x-content-signature``
  (HMAC-SHA256 keyed with SHA-256 of the signing key, served from ``key_url``) (PN 2.10).
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
from typing import Any
from urllib.parse import unquote

import jsonschema
import requests
from flask import Flask, Response, g, request

from .common import Clock, FaultPlan, RateLimiter, Window, install_fault_hooks
from .specs import require_specs

COMPANY_ID = "mspdemo"
PUBLIC_KEY = "cw-public-key"
PRIVATE_KEY = "cw-private-key"
CLIENT_ID = "8b1f0f3e-1d5b-4b4e-9d1f-0c2e5a7b9c11"
SIGNING_KEY = "cw-callback-signing-key"
MAX_PAGE_SIZE = 1000

# Schemas the GET subset lacks (API-NOTES 4.3 and 4.5, from the generated SDK docs).
EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {
    "PurchaseOrder": {
        "type": "object",
        "required": ["vendorCompany", "status", "terms"],
        "properties": {
            "id": {"type": "integer"},
            "vendorCompany": {"$ref": "#/components/schemas/CompanyReference"},
            "status": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "terms": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "poDate": {"type": "string", "format": "date-time"},
            "poNumber": {"type": "string", "maxLength": 50},
            "trackingNumber": {"type": "string", "maxLength": 50},
            "vendorInvoiceNumber": {"type": "string", "maxLength": 50},
            "vendorOrderNumber": {"type": "string", "maxLength": 50},
            "closedFlag": {"type": "boolean"},
            "customerCompany": {"$ref": "#/components/schemas/CompanyReference"},
            "freightCost": {"type": "number"},
            "internalNotes": {"type": "string"},
            "location": {"type": "object"},
            "businessUnit": {"type": "object"},
            "shipmentMethod": {"type": "object"},
        },
    },
    "PurchaseOrderLineItem": {
        "type": "object",
        "required": ["description", "lineNumber", "product", "quantity", "unitOfMeasure"],
        "properties": {
            "id": {"type": "integer"},
            "description": {"type": "string", "maxLength": 6000},
            "lineNumber": {"type": "integer"},
            "product": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "quantity": {"type": "number"},
            "unitOfMeasure": {"type": "object"},
            "unitCost": {"type": "number"},
            "vendorSku": {"type": "string"},
            "receivedStatus": {
                "type": "string",
                "enum": [
                    "Waiting",
                    "FullyReceived",
                    "PartiallyReceiveCancelRest",
                    "PartiallyReceiveCloneRest",
                ],
            },
            "receivedQuantity": {"type": "number"},
            "serialNumbers": {"type": "string"},
            "trackingNumber": {"type": "string", "maxLength": 50},
            "shipDate": {"type": "string", "format": "date-time"},
        },
    },
    "PurchasingDemand": {
        "type": "object",
        "required": ["products", "vendor", "warehouse"],
        "properties": {
            "products": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["productRecId", "quantity"],
                    "properties": {
                        "productRecId": {"type": "integer"},
                        "quantity": {"type": "number"},
                        "cost": {"type": "number"},
                    },
                },
            },
            "vendor": {"type": "object", "required": ["id"]},
            "warehouse": {"type": "object", "required": ["id"]},
            "purchaseOrder": {"type": "object"},
        },
    },
    "CallbackEntry": {
        "type": "object",
        "required": ["url", "objectId", "type", "level"],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "objectId": {"type": "integer"},
            "type": {"type": "string"},
            "level": {"type": "string"},
            "description": {"type": "string"},
            "inactiveFlag": {"type": "boolean"},
            "payloadVersion": {"type": "string"},
            "isSelfSuppressedFlag": {"type": "boolean"},
        },
    },
    "OpportunityToSalesOrderConversion": {
        "type": "object",
        "properties": {
            "salesOrderId": {"type": "integer"},
            "includeAllProductsFlag": {"type": "boolean"},
            "includeProductIds": {"type": "array", "items": {"type": "integer"}},
            "includeAllNotesFlag": {"type": "boolean"},
            "includeAllDocumentsFlag": {"type": "boolean"},
            "name": {"type": "string"},
        },
    },
}


@dataclass(frozen=True)
class Collection:
    """A writable collection: URL, schema, and the references that must exist."""

    path: str
    schema: str
    refs: dict[str, str] = field(default_factory=dict)  # body field -> collection path


COLLECTIONS = [
    Collection("company/companies", "Company"),
    Collection("company/contacts", "Contact", {"company": "company/companies"}),
    Collection(
        "sales/opportunities",
        "Opportunity",
        {"company": "company/companies", "contact": "company/contacts"},
    ),
    Collection("sales/orders", "Order", {"company": "company/companies"}),
    Collection("service/tickets", "Ticket", {"company": "company/companies"}),
    Collection("procurement/catalog", "CatalogItem"),
    Collection("procurement/products", "ProductItem", {"catalogItem": "procurement/catalog"}),
    Collection(
        "procurement/purchaseorders", "PurchaseOrder", {"vendorCompany": "company/companies"}
    ),
    Collection("system/callbacks", "CallbackEntry"),
]
CHILD_COLLECTIONS = {
    "sales/opportunities/forecast": Collection("sales/opportunities/forecast", "ForecastItem"),
    "procurement/purchaseorders/lineitems": Collection(
        "procurement/purchaseorders/lineitems",
        "PurchaseOrderLineItem",
        {"product": "procurement/catalog"},
    ),
}
# Setup tables offered as lookups (PN 2.2: read only what Table Setup exposes).
LOOKUPS: dict[str, list[dict[str, Any]]] = {
    "service/boards": [{"id": 1, "name": "Service Desk"}, {"id": 2, "name": "Sales Orders"}],
    "service/boards/1/statuses": [{"id": 11, "name": "New"}, {"id": 12, "name": "Closed"}],
    "service/boards/2/statuses": [{"id": 21, "name": "New order"}, {"id": 22, "name": "Done"}],
    "sales/stages": [{"id": 1, "name": "Prospect"}, {"id": 2, "name": "Quote sent"}],
    "sales/opportunities/statuses": [
        {"id": 1, "name": "Open", "wonFlag": False, "lostFlag": False},
        {"id": 2, "name": "Won", "wonFlag": True, "lostFlag": False},
        {"id": 3, "name": "Lost", "wonFlag": False, "lostFlag": True},
    ],
    "sales/orders/statuses": [{"id": 1, "name": "New"}, {"id": 2, "name": "Invoiced"}],
    "procurement/categories": [{"id": 1, "name": "Hardware"}, {"id": 2, "name": "Software"}],
    "procurement/subcategories": [{"id": 1, "name": "Laptops", "category": {"id": 1}}],
    "procurement/types": [{"id": 1, "name": "Laptop"}],
    "procurement/warehouses": [{"id": 1, "name": "Main warehouse"}],
    "finance/taxCodes": [{"id": 1, "identifier": "TAX", "name": "Sales tax"}],
    "system/members": [{"id": 1, "identifier": "sam", "firstName": "Sam", "lastName": "Sales"}],
    "procurement/purchaseorderstatuses": [{"id": 1, "name": "Open"}, {"id": 2, "name": "Closed"}],
    "company/companies/types": [
        {"id": 1, "name": "Client"},
        {"id": 2, "name": "Prospect"},
        {"id": 5, "name": "Vendor"},
    ],
    "company/companies/statuses": [{"id": 1, "name": "Active"}, {"id": 2, "name": "Inactive"}],
}


# References to setup tables that must name an existing row (ConnectWise refuses the rest).
LOOKUP_REFS: dict[str, dict[str, str]] = {
    "CatalogItem": {"subcategory": "procurement/subcategories", "type": "procurement/types"},
    "Ticket": {"board": "service/boards"},
    "Opportunity": {"stage": "sales/stages", "status": "sales/opportunities/statuses"},
    "ProductItem": {"taxCode": "finance/taxCodes"},
}


class CwError(Exception):
    """An error answer in ConnectWise's ``ErrorResponseMessage`` shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors
        self.headers = headers or {}


@cache
def connectwise_document() -> dict[str, Any]:
    """Load the OpenAPI document once, with the schemas the GET subset lacks."""
    path = require_specs() / "connectwise" / "connectwise-manage-2026.4-get-subset.openapi.json"
    doc = json.loads(path.read_text())
    doc["components"]["schemas"].update(copy.deepcopy(EXTRA_SCHEMAS))
    _nullable_to_json_schema(doc["components"]["schemas"])
    return doc


def _nullable_to_json_schema(node: Any) -> None:
    """OpenAPI 3.0 ``nullable: true`` means JSON Schema ``type: [T, "null"]``."""
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_json_schema(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_json_schema(value)


def schema_errors(name: str, body: Any) -> list[dict[str, Any]]:
    """Validate ``body`` against component schema ``name``; return ValidationError dicts."""
    doc = connectwise_document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    out = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path)):
        path = "/".join(str(p) for p in error.path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            path = f"{path}/{missing}".strip("/")
            out.append(
                {
                    "code": "MissingRequiredField",
                    "message": f"{missing} is required.",
                    "resource": name,
                    "field": path,
                }
            )
        elif error.validator == "readOnly":
            continue
        else:
            out.append(
                {
                    "code": "InvalidField",
                    "message": error.message,
                    "resource": name,
                    "field": path,
                }
            )
    return out


# --------------------------------------------------------------------------------------------
# Conditions (PN 2.4)
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lp>\() | (?P<rp>\)) |
      (?P<conj>(?i:and|or))\b |
      (?P<field>[A-Za-z_][\w/]*)\s*(?P<op><=|>=|!=|=|<|>|(?i:contains|like|in|not\s+in)\b)\s*
      (?P<value>"(?:[^"]|"")*"|\[[^\]]*\]|\((?:[^)]*)\)|-?\d+(?:\.\d+)?|(?i:true|false|null))
    )""",
    re.VERBOSE,
)


def parse_conditions(text: str) -> Callable[[dict[str, Any]], bool]:
    """Compile a ``conditions`` string into a predicate; malformed text raises ``CwError`` 400."""
    pos = 0
    tokens: list[tuple[str, Any]] = []
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise CwError(
                400,
                "InvalidObject",
                f"conditions: cannot parse at character {pos + 1}: {text[pos : pos + 30]!r} "
                "(strings need double quotes, dates [brackets])",
            )
        pos = match.end()
        if match.group("lp"):
            tokens.append(("(", None))
        elif match.group("rp"):
            tokens.append((")", None))
        elif match.group("conj"):
            tokens.append(("conj", match.group("conj").lower()))
        else:
            op = re.sub(r"\s+", " ", match.group("op").lower())
            tokens.append(("cmp", (match.group("field"), op, _literal(match.group("value")))))
    predicate, rest = _parse_or(tokens)
    if rest:
        raise CwError(400, "InvalidObject", "conditions: unbalanced parentheses")
    return predicate


def _parse_or(tokens):
    left, tokens = _parse_and(tokens)
    while tokens and tokens[0] == ("conj", "or"):
        right, tokens = _parse_and(tokens[1:])
        left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
    return left, tokens


def _parse_and(tokens):
    left, tokens = _parse_atom(tokens)
    while tokens and tokens[0] == ("conj", "and"):
        right, tokens = _parse_atom(tokens[1:])
        left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
    return left, tokens


def _parse_atom(tokens):
    if not tokens:
        raise CwError(400, "InvalidObject", "conditions: expression expected")
    kind, value = tokens[0]
    if kind == "(":
        inner, rest = _parse_or(tokens[1:])
        if not rest or rest[0][0] != ")":
            raise CwError(400, "InvalidObject", "conditions: unbalanced parentheses")
        return inner, rest[1:]
    if kind != "cmp":
        raise CwError(400, "InvalidObject", "conditions: comparison expected")
    field_path, op, literal = value
    return (lambda r: _compare(_path(r, field_path), op, literal)), tokens[1:]


class _Date(str):
    """A ``[datetime]`` literal."""


def _literal(raw: str) -> Any:
    if raw.startswith('"'):
        return raw[1:-1].replace('""', '"').replace("[[]", "[")
    if raw.startswith("["):
        return _Date(raw[1:-1])
    if raw.startswith("("):
        return [_literal(part.strip()) for part in raw[1:-1].split(",") if part.strip()]
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return float(raw) if "." in raw else int(raw)


def _path(record: dict[str, Any], dotted: str) -> Any:
    if dotted == "lastUpdated":
        dotted = "_info/lastUpdated"  # conditions name it at the top level (PN 2.4)
    value: Any = record
    for part in dotted.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _compare(current: Any, op: str, literal: Any) -> bool:
    if isinstance(literal, _Date) and isinstance(current, str):
        current, literal = _when(current), _when(literal)
    if isinstance(current, str) and isinstance(literal, str):
        current, literal = current.lower(), literal.lower()
    if op == "=":
        if isinstance(literal, str) and "*" in literal and isinstance(current, str):
            return re.fullmatch(re.escape(literal).replace(r"\*", ".*"), current) is not None
        return current == literal
    if op == "!=":
        return current != literal
    if op in ("contains", "like"):
        needle = str(literal).replace("*", "")
        return current is not None and needle in str(current)
    if op == "in":
        return current in literal
    if op == "not in":
        return current not in literal
    if current is None or literal is None:
        return False
    try:
        return {"<": current < literal, "<=": current <= literal, ">": current > literal,
                ">=": current >= literal}[op]  # fmt: skip
    except TypeError:
        return False


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --------------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------------


@dataclass
class SentCallback:
    """A callback the sandbox delivered, and the receiver's answer."""

    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None


class ConnectWiseSandbox:
    """State and knobs of one ConnectWise sandbox; ``.app`` is the Flask app."""

    def __init__(
        self,
        *,
        company_id: str = COMPANY_ID,
        public_key: str = PUBLIC_KEY,
        private_key: str = PRIVATE_KEY,
        client_id: str = CLIENT_ID,
        per_minute: int = 1000,
        codebase: str = "v2026_1/",
        signing_key: str = SIGNING_KEY,
    ) -> None:
        self.company_id = company_id
        self.public_key = public_key
        self.private_key = private_key
        self.client_id = client_id
        self.codebase = codebase
        self.signing_key = signing_key
        self.clock = Clock()
        self.minute_window = Window("minute", per_minute, 60)
        self.limiter = RateLimiter(self.clock)
        self.faults = FaultPlan("/apis/3.0/")
        self.base_url = ""
        self.records: dict[str, dict[int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.accept_versions: list[str] = []
        self.callbacks_sent: list[SentCallback] = []
        self.key_fetches = 0
        self.companyinfo_calls = 0
        # Setup tables not exposed under Table Setup read as empty; paths the API member's
        # security role lacks answer 403 (PN 2.2, T7).
        self.hidden: set[str] = set()
        self.denied: set[str] = set()
        self._next_id = 100
        self._lock = threading.RLock()
        self._seed()
        self.app = self._build_app()

    # -- knobs --------------------------------------------------------------------------
    @property
    def site_url(self) -> str:
        """Return the site root (where ``/login/companyinfo`` lives)."""
        return self.base_url

    @property
    def api_url(self) -> str:
        """Return the current codebase's API root."""
        return f"{self.base_url}/{self.codebase}apis/3.0"

    @property
    def key_url(self) -> str:
        """Return the URL callbacks name in ``Metadata.key_url``."""
        return f"{self.base_url}/callbacks/key"

    def upgrade(self, codebase: str = "v2026_2/") -> None:
        """Move to a new codebase: the old one answers 404 from now on (PN 2.1)."""
        self.codebase = codebase

    def release(self) -> None:
        """Wake hanging requests (called on teardown)."""
        self.faults.clear()
        self.faults.release()

    def table(self, path: str) -> dict[int, dict[str, Any]]:
        """Return the records of a collection by id."""
        return self.records.setdefault(path, {})

    def add(self, path: str, **fields: Any) -> int:
        """Insert a record directly (as staff would in Manage); return its id."""
        with self._lock:
            record_id = self._new_id()
            self.table(path)[record_id] = {"id": record_id, **fields, "_info": self._info()}
            return record_id

    def change(self, path: str, record_id: int, **fields: Any) -> None:
        """Change a record as staff would; bump ``_info.lastUpdated``."""
        with self._lock:
            record = self.table(path)[record_id]
            record.update(fields)
            record["_info"] = self._info()

    def invoice_order(self, order_id: int) -> None:
        """Invoice a sales order in Manage: its products get an ``invoice`` reference."""
        with self._lock:
            invoice = self.add("finance/invoices", type="Standard", salesOrder={"id": order_id})
            self.table("sales/orders")[order_id]["invoiceIds"] = [invoice]
            for product in self.table("procurement/products").values():
                if (product.get("salesOrder") or {}).get("id") == order_id:
                    product["invoice"] = {"id": invoice}

    def fire(
        self,
        callback_type: str,
        record_id: int,
        action: str = "updated",
        deliver: Callable[[str, bytes, dict[str, str]], int | None] | None = None,
        key_url: str | None = None,
    ) -> list[SentCallback]:
        """Deliver a signed callback for ``record_id`` to every active matching registration."""
        sent = []
        for entry in list(self.table("system/callbacks").values()):
            if entry.get("inactiveFlag") or entry.get("type", "").lower() != callback_type.lower():
                continue
            payload = {
                "Action": action,
                "CompanyId": self.company_id,
                "Entity": json.dumps({"id": record_id, "recordType": callback_type}),
                "FromUrl": self.base_url,
                "ID": record_id,
                "MemberId": "apimember",
                "Metadata": {"key_url": key_url or self.key_url},
                "Type": callback_type.lower(),
            }
            body = json.dumps(payload).encode()
            headers = {
                "Content-Type": "application/json",
                "x-content-signature": sign(self.signing_key, body),
            }
            url = f"{entry['url']}{record_id}&action={action}"  # CW appends id + action
            status = (deliver or _post)(url, body, headers)
            sent.append(SentCallback(url, body, headers, status))
        self.callbacks_sent.extend(sent)
        return sent

    # -- internals ----------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _info(self) -> dict[str, str]:
        return {"lastUpdated": self.clock.utcnow().isoformat().replace("+00:00", "Z")}

    def _seed(self) -> None:
        client = self.add(
            "company/companies",
            identifier="Northwind",
            name="Northwind Traders",
            status={"id": 1, "name": "Active"},
            types=[{"id": 1, "name": "Client"}],
            deletedFlag=False,
        )
        self.add("company/contacts", firstName="Ann", lastName="Approver", company={"id": client})
        self.add(
            "company/companies",
            identifier="Ingram",
            name="Ingram Micro",
            status={"id": 1, "name": "Active"},
            types=[{"id": 5, "name": "Vendor"}],
            deletedFlag=False,
        )
        self.add(
            "company/companies",
            identifier="Northwind-old",
            name="Northwind Traders",
            status={"id": 2, "name": "Inactive"},
            types=[{"id": 1, "name": "Client"}],
            deletedFlag=True,  # in the recycle bin: never offer it (PN T6)
        )

    def _authenticate(self) -> None:
        expected = base64.b64encode(
            f"{self.company_id}+{self.public_key}:{self.private_key}".encode()
        ).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            # Cloud answers a bad key with a 404, like a missing route (PN 2.1).
            raise CwError(404, "NotFound", "The requested resource was not found.")
        if request.headers.get("clientId") != self.client_id:
            raise CwError(401, "Unauthorized", "clientId is required and must be registered.")
        accept = request.headers.get("Accept", "")
        self.accept_versions.append(accept)

    def _enter_limits(self) -> None:
        decision = self.limiter.enter([(self.minute_window, "company")], None)
        if not decision.allowed:
            raise CwError(
                429,
                "ConnectWiseAPI",
                f"Too many requests. Please try again in {decision.retry_after} seconds.",
                headers={"Retry-After": str(decision.retry_after)},
            )

    def _build_app(self) -> Flask:
        app = Flask(f"connectwise-sandbox-{id(self)}")
        sb = self

        @app.errorhandler(CwError)
        def on_error(exc: CwError) -> Response:
            return _json(exc.body, exc.status, exc.headers)

        @app.before_request
        def gate() -> None:
            g.fault = None
            g.slot = None

        install_fault_hooks(app, sb)

        @app.get("/login/companyinfo/<company>")
        def companyinfo(company: str) -> Response:
            sb.companyinfo_calls += 1
            if company.lower() != sb.company_id.lower():
                raise CwError(404, "NotFound", "Company not found")
            return _json(
                {
                    "CompanyName": "MSP Demo",
                    "Codebase": sb.codebase,
                    "VersionCode": sb.codebase.strip("/"),
                    "VersionNumber": sb.codebase.strip("/"),
                    "CompanyID": sb.company_id,
                    "IsCloud": True,
                },
                200,
            )

        @app.get("/callbacks/key")
        def signing_key() -> Response:
            sb.key_fetches += 1
            return _json({"signing_key": sb.signing_key}, 200)

        @app.route(
            "/<codebase>/apis/3.0/<path:rest>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"]
        )
        def api(codebase: str, rest: str) -> Response:
            if f"{codebase}/" != sb.codebase:
                raise CwError(404, "NotFound", "The requested resource was not found.")
            sb._authenticate()
            sb._enter_limits()
            body = _body()
            sb.requests.append((request.method, rest, dict(request.headers), body))
            fault = sb.faults.take(request.path)
            if fault is not None:
                if fault.kind == "status":
                    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                    raise CwError(fault.status, "InjectedFault", "injected fault", headers=headers)
                if fault.kind == "hang" and not fault.after_commit:
                    sb.faults.sleep(fault.seconds)
                else:
                    g.fault = fault
            with sb._lock:
                return sb._route(rest.strip("/"), request.method, body)

        return app

    def _route(self, rest: str, method: str, body: Any) -> Response:
        if any(rest == d or rest.startswith(f"{d}/") for d in self.denied):
            raise CwError(
                403,
                "Forbidden",
                f"You do not have permission to access {rest} (security role).",
            )
        if rest in LOOKUPS and method == "GET":
            return self._list([] if rest in self.hidden else copy.deepcopy(LOOKUPS[rest]))
        convert = re.fullmatch(r"sales/opportunities/(\d+)/convertToSalesOrder", rest)
        if convert and method == "POST":
            return self._convert(int(convert.group(1)), body)
        if rest == "procurement/purchasingDemands" and method == "POST":
            return self._demand(body)
        child = re.fullmatch(
            r"(sales/opportunities|procurement/purchaseorders)/(\d+)/(\w+)(?:/(\d+))?", rest
        )
        if child:
            parent_path, parent_id, name, child_id = child.groups()
            key = f"{parent_path}/{name}"
            collection = CHILD_COLLECTIONS.get(key)
            if collection is None:
                raise CwError(404, "NotFound", "The requested resource was not found.")
            if int(parent_id) not in self.table(parent_path):
                raise CwError(404, "NotFound", f"{parent_path} {parent_id} was not found.")
            parent_field = "opportunity" if parent_path.startswith("sales") else "purchaseOrderId"
            return self._collection(
                collection,
                method,
                body,
                int(child_id) if child_id else None,
                parent=(parent_field, int(parent_id)),
            )
        match = re.fullmatch(r"([a-z]+/[A-Za-z]+)(?:/(\d+))?", rest)
        if match:
            for collection in COLLECTIONS:
                if collection.path == match.group(1):
                    record_id = int(match.group(2)) if match.group(2) else None
                    return self._collection(collection, method, body, record_id)
        raise CwError(404, "NotFound", "The requested resource was not found.")

    def _collection(
        self,
        collection: Collection,
        method: str,
        body: Any,
        record_id: int | None,
        parent: tuple[str, int] | None = None,
    ) -> Response:
        table = self.table(collection.path)
        if record_id is None:
            if method == "GET":
                rows = [
                    r
                    for r in table.values()
                    if parent is None or _parent_of(r, parent[0]) == parent[1]
                ]
                return self._list(rows)
            if method == "POST":
                return self._create(collection, body, parent)
            raise CwError(405, "MethodNotAllowed", "The requested method is not allowed.")
        record = table.get(record_id)
        if record is None:
            raise CwError(404, "NotFound", f"{collection.path} {record_id} was not found.")
        if method == "GET":
            return _json(copy.deepcopy(record), 200)
        if method == "DELETE":
            del table[record_id]
            return Response(status=204)
        if method == "PATCH":
            return self._patch(collection, record, body)
        if method == "PUT":
            return self._put(collection, record, body)
        raise CwError(405, "MethodNotAllowed", "The requested method is not allowed.")

    def _validate(self, collection: Collection, body: Any) -> None:
        if not isinstance(body, dict):
            raise CwError(400, "InvalidObject", "The request body must be a JSON object.")
        errors = schema_errors(collection.schema, body)
        for name, target in collection.refs.items():
            ref = body.get(name)
            if (
                isinstance(ref, dict)
                and ref.get("id") is not None
                and ref["id"] not in self.table(target)
            ):
                errors.append(
                    {
                        "code": "InvalidObject",
                        "message": f"{name} id {ref['id']} was not found.",
                        "resource": collection.schema,
                        "field": name,
                    }
                )
        for name, lookup in LOOKUP_REFS.get(collection.schema, {}).items():
            ref = body.get(name)
            known = {row["id"] for row in LOOKUPS[lookup]}
            if isinstance(ref, dict) and ref.get("id") is not None and ref["id"] not in known:
                errors.append(
                    {
                        "code": "InvalidObject",
                        "message": f"{name} id {ref['id']} was not found.",
                        "resource": collection.schema,
                        "field": name,
                    }
                )
        if errors:
            raise CwError(400, "InvalidObject", f"{collection.schema} object is invalid", errors)

    def _create(self, collection: Collection, body: Any, parent) -> Response:
        if parent is not None and isinstance(body, dict):
            if parent[0] == "opportunity":
                body.setdefault("opportunity", {"id": parent[1]})
            else:
                body["purchaseOrderId"] = parent[1]
        self._validate(collection, body)
        record = copy.deepcopy(body)
        record["id"] = self._new_id()
        record["_info"] = self._info()
        self.table(collection.path)[record["id"]] = record
        return _json(record, 201)

    def _put(self, collection: Collection, record: dict, body: Any) -> Response:
        self._validate(collection, body)
        # PUT replaces the record: unspecified fields go back to null/default (PN 2.3).
        replaced = {"id": record["id"], **copy.deepcopy(body), "_info": self._info()}
        self.table(collection.path)[record["id"]] = replaced
        return _json(replaced, 200)

    def _patch(self, collection: Collection, record: dict, body: Any) -> Response:
        if not isinstance(body, list) or not body:
            raise CwError(400, "InvalidObject", "PATCH takes a JSON-Patch array of operations.")
        updated = copy.deepcopy(record)
        for operation in body:
            if not isinstance(operation, dict) or operation.get("op") not in (
                "add",
                "replace",
                "remove",
            ):
                raise CwError(400, "InvalidObject", "op must be add, replace or remove.")
            path = str(operation.get("path", "")).strip("/")
            if "/" in path:
                # A path inside an object: ConnectWise answers 200 and changes nothing (PN 2.3).
                continue
            if path not in _properties(collection.schema):
                # Paths are case-sensitive: `Summary` is not `summary`.
                raise CwError(
                    400,
                    "InvalidObject",
                    f"Cannot patch {path!r}",
                    [{"code": "InvalidField", "message": "unknown path", "field": path}],
                )
            if operation["op"] == "remove":
                updated.pop(path, None)
            else:
                updated[path] = copy.deepcopy(operation.get("value"))
        body_only = {k: v for k, v in updated.items() if k not in ("id", "_info")}
        errors = [
            e
            for e in schema_errors(collection.schema, body_only)
            if e["code"] != "MissingRequiredField"
        ]
        if errors:
            raise CwError(400, "InvalidObject", f"{collection.schema} object is invalid", errors)
        if collection.schema == "PurchaseOrderLineItem":
            self._clone_rest(record, updated)  # refuses before anything is stored
        updated["_info"] = self._info()
        self.table(collection.path)[record["id"]] = updated
        return _json(updated, 200)

    def _clone_rest(self, before: dict, line: dict) -> None:
        """``PartiallyReceiveCloneRest``: the line keeps what was received and the rest waits on
        a new line (``PartiallyReceiveCancelRest`` drops the rest)."""
        status = line.get("receivedStatus")
        if before.get("receivedStatus") == status or status not in (
            "PartiallyReceiveCloneRest",
            "PartiallyReceiveCancelRest",
        ):
            return
        received = line.get("receivedQuantity") or 0
        rest = (line.get("quantity") or 0) - received
        if received <= 0 or rest <= 0:
            raise CwError(
                400,
                "InvalidObject",
                "receivedQuantity must be more than 0 and less than the quantity for a partial "
                "receipt",
                [{"code": "InvalidField", "message": "out of range", "field": "receivedQuantity"}],
            )
        line["quantity"] = received
        if status == "PartiallyReceiveCloneRest":
            lines = self.table("procurement/purchaseorders/lineitems")
            clone = {
                k: copy.deepcopy(v)
                for k, v in line.items()
                if k not in ("receivedQuantity", "serialNumbers", "trackingNumber")
            }
            clone.update(
                id=self._new_id(),
                quantity=rest,
                receivedStatus="Waiting",
                lineNumber=max(r.get("lineNumber", 0) for r in lines.values()) + 1,
                _info=self._info(),
            )
            lines[clone["id"]] = clone

    def _list(self, rows: list[dict[str, Any]]) -> Response:
        args = request.args
        rows = sorted(rows, key=lambda r: r.get("id", 0))
        conditions = args.get("conditions")
        if conditions:
            predicate = parse_conditions(unquote(conditions))
            rows = [r for r in rows if predicate(r)]
        try:
            page_size = int(args.get("pageSize", 25))
        except ValueError:
            raise CwError(400, "InvalidObject", "pageSize must be a number") from None
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise CwError(400, "InvalidObject", f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        headers: dict[str, str] = {}
        if request.headers.get("pagination-type", "").lower() == "forward-only":
            if args.get("orderBy"):
                raise CwError(
                    400, "InvalidObject", "orderBy is not allowed with forward-only paging"
                )
            after = int(args.get("pageId", 0) or 0)
            rows = [r for r in rows if r["id"] > after]
            page, more = rows[:page_size], len(rows) > page_size
            if more:
                link = f"{request.base_url}?pageSize={page_size}&pageId={page[-1]['id']}"
                if conditions:
                    link += f"&conditions={request.args.get('conditions')}"
                headers["Link"] = f'<{link}>; rel="next"'
        else:
            number = int(args.get("page", 1) or 1)
            start = (number - 1) * page_size
            page = rows[start : start + page_size]
            if start + page_size < len(rows):
                headers["Link"] = (
                    f'<{request.base_url}?page={number + 1}&pageSize={page_size}>; rel="next"'
                )
        return _json(copy.deepcopy(page), 200, headers)

    def _convert(self, opportunity_id: int, body: Any) -> Response:
        opportunity = self.table("sales/opportunities").get(opportunity_id)
        if opportunity is None:
            raise CwError(404, "NotFound", f"sales/opportunities {opportunity_id} was not found.")
        errors = schema_errors("OpportunityToSalesOrderConversion", body or {})
        if errors:
            raise CwError(400, "InvalidObject", "conversion is invalid", errors)
        order = {
            "id": self._new_id(),
            "company": opportunity["company"],
            "contact": opportunity.get("contact"),
            "status": {"id": 1, "name": "New"},
            "opportunity": {"id": opportunity_id},
            "salesRep": opportunity.get("primarySalesRep"),
            "poNumber": opportunity.get("customerPO"),
            "invoiceIds": [],
            "_info": self._info(),
        }
        self.table("sales/orders")[order["id"]] = order
        product_ids = []
        for product in self.table("procurement/products").values():
            if (product.get("opportunity") or {}).get("id") == opportunity_id:
                product["salesOrder"] = {"id": order["id"]}
                product_ids.append(product["id"])
        order["productIds"] = product_ids
        return _json(order, 200)

    def _demand(self, body: Any) -> Response:
        errors = schema_errors("PurchasingDemand", body)
        if errors:
            raise CwError(400, "InvalidObject", "PurchasingDemand object is invalid", errors)
        lines = []
        for demand in body["products"]:
            product = self.table("procurement/products").get(demand["productRecId"])
            if product is None:
                raise CwError(400, "InvalidObject", f"product {demand['productRecId']} not found")
            if product.get("salesOrder") is None and product.get("ticket") is None:
                # A PO cannot be linked before the sales order exists (PN 2.8).
                raise CwError(
                    400,
                    "InvalidObject",
                    f"product {product['id']} has no sales order or ticket yet: create the sales "
                    "order before linking a purchase order",
                )
            if product.get("invoice"):
                raise CwError(
                    400,
                    "InvalidObject",
                    f"product {product['id']} is already invoiced: a purchase order can no "
                    "longer be linked",
                )
            lines.append((product, demand))
        po_fields = body.get("purchaseOrder") or {}
        po = {
            "id": self._new_id(),
            "vendorCompany": body["vendor"],
            "status": po_fields.get("status", {"id": 1, "name": "Open"}),
            "terms": po_fields.get("terms", {"id": 1}),
            "poNumber": po_fields.get("poNumber"),
            "closedFlag": bool(po_fields.get("closedFlag")),
            "warehouse": body["warehouse"],
            "_info": self._info(),
        }
        self.table("procurement/purchaseorders")[po["id"]] = po
        for number, (product, demand) in enumerate(lines, start=1):
            line = {
                "id": self._new_id(),
                "purchaseOrderId": po["id"],
                "lineNumber": number,
                "product": product["catalogItem"],
                "description": product.get("description") or "",
                "quantity": demand["quantity"],
                "unitCost": demand.get("cost"),
                "receivedStatus": "Waiting",
                "_info": self._info(),
            }
            self.table("procurement/purchaseorders/lineitems")[line["id"]] = line
            product["needToPurchaseFlag"] = False
            product["purchaseOrder"] = {"id": po["id"]}
        return _json(po, 201)


def sign(signing_key: str, body: bytes) -> str:
    """Return ``x-content-signature``: base64 HMAC-SHA256 keyed with SHA-256 of the key."""
    key = hashlib.sha256(signing_key.encode()).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int | None:
    try:
        return requests.post(url, data=body, headers=headers, timeout=5).status_code
    except requests.RequestException:
        return None


def _properties(schema: str) -> dict[str, Any]:
    return connectwise_document()["components"]["schemas"][schema].get("properties", {})


def _parent_of(record: dict[str, Any], parent_field: str) -> Any:
    value = record.get(parent_field)
    return value.get("id") if isinstance(value, dict) else value


def _json(payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status, headers or {}, mimetype="application/json")


def _body() -> Any:
    raw = request.get_data(as_text=True)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise CwError(400, "InvalidObject", f"The request body is not valid JSON: {exc}") from None


def new_secret() -> str:
    """Return a random token (used by tests that register callbacks)."""
    return secrets.token_hex(8)
