"""Customers, their contacts and addresses, and staff."""

from __future__ import annotations

from marshmallow import Schema, fields

from webapp.api.schemas.field_types import Nullable, Status
from webapp.auth.models import Role


class ContactSchema(Schema):
    id = fields.Integer()
    organization_id = fields.Integer()
    name = fields.String()
    email = fields.String()
    phone = fields.String()
    is_approver = fields.Boolean()
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class OrganizationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    account_number = fields.String()
    phone = fields.String()
    email = fields.String()
    website = fields.String()
    address_line1 = fields.String()
    address_line2 = fields.String()
    city = fields.String()
    region = fields.String()
    postcode = fields.String()
    country = fields.String()
    approved = fields.Boolean()
    payment_terms_days = Nullable(
        fields.Integer,
        metadata={"description": "Its own payment terms in days; null: the MSP's default"},
    )
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    contacts = fields.List(
        fields.Nested(ContactSchema), metadata={"description": "With expand=contacts"}
    )


class StaffSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    role = Status(Role)
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AddressSchema(Schema):
    """An organization's postal address (orders copy it as their ship-to)."""

    id = fields.Integer(metadata={"description": "The organization's id"})
    organization_id = fields.Function(lambda o: o.id, metadata={"type": "integer"})
    organization_name = fields.String(attribute="name")
    address_line1 = fields.String()
    address_line2 = fields.String()
    city = fields.String()
    region = fields.String()
    postcode = fields.String()
    country = fields.String()
    updated_at = fields.AwareDateTime()
