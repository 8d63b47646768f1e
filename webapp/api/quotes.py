"""Quotes with their sections and lines; writes go through the webapp.quotes operations."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.api.common import not_found
from webapp.api.idempotency import HEADER_DOC, idempotent
from webapp.api.listing import (
    GetArgs,
    ListArgs,
    check_if_match,
    etag_of,
    expansions,
    json_response,
    list_page,
    page_schema,
)
from webapp.api.problems import ApiProblem, problem
from webapp.api.schemas.common import ReasonSchema
from webapp.api.schemas.quotes import (
    QuoteCreateSchema,
    QuoteLineCreateSchema,
    QuoteLineSchema,
    QuoteLineUpdateSchema,
    QuoteSchema,
    QuoteSectionCreateSchema,
    QuoteSectionRowSchema,
    QuoteSectionUpdateSchema,
    QuoteUpdateSchema,
)
from webapp.api.security import acting_user, organization_limit, requires
from webapp.auth.models import User
from webapp.catalog.models import Product, ProductType
from webapp.extensions import db
from webapp.organizations.models import Organization
from webapp.parsing import DB_INT_MAX
from webapp.quotes import building, errors, lifecycle, sending
from webapp.quotes.models import Quote, QuoteLine, QuoteSection, QuoteStatus, QuoteTemplate
from webapp.quotes.queries import CUSTOMER_STATUSES

blp = Blueprint("api_quotes", __name__, url_prefix="/api/v1", description="Quotes")

# OpenAPI links from a created quote to what can be done with it (schemathesis follows them).
_QUOTE_ID = {"quote_id": "$response.body#/id"}
QUOTE_LINKS = {
    "GetQuote": {"operationId": "getQuote", "parameters": _QUOTE_ID},
    "UpdateQuote": {"operationId": "updateQuote", "parameters": _QUOTE_ID},
    "AddSection": {"operationId": "addQuoteSection", "parameters": _QUOTE_ID},
    "AddLine": {
        "operationId": "addQuoteLine",
        "parameters": _QUOTE_ID,
        "requestBody": {"section_id": "$response.body#/sections/0/id"},
    },
    "SendQuote": {"operationId": "sendQuote", "parameters": _QUOTE_ID},
    "CancelQuote": {"operationId": "cancelQuote", "parameters": _QUOTE_ID},
}

IF_MATCH_DOC = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The quote's ETag as last read: a stale one gets 412 and changes nothing.",
    "schema": {"type": "string", "maxLength": 200},
}
EXPANSIONS = {"sections", "sections.lines"}


class QuoteListArgs(ListArgs):
    number = fields.String(validate=validate.Length(max=20))
    organization_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))
    status = fields.Enum(QuoteStatus, by_value=True)


def _visible_quotes():
    query = select(Quote)
    if organization_limit() is not None:
        # A customer sees what was sent to it, never drafts (as on the customer pages).
        query = query.where(
            Quote.organization_id == organization_limit(), Quote.status.in_(CUSTOMER_STATUSES)
        )
    return query


def _exclude(wanted: set[str]) -> list[str]:
    exclude = []
    if "sections" not in wanted:
        exclude.append("sections")
    elif "sections.lines" not in wanted:
        exclude.append("sections.lines")
    if organization_limit() is not None and "sections.lines" in wanted:
        exclude += ["sections.lines.unit_cost", "sections.lines.cost_confirmed"]
    return exclude


def quote_schema(wanted: set[str]) -> QuoteSchema:
    return QuoteSchema(exclude=_exclude(wanted))


def etag(quote: Quote) -> str:
    return etag_of(QuoteSchema(exclude=["sections"]).dump(quote))


def _answer(quote: Quote, status: int = 200, wanted: set[str] | None = None):
    wanted = {"sections", "sections.lines"} if wanted is None else wanted
    headers = {"ETag": etag(quote)}
    if status == 201:
        headers["Location"] = url_for("api_quotes.get_quote", quote_id=quote.id)
    return json_response(quote_schema(wanted).dump(quote), status, headers)


@blp.route("/quotes")
@requires("quotes:read")
@blp.arguments(QuoteListArgs, location="query")
@blp.response(200, page_schema(QuoteSchema, "QuotePage"))
def list_quotes(args):
    """List quotes. Scope: `quotes:read`; expand: sections, sections.lines."""
    wanted = expansions(args.get("expand"), EXPANSIONS)
    query = _visible_quotes()
    if "sections" in wanted:
        query = query.options(
            selectinload(Quote.sections).selectinload(QuoteSection.lines)
            if "sections.lines" in wanted
            else selectinload(Quote.sections)
        )
    for name in ("number", "organization_id", "status"):
        if name in args:
            query = query.where(getattr(Quote, name) == args[name])
    return list_page(
        query, Quote, args, modified_column=Quote.updated_at, schema=quote_schema(wanted)
    )


class QuoteLineListArgs(ListArgs):
    quote_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))
    section_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))


@blp.route("/quote-lines")
@requires("quotes:read")
@blp.arguments(QuoteLineListArgs, location="query")
@blp.response(200, page_schema(QuoteLineSchema, "QuoteLinePage"))
def list_quote_lines(args):
    """List quote lines (of the quotes this key sees); `modified_after` is the quote's.
    Scope: `quotes:read`."""
    expansions(args.get("expand"), set())
    visible = _visible_quotes().with_only_columns(Quote.id)
    query = select(QuoteLine).where(QuoteLine.quote_id.in_(visible))
    for name in ("quote_id", "section_id"):
        if name in args:
            query = query.where(getattr(QuoteLine, name) == args[name])
    exclude = ["unit_cost", "cost_confirmed"] if organization_limit() is not None else []
    return list_page(
        query,
        QuoteLine,
        args,
        modified_column=lambda t: QuoteLine.quote_id.in_(
            select(Quote.id).where(Quote.updated_at > t)
        ),
        schema=QuoteLineSchema(exclude=exclude),
    )


class QuoteSectionListArgs(ListArgs):
    quote_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))


@blp.route("/quote-sections")
@requires("quotes:read")
@blp.arguments(QuoteSectionListArgs, location="query")
@blp.response(200, page_schema(QuoteSectionRowSchema, "QuoteSectionPage"))
def list_quote_sections(args):
    """List quote sections (of the quotes this key sees); `modified_after` is the quote's.
    Scope: `quotes:read`; expand: lines."""
    wanted = expansions(args.get("expand"), {"lines"})
    visible = _visible_quotes().with_only_columns(Quote.id)
    query = select(QuoteSection).where(QuoteSection.quote_id.in_(visible))
    if "lines" in wanted:
        query = query.options(selectinload(QuoteSection.lines))
    if "quote_id" in args:
        query = query.where(QuoteSection.quote_id == args["quote_id"])
    exclude = [] if "lines" in wanted else ["lines"]
    if organization_limit() is not None and "lines" in wanted:
        exclude += ["lines.unit_cost", "lines.cost_confirmed"]
    return list_page(
        query,
        QuoteSection,
        args,
        modified_column=lambda t: QuoteSection.quote_id.in_(
            select(Quote.id).where(Quote.updated_at > t)
        ),
        schema=QuoteSectionRowSchema(exclude=exclude),
    )


def visible_quote(quote_id: int) -> Quote:
    """The quote this key may see, or the API's 404 (also used by quote_acceptance)."""
    quote = db.session.scalar(_visible_quotes().where(Quote.id == quote_id))
    if quote is None:
        raise not_found("quote", quote_id)
    return quote


@blp.route("/quotes/<int:quote_id>")
@requires("quotes:read")
@blp.arguments(GetArgs, location="query")
@blp.response(200, QuoteSchema, headers={"ETag": {"schema": {"type": "string"}}})
@blp.doc(operationId="getQuote")
def get_quote(args, quote_id: int):
    """One quote with an ETag for If-Match. Scope: `quotes:read`."""
    wanted = expansions(args.get("expand"), EXPANSIONS)
    return _answer(visible_quote(quote_id), wanted=wanted)


def _refusal(
    reason: str | errors.QuoteError,
    pointer: str | None = None,
    *,
    missing: list[str] | None = None,
) -> ApiProblem:
    """The one way a quote write says no: problem details naming the field, nothing written.

    `reason` is a sentence (422) or the domain's refusal (its own status); `missing` names the
    required fields that were not sent, one error each. An id in the path that names nothing
    this key sees is `not_found`'s 404, as on every API read."""
    db.session.rollback()
    status = 422
    if isinstance(reason, errors.QuoteError):
        status, reason = reason.status, reason.message
    if missing:
        fields_missing = [{"pointer": f"/{name}", "detail": "required"} for name in missing]
        return problem(status, reason, errors=fields_missing)
    return problem(status, reason, pointer=pointer)


def _write(
    action: Callable[[Quote | None], object],
    quote_id: int | None = None,
    *,
    status: int = 200,
    commit: bool = False,
):
    """Every quote write's one shape: load the quote (404) and check If-Match (412), run one
    operation on it (a domain refusal becomes a problem, nothing kept), flush, answer with it.

    Without `quote_id` the action creates the quote and returns it. `@idempotent` commits with
    the answer it keeps; `commit` is for the views without an Idempotency-Key (DELETE)."""
    quote = None
    if quote_id is not None:
        quote = visible_quote(quote_id)
        check_if_match(etag(quote))
    try:
        created = action(quote)
    except errors.QuoteError as error:
        raise _refusal(error) from None
    if quote is None:
        quote = created
    db.session.flush()
    if commit:
        db.session.commit()
    return _answer(quote, status)


def _known(model, ident: int, what: str, pointer: str):
    row = db.session.get(model, ident)
    if row is None:
        raise _refusal(f"There is no such {what}.", pointer)
    return row


def _owner(body: dict, default: User) -> User:
    if "owner_id" not in body:
        return default
    owner = db.session.get(User, body["owner_id"])
    if owner is None or not owner.is_staff:
        raise _refusal("The owner must be a staff member.", "/owner_id")
    return owner


def _new_quote(body: dict) -> Quote:
    organization = _known(Organization, body["organization_id"], "organization", "/organization_id")
    template = None
    if "template_id" in body:
        template = _known(QuoteTemplate, body["template_id"], "quote template", "/template_id")
    return building.create_quote(
        organization=organization,
        owner=_owner(body, acting_user()),
        actor=acting_user(),
        template=template,
        title=body.get("title", ""),
    )


@blp.route("/quotes", methods=["POST"])
@requires("quotes:write")
@blp.arguments(QuoteCreateSchema)
@blp.doc(parameters=[HEADER_DOC], responses={201: {"links": QUOTE_LINKS}})
@idempotent
@blp.response(201, QuoteSchema)
def create_quote(body):
    """Start a draft quote, blank or from a template. Scope: `quotes:write`."""
    return _write(lambda _: _new_quote(body), status=201)


def _change_header(quote: Quote, body: dict) -> None:
    changes = building.HeaderChanges(
        title=body.get("title", quote.title),
        owner=_owner(body, quote.owner),
        expires_on=body.get("expires_on", quote.expires_on),
        payment_method=body.get("payment_method", quote.payment_method),
        shipping_label=body.get("shipping_label", quote.shipping_label),
        shipping_charge=body.get("shipping_charge", quote.shipping_charge),
        intro=body.get("intro", quote.intro),
        terms=body.get("terms", quote.terms),
    )
    building.update_header(quote, changes, acting_user())


@blp.route("/quotes/<int:quote_id>", methods=["PATCH"])
@requires("quotes:write")
@blp.arguments(QuoteUpdateSchema)
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC], operationId="updateQuote")
@idempotent
@blp.response(200, QuoteSchema)
def update_quote(body, quote_id: int):
    """Change the quote's header (the fields sent); a sent quote becomes a new draft version,
    as on the staff page. Scope: `quotes:write`."""
    return _write(lambda q: _change_header(q, body), quote_id)


@blp.route("/quotes/<int:quote_id>/sections", methods=["POST"])
@requires("quotes:write")
@blp.arguments(QuoteSectionCreateSchema)
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC], operationId="addQuoteSection")
@idempotent
@blp.response(201, QuoteSchema)
def add_section(body, quote_id: int):
    """Add a section. Scope: `quotes:write`."""
    return _write(
        lambda q: building.add_section(q, body["title"], body["choose_one"], acting_user()),
        quote_id,
        status=201,
    )


def _path_section(quote: Quote, section_id: int) -> QuoteSection:
    try:
        return building.owned_section(quote, section_id)
    except errors.QuoteError:
        raise not_found("section", section_id) from None


def _change_section(quote: Quote, section_id: int, body: dict) -> None:
    section = _path_section(quote, section_id)
    building.update_section(
        quote,
        section,
        body.get("title", section.title),
        body.get("choose_one", section.choose_one),
        acting_user(),
    )


@blp.route("/quotes/<int:quote_id>/sections/<int:section_id>", methods=["PATCH"])
@requires("quotes:write")
@blp.arguments(QuoteSectionUpdateSchema)
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC], operationId="updateQuoteSection")
@idempotent
@blp.response(200, QuoteSchema)
def update_section(body, quote_id: int, section_id: int):
    """Change a section's title or choose-one flag (the fields sent). Scope: `quotes:write`."""
    return _write(lambda q: _change_section(q, section_id, body), quote_id)


@blp.route("/quotes/<int:quote_id>/sections/<int:section_id>", methods=["DELETE"])
@requires("quotes:write")
@blp.doc(parameters=[IF_MATCH_DOC])
@blp.response(200, QuoteSchema)
def delete_section(quote_id: int, section_id: int):
    """Remove a section with its lines (a quote keeps at least one: 422 for the last).
    Scope: `quotes:write`."""
    return _write(
        lambda q: building.remove_section(q, _path_section(q, section_id), acting_user()),
        quote_id,
        commit=True,
    )


def _section(quote: Quote, section_id: int) -> QuoteSection:
    try:
        return building.owned_section(quote, section_id)
    except errors.QuoteError as error:
        raise _refusal(error.message, "/section_id") from None


def _add_line(quote: Quote, body: dict) -> None:
    section = _section(quote, body["section_id"])
    if "product_id" in body:
        product = _known(Product, body["product_id"], "product", "/product_id")
        try:
            building.add_product_line(
                quote,
                section,
                product,
                body["quantity"],
                acting_user(),
                cost_confirmed=body.get("confirm_cost", False),
            )
        except errors.QuoteError as error:
            raise _refusal(error, "/product_id") from None
        return
    missing = [name for name in ("description", "unit_price") if name not in body]
    if missing:
        raise _refusal(
            "A line without product_id needs a description and a unit_price.", missing=missing
        )
    building.add_custom_line(
        quote,
        section,
        description=body["description"],
        product_type=body.get("product_type", ProductType.SERVICE),
        quantity=body["quantity"],
        unit_price=body["unit_price"],
        unit_cost=body.get("unit_cost"),
        sku=body.get("sku", ""),
        actor=acting_user(),
        cost_confirmed=body.get("confirm_cost", False),
    )


@blp.route("/quotes/<int:quote_id>/lines", methods=["POST"])
@requires("quotes:write")
@blp.arguments(QuoteLineCreateSchema)
@blp.doc(
    parameters=[HEADER_DOC, IF_MATCH_DOC],
    operationId="addQuoteLine",
    responses={
        201: {
            "links": {
                "ChangeLine": {
                    "operationId": "updateQuoteLine",
                    "parameters": {**_QUOTE_ID, "line_id": "$response.body#/sections/0/lines/0/id"},
                }
            }
        }
    },
)
@idempotent
@blp.response(201, QuoteSchema)
def add_line(body, quote_id: int):
    """Add a catalog product (product_id) or a free-text line. Scope: `quotes:write`."""
    return _write(lambda q: _add_line(q, body), quote_id, status=201)


def _line(quote: Quote, line_id: int):
    try:
        return building.owned_line(quote, line_id)
    except errors.QuoteError:
        raise not_found("line", line_id) from None


def _change_line(quote: Quote, line_id: int, body: dict) -> None:
    line = _line(quote, line_id)
    fields = dict(body)
    confirmed = fields.pop("confirm_cost", False)
    current = {name: getattr(line, name) for name in building.LineChanges.__dataclass_fields__}
    changes = building.LineChanges(**{**current, **fields})
    building.update_line(quote, line, changes, acting_user(), cost_confirmed=confirmed)


@blp.route("/quotes/<int:quote_id>/lines/<int:line_id>", methods=["PATCH"])
@requires("quotes:write")
@blp.arguments(QuoteLineUpdateSchema)
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC], operationId="updateQuoteLine")
@idempotent
@blp.response(200, QuoteSchema)
def update_line(body, quote_id: int, line_id: int):
    """Change a line's fields (the ones sent). Scope: `quotes:write`."""
    return _write(lambda q: _change_line(q, line_id, body), quote_id)


@blp.route("/quotes/<int:quote_id>/lines/<int:line_id>", methods=["DELETE"])
@requires("quotes:write")
@blp.doc(parameters=[IF_MATCH_DOC])
@blp.response(200, QuoteSchema)
def delete_line(quote_id: int, line_id: int):
    """Remove a line. Scope: `quotes:write`."""
    return _write(
        lambda q: building.remove_line(q, _line(q, line_id), acting_user()), quote_id, commit=True
    )


@blp.route("/quotes/<int:quote_id>/send", methods=["POST"])
@requires("quotes:write")
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC], operationId="sendQuote")
@idempotent
@blp.response(200, QuoteSchema)
def send_quote(quote_id: int):
    """Send the quote to its approvers (approval rules apply: 409 if it needs approval).
    Scope: `quotes:write`."""
    return _write(lambda q: sending.send_quote(q, acting_user()), quote_id)


@blp.route("/quotes/<int:quote_id>/cancel", methods=["POST"])
@requires("quotes:write")
@blp.arguments(ReasonSchema)
@blp.doc(parameters=[HEADER_DOC, IF_MATCH_DOC], operationId="cancelQuote")
@idempotent
@blp.response(200, QuoteSchema)
def cancel_quote(body, quote_id: int):
    """Cancel the quote. Scope: `quotes:write`."""
    return _write(lambda q: lifecycle.cancel(q, acting_user(), body["reason"]), quote_id)
