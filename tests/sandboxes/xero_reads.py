"""Xero sandbox reads: GET on a collection (paging, where, If-Modified-Since)."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from flask import request

from .xero_base import (
    Collection,
    Tenant,
    XeroApiError,
    render,
)


class XeroReads:
    """GET on a collection or a record of a ``XeroSandbox`` (a mixin)."""

    # -- reads --------------------------------------------------------------------------
    def read(self, tenant: Tenant, coll: Collection, item_id: str | None) -> dict[str, Any]:
        """Answer GET on a collection or one record; raise ``XeroApiError`` on problems."""
        with self._lock:
            rows = list(tenant.ledger[coll.name].values())
            if item_id is not None:
                found = tenant.ledger[coll.name].get(item_id)
                if found is None and coll.number_field:
                    found = self._find(tenant, coll.name, coll.number_field, item_id)
                if found is None:
                    raise XeroApiError(
                        404,
                        {
                            "Type": "NotFoundException",
                            "Message": "The resource you're looking for cannot be found",
                        },
                    )
                return self.envelope(coll.name, [render(copy.deepcopy(found))])
            rows = copy.deepcopy(rows)
        since = request.headers.get("If-Modified-Since")
        if since:
            threshold = _parse_since(since)
            rows = [r for r in rows if r.get("UpdatedDateUTC", 0) > threshold]
        ids = request.args.get("IDs")
        if ids:
            wanted = {s.strip().lower() for s in ids.split(",")}
            rows = [r for r in rows if str(r.get(coll.id_field, "")).lower() in wanted]
        numbers = request.args.get("InvoiceNumbers")
        if numbers and coll.name == "Invoices":
            wanted = {s.strip().casefold() for s in numbers.split(",")}
            rows = [r for r in rows if str(r.get("InvoiceNumber", "")).casefold() in wanted]
        contact_ids = request.args.get("ContactIDs")
        if contact_ids and coll.name == "Invoices":
            wanted = {s.strip().lower() for s in contact_ids.split(",")}
            rows = [
                r
                for r in rows
                if str((r.get("Contact") or {}).get("ContactID", "")).lower() in wanted
            ]
        statuses = request.args.get("Statuses")
        if statuses:
            wanted = {s.strip().upper() for s in statuses.split(",")}
            rows = [r for r in rows if r.get("Status") in wanted]
        where = request.args.get("where")
        if where:
            try:
                predicate = parse_where(where)
            except WhereError as exc:
                raise XeroApiError(
                    400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}
                ) from exc
            rows = [r for r in rows if predicate(r)]
        rows.sort(key=lambda r: r.get("UpdatedDateUTC", 0))
        extra: dict[str, Any] = {}
        if "page" in request.args:
            # API-NOTES 2.1: up to 100 records per page (pageSize param may change it).
            page = max(1, int(request.args.get("page", "1") or 1))
            size = min(1000, max(1, int(request.args.get("pageSize", "100") or 100)))
            extra["pagination"] = {
                "page": page,
                "pageSize": size,
                "pageCount": max(1, -(-len(rows) // size)),
                "itemCount": len(rows),
            }
            rows = rows[(page - 1) * size : page * size]
        return self.envelope(coll.name, [render(r) for r in rows], **extra)


def _parse_since(value: str) -> float:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        pass
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# -- where filter: Field == "x" AND Other.Sub == Guid("...") AND Date >= DateTime(2026,1,1) ---


class WhereError(Exception):
    """A ``where`` expression the sandbox cannot parse."""


_WHERE_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>==|!=|>=|<=|>|<|&&|\|\|)|(?P<punct>[(),])'
    r"|(?P<num>-?\d+(\.\d+)?)|(?P<word>[A-Za-z_][\w.]*)|(?P<bad>\S))"
)


def parse_where(text: str) -> Any:
    """Parse Xero's filter subset: comparisons, Contains/StartsWith, joined by AND / OR."""
    toks = []
    for match in _WHERE_TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "bad":
            raise WhereError(f"unexpected {match.group(kind)!r} in where")
        if kind:
            toks.append((kind, match.group(kind)))
    pos = 0

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise WhereError("unexpected end of where expression")
        pos += 1
        return toks[pos - 1]

    def literal() -> Any:
        kind, value = take()
        if kind == "str":
            return json.loads(value)
        if kind == "num":
            return float(value)
        if kind == "word" and value.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[value.lower()]
        if kind == "word" and value in ("Guid", "DateTime"):
            if take() != ("punct", "("):
                raise WhereError(f"expected ( after {value}")
            args = [literal()]
            while toks[pos] == ("punct", ","):
                take()
                args.append(literal())
            if take() != ("punct", ")"):
                raise WhereError("expected )")
            if value == "Guid":
                return str(args[0]).lower()
            return datetime(*[int(a) for a in args], tzinfo=UTC)  # type: ignore[misc]
        raise WhereError(f"expected a value, found {value!r}")

    def condition() -> Any:
        kind, path = take()
        if kind != "word":
            raise WhereError(f"expected a field name, found {path!r}")
        for method in ("Contains", "StartsWith", "EndsWith"):
            if path.endswith(f".{method}"):
                field_path = path[: -len(method) - 1]
                if take() != ("punct", "("):
                    raise WhereError(f"expected ( after {method}")
                needle = str(literal())
                if take() != ("punct", ")"):
                    raise WhereError("expected )")
                test = {
                    "Contains": str.__contains__,
                    "StartsWith": str.startswith,
                    "EndsWith": str.endswith,
                }[method]
                return lambda r: test(str(_field(r, field_path) or ""), needle)
        kind, op = take()
        if kind != "op" or op in ("&&", "||"):
            raise WhereError(f"expected a comparison after {path}, found {op!r}")
        expected = literal()
        return lambda r: _where_compare(_field(r, path), op, expected)

    # AND binds tighter than OR, as in C# (Xero's filters are .NET expressions).
    groups = [[condition()]]
    while pos < len(toks):
        kind, value = take()
        if value == "&&" or value.upper() == "AND":
            groups[-1].append(condition())
        elif value == "||" or value.upper() == "OR":
            groups.append([condition()])
        else:
            raise WhereError(f"expected AND or OR between conditions, found {value!r}")
    return lambda r: any(all(c(r) for c in group) for group in groups)


def _contact_id(record: dict[str, Any]) -> str:
    return str((record.get("Contact") or {}).get("ContactID", "")).lower()


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(key) if key else None
    return value


def _where_compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, datetime):
        if isinstance(actual, int | float):
            actual = datetime.fromtimestamp(actual, UTC)
        elif isinstance(actual, str):
            try:
                actual = datetime.combine(date.fromisoformat(actual[:10]), datetime.min.time(), UTC)
            except ValueError:
                return False
        else:
            return False
    elif isinstance(expected, str) and isinstance(actual, str):
        actual, expected = actual.lower(), expected.lower()
    try:
        return {
            "==": actual == expected,
            "!=": actual != expected,
            ">": actual > expected,
            ">=": actual >= expected,
            "<": actual < expected,
            "<=": actual <= expected,
        }[op]
    except TypeError:
        return False
