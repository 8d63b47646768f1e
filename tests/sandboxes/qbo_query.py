"""QuickBooks Online sandbox reads: the query language subset and Change Data Capture."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .qbo_base import CDC_MAX_OBJECTS, QboFault, id_key
from .specs import (
    missing,
    unsupported,
)


class QboReads:
    """``GET /cdc`` and ``GET /query`` over a ``QboSandbox``'s ledgers (a mixin)."""

    # -- change data capture ------------------------------------------------------------
    def cdc(self, realm: str, entities: str, changed_since: str) -> dict[str, Any]:
        """Answer ``GET /cdc?entities=..&changedSince=..`` (IntuitRestServiceDef.xsd CDCQuery).

        One ``QueryResponse`` per entity asked for, holding what was created, updated or
        deleted after ``changedSince`` (deleted ones as ``status: Deleted`` stubs). Intuit's
        CDC page: "CDC operations can track changes within the last 30 days" and "Server
        responses can handle a maximum of 1,000 objects" — one cap for the whole answer, over
        every entity asked for; what is over it is left out, the oldest changes kept
        (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture).
        """
        names = [n.strip() for n in (entities or "").split(",") if n.strip()]
        if not names:
            raise QboFault([missing("entities")])
        unknown = [n for n in names if n not in self.schema.entities]
        if unknown:
            raise QboFault([unsupported("entities", f"unknown entity {unknown[0]}")])
        if not changed_since:
            raise QboFault([missing("changedSince")])
        try:
            since = datetime.fromisoformat(changed_since)
        except ValueError:
            raise QboFault([unsupported("changedSince", "not an ISO 8601 date-time")]) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        if since < self.clock.utcnow() - timedelta(days=30):
            raise QboFault(
                [unsupported("changedSince", "changedSince must be within the last 30 days")]
            )

        def changed(row: dict[str, Any]) -> bool:
            stamp = datetime.fromisoformat(row["MetaData"]["LastUpdatedTime"])
            return stamp >= since

        with self._lock:
            rows = [
                (name, copy.deepcopy(e))
                for name in names
                for e in self.ledgers[realm].get(name, {}).values()
            ]
            rows += [(kind, copy.deepcopy(stub)) for kind, stub in self._deleted[realm]]
        kept = sorted(
            ((n, r) for n, r in rows if n in names and "MetaData" in r and changed(r)),
            key=lambda pair: pair[1]["MetaData"]["LastUpdatedTime"],
        )[:CDC_MAX_OBJECTS]
        responses = []
        for name in names:
            found = [r for n, r in kept if n == name]
            block = {name: found, "startPosition": 1, "maxResults": len(found)} if found else {}
            responses.append({"QueryResponse": [block]})
        return {"CDCResponse": responses, "time": self.now_iso()}

    # -- query --------------------------------------------------------------------------
    def query(self, realm: str, text: str) -> dict[str, Any]:
        """Run a QBO query statement; return the ``QueryResponse`` object."""
        parsed = parse_query(text, self.schema.entities)
        with self._lock:
            rows = [copy.deepcopy(e) for e in self.ledgers[realm].get(parsed.entity, {}).values()]
        rows = [row for row in rows if all(cond(row) for cond in parsed.conditions)]
        if parsed.count:
            return {"totalCount": len(rows)}
        rows.sort(key=lambda r: id_key(r.get("Id", "")))
        for field_name, descending in reversed(parsed.order):
            rows.sort(key=lambda r, f=field_name: _sort_key(_lookup(r, f)), reverse=descending)
        page = rows[parsed.start - 1 : parsed.start - 1 + parsed.max_results]
        if parsed.fields is not None:
            page = [
                {"domain": "QBO", "sparse": True, **{f: r[f] for f in parsed.fields if f in r}}
                for r in page
            ]
        if not page:
            return {}  # QBO answers an empty QueryResponse object when nothing matches
        return {parsed.entity: page, "startPosition": parsed.start, "maxResults": len(page)}


# ============================================================================================
# Query language subset: select */count(*)/fields from X [where a = 'b' and ...]
#   [orderby f [asc|desc], ...] [startposition n] [maxresults n]
# ============================================================================================

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<word>[\w.]+)|(?P<bad>\S))"
)


class QueryError(Exception):
    """A statement the sandbox (and QBO's parser) does not accept."""


@dataclass
class ParsedQuery:
    """A parsed select statement."""

    entity: str
    fields: list[str] | None
    count: bool
    conditions: list[Callable[[dict[str, Any]], bool]]
    order: list[tuple[str, bool]]
    start: int
    max_results: int


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            break
        kind = match.lastgroup or "bad"
        if kind == "bad":
            raise QueryError(f"unexpected character {match.group(kind)!r}")
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse_query(text: str, entities: list[str]) -> ParsedQuery:
    """Parse the subset of QBO's query language that look-ups need."""
    toks = _tokens(text)
    pos = 0

    def peek(offset: int = 0) -> tuple[str, str]:
        return toks[pos + offset] if pos + offset < len(toks) else ("eof", "")

    def take(kind: str | None = None, word: str | None = None) -> str:
        nonlocal pos
        tok_kind, value = peek()
        if (kind and tok_kind != kind) or (word and value.lower() != word):
            raise QueryError(f"expected {word or kind}, found {value or 'end of statement'!r}")
        pos += 1
        return value

    take("word", "select")
    fields: list[str] | None = None
    count = False
    if peek() == ("punct", "*"):
        take()
    elif peek()[1].lower() == "count" and peek(1) == ("punct", "("):
        take(), take(), take("punct"), take("punct")
        count = True
    else:
        fields = [take("word")]
        while peek() == ("punct", ","):
            take()
            fields.append(take("word"))
    take("word", "from")
    raw_entity = take("word")
    lookup = {e.lower(): e for e in entities}
    entity = lookup.get(raw_entity.lower())
    if entity is None:
        raise QueryError(f"unknown entity {raw_entity}")
    conditions: list[Callable[[dict[str, Any]], bool]] = []
    order: list[tuple[str, bool]] = []
    start, max_results = 1, 100  # QBO defaults: STARTPOSITION 1, MAXRESULTS 100 (recalled)
    if peek()[1].lower() == "where":
        take()
        conditions.append(_condition(take, peek))
        while peek()[1].lower() == "and":
            take()
            conditions.append(_condition(take, peek))
        if peek()[1].lower() == "or":
            raise QueryError("OR is not supported by the QBO query language")
    if peek()[1].lower() == "orderby" or (
        peek()[1].lower() == "order" and peek(1)[1].lower() == "by"
    ):
        if take("word").lower() == "order":
            take("word", "by")
        while True:
            field_name = take("word")
            descending = False
            if peek()[1].lower() in ("asc", "desc"):
                descending = take("word").lower() == "desc"
            order.append((field_name, descending))
            if peek() != ("punct", ","):
                break
            take()
    if peek()[1].lower() == "startposition":
        take()
        start = _positive(take("word"))
    if peek()[1].lower() == "maxresults":
        take()
        # API-NOTES 1.1: at most 1000 rows per query (unverified there); larger is clamped.
        max_results = min(_positive(take("word")), 1000)
    if peek()[0] != "eof":
        raise QueryError(f"unexpected {peek()[1]!r}")
    return ParsedQuery(entity, fields, count, conditions, order, start, max_results)


def _positive(word: str) -> int:
    if not word.isdigit() or int(word) < 1:
        raise QueryError(f"expected a positive integer, found {word!r}")
    return int(word)


def _literal(take: Callable[..., str], peek: Callable[..., tuple[str, str]]) -> Any:
    kind, value = peek()
    if kind == "str":
        take()
        # QBO escapes a single quote inside a literal with a backslash: 'Bob\'s'.
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if kind == "word":
        take()
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        try:
            return float(value)
        except ValueError as exc:
            raise QueryError(f"expected a literal, found {value!r}") from exc
    raise QueryError(f"expected a literal, found {value or 'end of statement'!r}")


def _condition(
    take: Callable[..., str], peek: Callable[..., tuple[str, str]]
) -> Callable[[dict[str, Any]], bool]:
    field_name = take("word")
    kind, op = peek()
    if kind == "op":
        take()
        literal = _literal(take, peek)
        return lambda row: _compare(_lookup(row, field_name), op, literal)
    if op.lower() == "in":
        take()
        take("punct")
        values = [_literal(take, peek)]
        while peek() == ("punct", ","):
            take()
            values.append(_literal(take, peek))
        if take("punct") != ")":
            raise QueryError("expected )")
        return lambda row: any(_compare(_lookup(row, field_name), "=", v) for v in values)
    if op.lower() == "like":
        take()
        pattern = _literal(take, peek)
        regex = re.compile(
            "^" + ".*".join(re.escape(part) for part in str(pattern).split("%")) + "$",
            re.IGNORECASE | re.DOTALL,
        )
        return lambda row: regex.match(str(_lookup(row, field_name) or "")) is not None
    raise QueryError(f"expected an operator after {field_name}, found {op!r}")


def _lookup(row: dict[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        match = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(match) if match else None
    if isinstance(value, dict) and "value" in value:
        return value["value"]  # "CustomerRef = '1'" compares the reference id
    return value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return op == "!=" and expected is not None
    if isinstance(expected, bool) or isinstance(actual, bool):
        left, right = actual, expected
    elif isinstance(expected, float) or isinstance(actual, int | float):
        try:
            left, right = float(actual), float(expected)
        except (TypeError, ValueError):
            left, right = str(actual).casefold(), str(expected).casefold()
    else:
        left, right = str(actual).casefold(), str(expected).casefold()
    try:
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[op]
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value or "").casefold())
