"""Organizations (the MSP's customers) and their contacts."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.api.common import msp_only, not_found
from webapp.api.idempotency import HEADER_DOC, idempotent
from webapp.api.listing import (
    GetArgs,
    ListArgs,
    expansions,
    json_response,
    list_page,
    page_schema,
    schema_for,
)
from webapp.api.problems import problem
from webapp.api.schemas.organizations import (
    AddressSchema,
    ContactSchema,
    OrganizationSchema,
    StaffSchema,
)
from webapp.api.security import acting_user, organization_limit, requires
from webapp.auth.models import STAFF_ROLES, Role, User
from webapp.extensions import db
from webapp.organizations import operations
from webapp.organizations.models import Organization
from webapp.parsing import DB_INT_MAX

blp = Blueprint(
    "api_organizations", __name__, url_prefix="/api/v1", description="Customers and contacts"
)
EXPANSIONS = {"contacts": "contacts"}


class OrganizationListArgs(ListArgs):
    name = fields.String(validate=validate.Length(max=200), metadata={"description": "Exact"})
    account_number = fields.String(validate=validate.Length(max=50))
    approved = fields.Boolean()


def _visible_organizations():
    query = select(Organization)
    if organization_limit() is not None:
        query = query.where(Organization.id == organization_limit())
    return query


@blp.route("/organizations")
@requires("organizations:read")
@blp.arguments(OrganizationListArgs, location="query")
@blp.response(200, page_schema(OrganizationSchema, "OrganizationPage"))
def list_organizations(args):
    """List organizations. Scope: `organizations:read`; expand: contacts."""
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    query = _visible_organizations()
    if "contacts" in wanted:
        query = query.options(selectinload(Organization.contacts))
    for name in ("name", "account_number", "approved"):
        if name in args:
            query = query.where(getattr(Organization, name) == args[name])
    return list_page(
        query,
        Organization,
        args,
        modified_column=Organization.updated_at,
        schema=schema_for(OrganizationSchema, wanted, EXPANSIONS),
    )


@blp.route("/organizations/<int:organization_id>")
@requires("organizations:read")
@blp.arguments(GetArgs, location="query")
@blp.response(200, OrganizationSchema)
def get_organization(args, organization_id: int):
    """One organization. Scope: `organizations:read`."""
    wanted = expansions(args.get("expand"), set(EXPANSIONS))
    organization = db.session.scalar(
        _visible_organizations().where(Organization.id == organization_id)
    )
    if organization is None:
        raise not_found("organization", organization_id)
    return json_response(schema_for(OrganizationSchema, wanted, EXPANSIONS).dump(organization))


class OrganizationTermsSchema(Schema):
    payment_terms_days = fields.Integer(
        required=True,
        allow_none=True,
        strict=True,
        validate=validate.Range(0, operations.MAX_PAYMENT_TERMS_DAYS),
        metadata={
            "description": "Days after the invoice date its tax invoices are due; "
            "null: the MSP's default terms (Settings)"
        },
    )


@blp.route("/organizations/<int:organization_id>", methods=["PATCH"])
@requires("organizations:write")
@blp.arguments(OrganizationTermsSchema)
@blp.doc(parameters=[HEADER_DOC], operationId="updateOrganization")
@idempotent
@blp.response(200, OrganizationSchema)
def update_organization(body, organization_id: int):
    """Set the organization's own payment terms (0–365 days), or null for the default.
    Scope: `organizations:write` (MSP-wide keys only)."""
    msp_only("organizations' terms")
    organization = db.session.scalar(
        _visible_organizations().where(Organization.id == organization_id)
    )
    if organization is None:
        raise not_found("organization", organization_id)
    try:
        operations.set_payment_terms(organization, body["payment_terms_days"], acting_user())
    except operations.OrganizationError as error:
        db.session.rollback()
        raise problem(422, str(error), pointer=f"/{error.field}") from None
    return json_response(OrganizationSchema().dump(organization))


class ContactListArgs(ListArgs):
    organization_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))
    email = fields.String(validate=validate.Length(max=254))


def _visible_contacts():
    query = select(User).where(User.organization_id.is_not(None))
    if organization_limit() is not None:
        query = query.where(User.organization_id == organization_limit())
    return query


@blp.route("/contacts")
@requires("organizations:read")
@blp.arguments(ContactListArgs, location="query")
@blp.response(200, page_schema(ContactSchema, "ContactPage"))
def list_contacts(args):
    """List contacts of organizations. Scope: `organizations:read`."""
    expansions(args.get("expand"), set())
    query = _visible_contacts()
    if "organization_id" in args:
        query = query.where(User.organization_id == args["organization_id"])
    if "email" in args:
        query = query.where(func.lower(User.email) == args["email"].strip().lower())
    return list_page(query, User, args, modified_column=User.updated_at, schema=ContactSchema())


@blp.route("/contacts/<int:contact_id>")
@requires("organizations:read")
@blp.response(200, ContactSchema)
def get_contact(contact_id: int):
    """One contact. Scope: `organizations:read`."""
    contact = db.session.scalar(_visible_contacts().where(User.id == contact_id))
    if contact is None:
        raise not_found("contact", contact_id)
    return json_response(ContactSchema().dump(contact))


class StaffListArgs(ListArgs):
    role = fields.Enum(Role, by_value=True, metadata={"description": "admin, sales or purchasing"})
    active = fields.Boolean()
    email = fields.String(validate=validate.Length(max=254))


@blp.route("/staff")
@requires("staff:read")
@blp.arguments(StaffListArgs, location="query")
@blp.response(200, page_schema(StaffSchema, "StaffPage"))
def list_staff(args):
    """The MSP's staff (quote owners, buyers, admins). Scope: `staff:read`."""
    msp_only("staff")
    expansions(args.get("expand"), set())
    query = select(User).where(User.role.in_(STAFF_ROLES))
    if "role" in args:
        query = query.where(User.role == args["role"])
    if "active" in args:
        query = query.where(User.active.is_(args["active"]))
    if "email" in args:
        query = query.where(func.lower(User.email) == args["email"].strip().lower())
    return list_page(query, User, args, modified_column=User.updated_at, schema=StaffSchema())


@blp.route("/staff/<int:staff_id>")
@requires("staff:read")
@blp.response(200, StaffSchema)
def get_staff(staff_id: int):
    """One staff member. Scope: `staff:read`."""
    msp_only("staff")
    found = db.session.scalar(select(User).where(User.id == staff_id, User.role.in_(STAFF_ROLES)))
    if found is None:
        raise not_found("staff member", staff_id)
    return json_response(StaffSchema().dump(found))


class AddressListArgs(ListArgs):
    organization_id = fields.Integer(validate=validate.Range(1, DB_INT_MAX))
    country = fields.String(validate=validate.Length(max=100))
    postcode = fields.String(validate=validate.Length(max=20))


@blp.route("/addresses")
@requires("organizations:read")
@blp.arguments(AddressListArgs, location="query")
@blp.response(200, page_schema(AddressSchema, "AddressPage"))
def list_addresses(args):
    """Organizations' postal addresses (one each; orders copy it as their ship-to).
    Scope: `organizations:read`."""
    expansions(args.get("expand"), set())
    query = _visible_organizations()
    if "organization_id" in args:
        query = query.where(Organization.id == args["organization_id"])
    for name in ("country", "postcode"):
        if name in args:
            query = query.where(getattr(Organization, name) == args[name])
    return list_page(
        query,
        Organization,
        args,
        modified_column=Organization.updated_at,
        schema=AddressSchema(),
    )
