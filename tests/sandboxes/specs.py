"""Locate the vendor specs and build request validators from them, parsed once per session."""

from __future__ import annotations

import copy
import functools
import os
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

SKIP_REASON = "../shared/specs not found: vendor specs are needed to validate sandbox requests"

_REPO_ROOT = Path(__file__).resolve().parents[2]


def specs_dir() -> Path | None:
    """Return the shared specs directory (``$SHARED_SPECS_DIR`` or ``<repo>/../shared/specs``)."""
    env = os.environ.get("SHARED_SPECS_DIR")
    candidate = Path(env) if env else _REPO_ROOT.parent / "shared" / "specs"
    if (candidate / "xero" / "xero_accounting.yaml").is_file() and (
        candidate / "quickbooks" / "Finance.xsd"
    ).is_file():
        return candidate
    return None


def require_specs() -> Path:
    """Return the specs directory, or skip the calling test when it is absent.

    A user's clone without ``../shared`` skips; in CI (``CI=true``) a missing spec fails the
    test, so a run cannot pass while hundreds of sandbox tests quietly did not run.
    """
    found = specs_dir()
    if found is None:
        import pytest

        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"{SKIP_REASON} (CI=true: a missing spec is a failure)")
        pytest.skip(SKIP_REASON)
    return found


# ============================================================================================
# Xero: OpenAPI 3.0 -> JSON Schema (draft 4 semantics, as OAS 3.0 schema objects are)
# ============================================================================================

_XERO_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?|/Date\(-?\d+([+-]\d{4})?\)/)$"
)


@dataclass
class XeroProblem:
    """One request-body problem: JSON path (list of keys/indexes) and a human message."""

    path: list[str | int]
    message: str

    def dotted(self) -> str:
        """Return the path in Xero's style, e.g. ``Invoices[0].LineItems[1].Quantity``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out


class XeroSpec:
    """The Xero accounting OpenAPI document and validators for its component schemas."""

    def __init__(self, accounting: dict[str, Any], identity: dict[str, Any]) -> None:
        from jsonschema import Draft4Validator, FormatChecker
        from referencing import Registry
        from referencing.jsonschema import DRAFT4

        self.doc = accounting
        self.identity = identity
        self.schemas: dict[str, Any] = accounting["components"]["schemas"]
        strict = {"components": {"schemas": copy.deepcopy(self.schemas)}}
        _prepare_xero(strict["components"]["schemas"], closed=True)
        lenient = {"components": {"schemas": copy.deepcopy(self.schemas)}}
        _prepare_xero(lenient["components"]["schemas"], closed=False)
        self._registry = (
            Registry()
            .with_resource("urn:xero:strict", DRAFT4.create_resource(strict))
            .with_resource("urn:xero:lenient", DRAFT4.create_resource(lenient))
        )
        self._checker = FormatChecker(formats=())
        self._checker.checks("uuid")(_is_uuid)
        self._checker.checks("xero-date")(
            lambda v: not isinstance(v, str) or bool(_XERO_DATE.match(v))
        )
        self._validator_cls = Draft4Validator
        self._validators: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()

    def validator(self, schema_name: str, strict: bool = True) -> Any:
        """Return a cached validator for ``#/components/schemas/<schema_name>``."""
        key = (schema_name, strict)
        with self._lock:
            if key not in self._validators:
                base = "urn:xero:strict" if strict else "urn:xero:lenient"
                self._validators[key] = self._validator_cls(
                    {"$ref": f"{base}#/components/schemas/{schema_name}"},
                    registry=self._registry,
                    format_checker=self._checker,
                )
            return self._validators[key]

    def request_schema_name(self, path: str, method: str) -> str:
        """Return the component schema name of an operation's JSON request body."""
        op = self.doc["paths"][path][method.lower()]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[-1]

    def request_example(self, path: str, method: str) -> Any:
        """Return the spec's own request example for an operation (parsed if it is a string)."""
        import json

        op = self.doc["paths"][path][method.lower()]
        example = op["requestBody"]["content"]["application/json"].get("example")
        return json.loads(example) if isinstance(example, str) else copy.deepcopy(example)

    def problems(self, schema_name: str, instance: Any, strict: bool = True) -> list[XeroProblem]:
        """Validate ``instance``; return problems sorted by path."""
        found = []
        for error in self.validator(schema_name, strict).iter_errors(instance):
            found.append(XeroProblem(list(error.absolute_path), _xero_message(error)))
        return sorted(found, key=lambda p: [str(x) for x in p.path])

    def properties(self, schema_name: str) -> dict[str, Any]:
        """Return the declared properties of a component schema."""
        return self.schemas[schema_name].get("properties", {})

    def read_only(self, schema_name: str) -> set[str]:
        """Return the names of readOnly properties of a component schema."""
        return {k for k, v in self.properties(schema_name).items() if v.get("readOnly") is True}


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _prepare_xero(schemas: dict[str, Any], closed: bool) -> None:
    """Adapt OAS 3.0 schema objects for jsonschema's draft-4 validator, in place."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("nullable") is True and "type" in node:
                node["type"] = [node["type"], "null"]
            # Xero dates ("x-is-msdate") accept ISO dates or the WCF "/Date(ms)/" form.
            if node.get("x-is-msdate") is True:
                node["format"] = "xero-date"
            # README caveat: boolean fields carry string defaults/examples ("false"); they are
            # annotations only, drop them so nothing ever treats them as data.
            if node.get("type") == "boolean":
                node.pop("default", None)
                node.pop("example", None)
            # The spec declares no additionalProperties; Xero silently ignores unknown members,
            # which hides typos in our payloads. The strict copy closes every object schema.
            if closed and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schemas)


def _xero_message(error: Any) -> str:
    path = XeroProblem(list(error.absolute_path), "").dotted() or "(body)"
    if error.validator == "additionalProperties":
        return f"{path}: {error.message} (not a property of this object in xero_accounting.yaml)"
    if error.validator == "format" and error.validator_value == "xero-date":
        return f"{path}: {error.instance!r} is not a valid date (use YYYY-MM-DD)"
    return f"{path}: {error.message}"


@functools.cache
def xero_spec() -> XeroSpec:
    """Load the Xero OpenAPI documents once (lenient YAML load, no strict spec validation)."""
    import yaml

    root = require_specs()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(root / "xero" / "xero_accounting.yaml", encoding="utf-8") as fh:
        accounting = yaml.load(fh, Loader=loader)  # noqa: S506 - SafeLoader/CSafeLoader
    with open(root / "xero" / "xero-identity.yaml", encoding="utf-8") as fh:
        identity = yaml.load(fh, Loader=loader)  # noqa: S506 - SafeLoader/CSafeLoader
    return XeroSpec(accounting, identity)


# ============================================================================================
# QuickBooks Online: XSD complex types -> JSON entity validator
# ============================================================================================

_XS = "{http://www.w3.org/2001/XMLSchema}"
_QBO_FILES = ("IntuitRestServiceDef.xsd",)  # includes Finance, Report, IntuitBaseTypes, ...


@dataclass
class XsdField:
    """An element (or attribute) of a complex type as it appears in JSON."""

    name: str
    type: str
    repeated: bool = False
    choice: int | None = None
    required: bool = False


@dataclass
class XsdComplex:
    """A complex type: fields in document order, simple content, wildcard."""

    name: str
    base: str | None = None
    own: list[XsdField] = field(default_factory=list)
    simple_value: str | None = None
    wildcard: bool = False
    abstract: bool = False
    fields: dict[str, XsdField] = field(default_factory=dict)


@dataclass
class XsdSimple:
    """A simple type reduced to its built-in base plus optional enumeration."""

    name: str
    base: str
    enum: tuple[str, ...] | None = None


@dataclass
class QboProblem:
    """One validation failure, rendered later as a QBO ``Fault.Error`` item."""

    code: str
    message: str
    detail: str
    element: str = ""

    def as_error(self) -> dict[str, str]:
        """Return the JSON ``Error`` object (API-NOTES 1.6 field names)."""
        return {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }


# Codes: 2010/2020/2500/6240/6070 are recalled from Intuit's error-code list, not in API-NOTES;
# 610 and 5010 are listed in API-NOTES 1.6.
INVALID_PROPERTY = "2010"
REQUIRED_MISSING = "2020"


def unsupported(path: str, why: str) -> QboProblem:
    """Build the 2010 problem QBO reports for an unknown field or a badly typed value."""
    return QboProblem(
        INVALID_PROPERTY,
        "Request has invalid or unsupported property",
        f"Property Name:{path} specified is unsupported or invalid ({why})",
        path,
    )


def missing(path: str) -> QboProblem:
    """Build the 2020 problem QBO reports for a missing required field."""
    return QboProblem(
        REQUIRED_MISSING,
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {path} is missing in the request",
        path,
    )


# API-NOTES 1.3 lists which line DetailTypes each transaction accepts.
LINE_TYPES = {
    "Bill": {"AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail"},
    "PurchaseOrder": {"AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail"},
    "Invoice": {
        "SalesItemLineDetail",
        "GroupLineDetail",
        "DescriptionOnly",
        "DiscountLineDetail",
        "SubTotalLineDetail",
    },
}
NO_AMOUNT_LINES = {"DescriptionOnly", "SubTotalLineDetail", "GroupLineDetail"}
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")


def required_problems(name: str, body: dict[str, Any]) -> list[QboProblem]:
    """Return Intuit's documented required-field violations (API-NOTES 1.3; XSD says optional)."""
    out: list[QboProblem] = []

    def need(*keys: str) -> None:
        for key in keys:
            if body.get(key) in (None, "", []):
                out.append(missing(f"{name}.{key}"))

    if name == "Bill":
        need("VendorRef", "Line")
    elif name == "Invoice":
        need("CustomerRef", "Line")
    elif name == "PurchaseOrder":
        need("APAccountRef", "VendorRef", "Line")
    elif name == "Payment":
        need("CustomerRef", "TotalAmt")
    elif name == "BillPayment":
        need("VendorRef", "PayType", "TotalAmt", "Line")
        pay_type = body.get("PayType")
        if pay_type == "Check" and not (body.get("CheckPayment") or {}).get("BankAccountRef"):
            out.append(missing("BillPayment.CheckPayment.BankAccountRef"))
        if pay_type == "CreditCard" and not (body.get("CreditCardPayment") or {}).get(
            "CCAccountRef"
        ):
            out.append(missing("BillPayment.CreditCardPayment.CCAccountRef"))
    elif name in ("Customer", "Vendor"):
        if not body.get("DisplayName") and not any(body.get(p) for p in NAME_PARTS):
            out.append(missing(f"{name}.DisplayName"))
    elif name == "Item":
        need("Name", "Type")
        item_type = body.get("Type")
        if item_type in ("Service", "NonInventory") and not (
            body.get("IncomeAccountRef") or body.get("ExpenseAccountRef")
        ):
            out.append(missing("Item.IncomeAccountRef"))
        if item_type == "Inventory":
            need("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef", "InvStartDate")
            need("QtyOnHand")
            if body.get("TrackQtyOnHand") is not True:
                out.append(unsupported("Item.TrackQtyOnHand", "must be true for Inventory items"))
        if len(str(body.get("Name", ""))) > 100 or re.search(r"[:\t\n]", str(body.get("Name", ""))):
            # API-NOTES 1.3: Name <= 100 chars, no colon/tab/newline (2050 = string length).
            out.append(
                QboProblem(
                    "2050",
                    "String length is either shorter or longer than supported by specification",
                    "Item.Name must be 1-100 characters without : or tab/newline",
                    "Item.Name",
                )
            )
    elif name == "Account":
        need("Name")
        if not body.get("AccountType") and not body.get("AccountSubType"):
            out.append(missing("Account.AccountType"))
    out.extend(_line_problems(name, body.get("Line")))
    return out


def _line_problems(name: str, lines: Any) -> list[QboProblem]:
    out: list[QboProblem] = []
    if not isinstance(lines, list):
        return out
    allowed = LINE_TYPES.get(name)
    for i, line in enumerate(lines):
        path = f"{name}.Line[{i}]"
        if name in ("Payment", "BillPayment"):
            if "Amount" not in line:
                out.append(missing(f"{path}.Amount"))
            if not line.get("LinkedTxn"):
                out.append(missing(f"{path}.LinkedTxn"))
            continue
        detail_type = line.get("DetailType")
        if detail_type is None:
            out.append(missing(f"{path}.DetailType"))
            continue
        if allowed is not None and detail_type not in allowed:
            out.append(unsupported(f"{path}.DetailType", f"{detail_type} is not valid on a {name}"))
            continue
        element = "DescriptionLineDetail" if detail_type == "DescriptionOnly" else detail_type
        present = [k for k in line if k.endswith("LineDetail") and k != "DetailType"]
        for other in present:
            if other != element:
                out.append(
                    unsupported(f"{path}.{other}", f"does not match DetailType {detail_type}")
                )
        needs_detail = detail_type not in ("DescriptionOnly", "SubTotalLineDetail")
        if needs_detail and element not in line:
            out.append(missing(f"{path}.{element}"))
        if detail_type not in NO_AMOUNT_LINES and "Amount" not in line:
            out.append(missing(f"{path}.Amount"))
        detail = line.get(element) or {}
        if detail_type == "AccountBasedExpenseLineDetail" and "AccountRef" not in detail:
            out.append(missing(f"{path}.{element}.AccountRef"))
        if detail_type == "ItemBasedExpenseLineDetail" and "ItemRef" not in detail:
            out.append(missing(f"{path}.{element}.ItemRef"))
    return out


class QboSchema:
    """Intuit's v3 XSDs as a JSON validator: unknown fields, types, enums, references."""

    def __init__(self, root: Path) -> None:
        self.complex: dict[str, XsdComplex] = {}
        self.simple: dict[str, XsdSimple] = {}
        self.elements: dict[str, tuple[str, bool, str | None]] = {}  # name -> type, abstract, sg
        self._choice_ids = 0
        self._groups: dict[str, ET.Element] = {}
        seen: set[Path] = set()
        for name in _QBO_FILES:
            self._load(root / name, seen)
        for ctype in self.complex.values():
            self._flatten(ctype, set())
        #: Entity names usable on ``/v3/company/{realm}/{entity}`` (substitutionGroup members).
        self.entities = sorted(n for n, (_, _, sg) in self.elements.items() if sg == "IntuitObject")

    # -- loading ------------------------------------------------------------------------
    def _load(self, path: Path, seen: set[Path]) -> None:
        if path in seen:
            return
        seen.add(path)
        tree = ET.parse(path)  # noqa: S314 - trusted local spec file
        schema = tree.getroot()
        for inc in schema.findall(f"{_XS}include"):
            self._load(path.parent / inc.attrib["schemaLocation"], seen)
        for node in schema:
            tag = node.tag.replace(_XS, "")
            name = node.attrib.get("name")
            if tag == "simpleType" and name:
                self._simple(name, node)
            elif tag == "complexType" and name:
                self._complex(name, node)
            elif tag == "group" and name:
                self._groups[name] = node
            elif tag == "element" and name:
                etype = node.attrib.get("type")
                if etype is None:
                    etype = self._inline(name, node)
                self.elements[name] = (
                    _local(etype),
                    node.attrib.get("abstract") == "true",
                    node.attrib.get("substitutionGroup"),
                )

    def _simple(self, name: str, node: ET.Element) -> None:
        restriction = node.find(f"{_XS}restriction")
        if restriction is None:  # list/union are not used by these XSDs
            self.simple[name] = XsdSimple(name, "xs:string")
            return
        enums = tuple(e.attrib["value"] for e in restriction.findall(f"{_XS}enumeration"))
        self.simple[name] = XsdSimple(name, restriction.attrib["base"], enums or None)

    def _complex(self, name: str, node: ET.Element) -> None:
        ctype = XsdComplex(name, abstract=node.attrib.get("abstract") == "true")
        self.complex[name] = ctype
        content = node
        for kind in ("complexContent", "simpleContent"):
            wrapper = node.find(f"{_XS}{kind}")
            if wrapper is None:
                continue
            ext = wrapper.find(f"{_XS}extension")
            if ext is None:
                ext = wrapper.find(f"{_XS}restriction")
            assert ext is not None
            base = _local(ext.attrib["base"])
            if kind == "simpleContent":
                ctype.simple_value = base
            elif not base.startswith("xs:"):
                ctype.base = base
            content = ext
        self._particles(ctype, content, repeated=False, choice=None, required=True)
        for attr in content.findall(f"{_XS}attribute"):
            ctype.own.append(
                XsdField(
                    attr.attrib["name"],
                    _local(attr.attrib.get("type", "xs:string")),
                    required=attr.attrib.get("use") == "required",
                )
            )

    def _inline(self, owner: str, node: ET.Element) -> str:
        synthetic = f"{owner}#inline"
        inline_complex = node.find(f"{_XS}complexType")
        inline_simple = node.find(f"{_XS}simpleType")
        if inline_complex is not None:
            self._complex(synthetic, inline_complex)
        elif inline_simple is not None:
            self._simple(synthetic, inline_simple)
        else:
            return "xs:anyType"
        return synthetic

    def _particles(
        self,
        ctype: XsdComplex,
        node: ET.Element,
        repeated: bool,
        choice: int | None,
        required: bool,
    ) -> None:
        for child in node:
            tag = child.tag.replace(_XS, "")
            many = repeated or child.attrib.get("maxOccurs", "1") != "1"
            needed = required and child.attrib.get("minOccurs", "1") != "0"
            if tag == "sequence":
                self._particles(ctype, child, many, choice, needed)
            elif tag == "choice":
                self._choice_ids += 1
                # A single-occurrence choice means "exactly one of"; repeated ones do not.
                cid = None if many else self._choice_ids
                self._particles(ctype, child, many, cid, False)
            elif tag == "group":
                group = self._groups[_local(child.attrib["ref"])]
                self._particles(ctype, group, many, choice, needed)
            elif tag == "any":
                ctype.wildcard = True
            elif tag == "element":
                self._element(ctype, child, many, choice, needed)

    def _element(
        self, ctype: XsdComplex, node: ET.Element, many: bool, choice: int | None, needed: bool
    ) -> None:
        if "ref" in node.attrib:
            # Resolved after loading: an abstract head expands to its substitution group.
            ref = _local(node.attrib["ref"])
            ctype.own.append(XsdField(ref, f"@ref:{ref}", many, choice, needed))
            return
        name = node.attrib["name"]
        etype = node.attrib.get("type")
        if etype is None:
            etype = self._inline(f"{ctype.name}.{name}", node)
        ctype.own.append(XsdField(name, _local(etype), many, choice, needed))

    def _flatten(self, ctype: XsdComplex, stack: set[str]) -> dict[str, XsdField]:
        if ctype.fields:
            return ctype.fields
        fields: dict[str, XsdField] = {}
        if ctype.base and ctype.base in self.complex and ctype.base not in stack:
            fields.update(self._flatten(self.complex[ctype.base], stack | {ctype.name}))
            if self.complex[ctype.base].wildcard:
                ctype.wildcard = True
        for fld in ctype.own:
            if fld.type.startswith("@ref:"):
                ref = fld.type[5:]
                etype, abstract, _ = self.elements[ref]
                if abstract:
                    self._choice_ids += 1
                    for member, (mtype, _, sg) in self.elements.items():
                        if sg == ref:
                            fields[member] = XsdField(member, mtype, fld.repeated, self._choice_ids)
                    continue
                fld = XsdField(ref, etype, fld.repeated, fld.choice, fld.required)
            fields[fld.name] = fld
        ctype.fields = fields
        return fields

    # -- validation ---------------------------------------------------------------------
    def validate_entity(self, name: str, body: Any) -> list[QboProblem]:
        """Check an entity body: XSD structure first, then Intuit's required fields."""
        return self.validate(name, body) or required_problems(name, body)

    def validate(self, type_name: str, value: Any, path: str = "") -> list[QboProblem]:
        """Check a JSON value against an XSD type; return every problem found."""
        problems: list[QboProblem] = []
        self._check(type_name, value, path or type_name, problems)
        return problems

    def field_names(self, type_name: str) -> list[str]:
        """Return the JSON field names of a complex type, inherited ones included."""
        return list(self.complex[type_name].fields)

    def _check(self, type_name: str, value: Any, path: str, out: list[QboProblem]) -> None:
        ctype = self.complex.get(type_name)
        if ctype is None:
            self._check_simple(type_name, value, path, out)
            return
        if ctype.simple_value is not None and not isinstance(value, dict):
            out.append(
                unsupported(path, f'expected an object like {{"value": ...}} for {type_name}')
            )
            return
        if not isinstance(value, dict):
            out.append(unsupported(path, f"expected an object ({type_name})"))
            return
        chosen: dict[int, str] = {}
        for key, item in value.items():
            sub = f"{path}.{key}"
            if ctype.simple_value is not None and key == "value":
                self._check_simple(ctype.simple_value, item, sub, out)
                continue
            fld = ctype.fields.get(key)
            if fld is None:
                if not ctype.wildcard:
                    out.append(unsupported(sub, f"unrecognized field, not in XSD type {type_name}"))
                continue
            if fld.choice is not None:
                if fld.choice in chosen:
                    out.append(
                        unsupported(sub, f"only one of {chosen[fld.choice]} / {key} is allowed")
                    )
                chosen[fld.choice] = key
            if fld.repeated:
                if not isinstance(item, list):
                    out.append(unsupported(sub, "expected a JSON array (maxOccurs=unbounded)"))
                    continue
                for i, element in enumerate(item):
                    self._check(fld.type, element, f"{sub}[{i}]", out)
            elif isinstance(item, list):
                out.append(unsupported(sub, "expected a single value, got an array"))
            else:
                self._check(fld.type, item, sub, out)
        if ctype.simple_value is not None and "value" not in value:
            out.append(missing(f"{path}.value"))
        for name, fld in ctype.fields.items():
            if fld.required and name not in value:  # minOccurs defaults to 1 in XSD
                out.append(missing(f"{path}.{name}"))

    def _check_simple(self, type_name: str, value: Any, path: str, out: list[QboProblem]) -> None:
        enum: tuple[str, ...] | None = None
        base = type_name
        while not base.startswith("xs:"):
            simple = self.simple.get(base)
            if simple is None:
                out.append(unsupported(path, f"unknown XSD type {base}"))
                return
            enum = enum or simple.enum
            base = _local(simple.base)
        why = _builtin_mismatch(base, value)
        if why:
            out.append(unsupported(path, why))
        elif enum is not None and value not in enum:
            out.append(unsupported(path, f"{value!r} is not one of {type_name}: {', '.join(enum)}"))


def _local(qname: str) -> str:
    if qname.startswith("xs:"):
        return qname
    return qname.split(":", 1)[-1]


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def _builtin_mismatch(base: str, value: Any) -> str | None:
    """Return why ``value`` is not a JSON rendering of XSD built-in ``base`` (None if it is)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if base in ("xs:string", "xs:anyURI", "xs:anyType"):
        return None if isinstance(value, str) else f"expected a string, got {value!r}"
    if base == "xs:boolean":
        return None if isinstance(value, bool) else f"expected true/false, got {value!r}"
    if base in ("xs:decimal", "xs:double", "xs:float"):
        return None if number else f"expected a decimal number, got {value!r}"
    if base in ("xs:int", "xs:integer", "xs:long", "xs:positiveInteger"):
        if not isinstance(value, int) or isinstance(value, bool):
            return f"expected an integer, got {value!r}"
        if base == "xs:positiveInteger" and value < 1:
            return f"expected a positive integer, got {value!r}"
        if base == "xs:int" and not -(2**31) <= value < 2**31:
            return f"{value!r} is out of range for xs:int"
        return None
    if base == "xs:date":
        if isinstance(value, str) and _DATE.match(value):
            try:
                date.fromisoformat(value)
                return None
            except ValueError:
                pass
        return f"expected a date YYYY-MM-DD, got {value!r}"
    if base == "xs:dateTime":
        if isinstance(value, str) and _DATETIME.match(value):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                return None
            except ValueError:
                pass
        return f"expected an ISO 8601 dateTime, got {value!r}"
    return None  # other built-ins (base64Binary, ...) are not used by the entities we push


@functools.cache
def qbo_schema() -> QboSchema:
    """Parse Intuit's XSDs once."""
    return QboSchema(require_specs() / "quickbooks")
