"""One way to list: filters, `modified_after`, a total, cursor paging and `expand`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from flask import Response, request
from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from webapp.api.problems import problem
from webapp.extensions import db
from webapp.parsing import DB_INT_MAX

MAX_LIMIT = 100


class ListArgs(Schema):
    limit = fields.Integer(
        load_default=25,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Records per page, 1–{MAX_LIMIT}."},
    )
    cursor = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "`next_cursor` of the previous page."},
    )
    modified_after = fields.AwareDateTime(
        metadata={"description": "Only records changed after this instant (ISO 8601 with zone)."}
    )
    expand = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Comma-separated nested children to include."},
    )


class GetArgs(Schema):
    expand = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Comma-separated nested children to include."},
    )


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The envelope of a list: `data`, `total` and `next_cursor`."""
    return Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
        },
        name=name,
    )


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> int:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        after = None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= DB_INT_MAX:
        raise problem(
            400,
            "The cursor is not one this API gave out.",
            errors=[{"parameter": "cursor", "detail": "not a cursor of this API"}],
        )
    return after


def expansions(raw: str | None, allowed: set[str]) -> set[str]:
    """Parse `expand`; "sections.lines" also expands "sections"."""
    wanted: set[str] = set()
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part not in allowed:
            choices = ", ".join(sorted(allowed)) or "nothing"
            raise problem(
                400,
                f"Cannot expand {part!r}; this resource expands: {choices}.",
                errors=[{"parameter": "expand", "detail": f"unknown expansion {part!r}"}],
            )
        pieces = part.split(".")
        wanted.update(".".join(pieces[: i + 1]) for i in range(len(pieces)))
    return wanted


def schema_for(schema_cls: type[Schema], expand: set[str], nested: dict[str, str]) -> Schema:
    """A schema with only the expansions asked for; `nested` maps expansion -> field name.

    Made once per request: building a marshmallow schema deep-copies its fields, which
    cost more than dumping the row when it was done per row."""
    exclude = [field for name, field in nested.items() if name not in expand]
    return schema_cls(exclude=exclude)


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def etag_of(body: dict) -> str:
    """A strong ETag over the resource's own representation (no expansions)."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f'"{digest[:32]}"'


def check_if_match(current: str) -> None:
    """412 when If-Match names another version than the current one."""
    wanted = request.headers.get("If-Match")
    if wanted is None:
        return
    tags = {tag.strip() for tag in wanted.split(",")}
    if "*" in tags or current in tags:
        return
    raise problem(
        412,
        "The record changed since you read it (If-Match does not match its ETag): "
        "read it again and retry.",
        errors=[{"header": "If-Match", "detail": f"current ETag is {current}"}],
    )


def list_page(
    query: Select,
    model,
    args: dict,
    *,
    modified_column=None,
    schema: Schema,
    prepare=None,
) -> Response:
    """Answer a list request: count the filtered rows, then one page after the cursor.

    `prepare(rows)`, when given, loads what the schema needs for the whole page at once."""
    if args.get("modified_after") is not None:
        if modified_column is None:
            raise problem(
                400,
                "This resource has no modification time; leave out modified_after.",
                errors=[{"parameter": "modified_after", "detail": "not supported here"}],
            )
        instant = args["modified_after"]
        query = query.where(
            modified_column(instant) if callable(modified_column) else modified_column > instant
        )
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    if args.get("cursor"):
        query = query.where(model.id > decode_cursor(args["cursor"]))
    limit = args["limit"]
    rows = db.session.scalars(query.order_by(model.id).limit(limit + 1)).unique().all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    if prepare is not None:
        prepare(page)
    return json_response(
        {"data": schema.dump(page, many=True), "total": total, "next_cursor": next_cursor}
    )
