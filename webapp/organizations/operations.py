"""Organization writes: details, approval, contacts and price groups. Flush, never commit."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.auth import operations as auth_operations
from webapp.auth.models import Role, User
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.organizations.models import Organization, PriceGroup


class OrganizationError(ValueError):
    """A refused change; the message is for people, `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _name_taken(model, name: str, exclude_id: int | None) -> bool:
    # lower() on both sides, in the database, as the unique index (on lower(name)) folds:
    # "È" and "è" are one name on SQLite too (its lower() is Unicode's, webapp._tune_sqlite).
    query = select(model.id).where(func.lower(model.name) == func.lower(name.strip()))
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    return db.session.scalar(query.limit(1)) is not None


def _price_group(group_id: int | None) -> PriceGroup | None:
    if group_id is None:
        return None
    group = db.session.get(PriceGroup, group_id)
    if group is None:
        raise OrganizationError("That price group no longer exists.", "price_group_id")
    return group


def save_organization(organization: Organization | None, values: dict, actor: User) -> Organization:
    """Create an organization (when None) or update one from validated form values."""
    name = values["name"].strip()
    if not name:
        raise OrganizationError("Enter the organization's name.", "name")
    if _name_taken(Organization, name, organization.id if organization else None):
        raise OrganizationError(f"An organization called {name!r} already exists.", "name")
    group = _price_group(values.get("price_group_id"))
    if organization is None:
        organization = Organization(name=name, approved=False)
        db.session.add(organization)
    for key, value in values.items():
        if key != "price_group_id":
            setattr(organization, key, value.strip() if isinstance(value, str) else value)
    organization.name = name
    organization.price_group = group
    db.session.flush()
    return organization


MAX_PAYMENT_TERMS_DAYS = 365


def set_payment_terms(organization: Organization, days: int | None, actor: User) -> Organization:
    """Give the organization its own payment terms, 0 to 365 days; None: Settings' default."""
    if days is not None and (isinstance(days, bool) or not 0 <= days <= MAX_PAYMENT_TERMS_DAYS):
        raise OrganizationError(
            f"Payment terms are 0 to {MAX_PAYMENT_TERMS_DAYS} days.", "payment_terms_days"
        )
    organization.payment_terms_days = days
    db.session.flush()
    return organization


def set_approved(organization: Organization, approved: bool, actor: User) -> Organization:
    """Approve an organization for ordering (recording who and when), or withdraw approval."""
    if organization.approved == approved:
        return organization
    organization.approved = approved
    organization.approved_at = utcnow() if approved else None
    organization.approved_by = actor if approved else None
    db.session.flush()
    return organization


def _contact_of(organization: Organization, user: User) -> User:
    if user.organization_id != organization.id:
        raise OrganizationError(f"{user.email} is not a contact of {organization.name}.")
    return user


def invite_contact(
    organization: Organization, *, name: str, email: str, is_approver: bool, actor: User
) -> User:
    """Create a contact and email them an invitation to set a password."""
    try:
        return auth_operations.invite_user(
            email=email,
            name=name,
            role=Role.CUSTOMER,
            organization=organization,
            actor=actor,
            is_approver=is_approver,
        )
    except auth_operations.AccountError as error:
        raise OrganizationError(str(error), "email") from None


def resend_invitation(organization: Organization, contact: User, actor: User) -> User:
    _contact_of(organization, contact)
    if not contact.active:
        raise OrganizationError(f"{contact.name} is deactivated: reactivate them first.")
    try:
        auth_operations.send_invitation(contact, actor)
    except auth_operations.AccountError as error:
        raise OrganizationError(str(error)) from None
    db.session.flush()
    return contact


def set_approver(organization: Organization, contact: User, approver: bool, actor: User) -> User:
    """Allow (or stop) a contact accepting quotes for their organization."""
    _contact_of(organization, contact)
    contact.is_approver = approver
    db.session.flush()
    return contact


def _printable(value: str, label: str, field: str, longest: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise OrganizationError(f"Enter the contact's {label}.", field)
    if len(value) > longest:
        raise OrganizationError(f"The {label} is longer than {longest} characters.", field)
    if not value.isprintable():
        raise OrganizationError(f"The {label} has characters that cannot be shown.", field)
    return value


def update_contact(
    organization: Organization, contact: User, *, name: str, phone: str, actor: User
) -> User:
    """Change a contact's name and phone (their email is their sign-in: not changed here).
    A linked PSA contact follows (the PSA contact sync watches these fields)."""
    _contact_of(organization, contact)
    name = _printable(name, "name", "name", 200, required=True)
    phone = _printable(phone, "phone", "phone", 50, required=False)
    if (contact.name, contact.phone or "") != (name, phone):
        contact.name, contact.phone = name, phone
        db.session.flush()
    return contact


def set_contact_active(
    organization: Organization, contact: User, active: bool, actor: User
) -> User:
    """Deactivate a contact (they can no longer sign in) or reactivate them."""
    _contact_of(organization, contact)
    try:
        auth_operations.set_active(contact, active, actor)
    except auth_operations.AccountError as error:
        raise OrganizationError(str(error)) from None
    return contact


def save_price_group(
    group: PriceGroup | None, *, name: str, description: str, actor: User
) -> PriceGroup:
    """Create a price group (when None) or rename one."""
    name = name.strip()
    if not name:
        raise OrganizationError("Enter the price group's name.", "name")
    if _name_taken(PriceGroup, name, group.id if group else None):
        raise OrganizationError(f"A price group called {name!r} already exists.", "name")
    if group is None:
        group = PriceGroup(name=name)
        db.session.add(group)
    group.name = name
    group.description = description.strip()
    db.session.flush()
    return group
