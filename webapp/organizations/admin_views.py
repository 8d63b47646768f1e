"""Staff screens for client organizations, their contacts, and customer price groups."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import htmx_responses
from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role, User
from webapp.extensions import db, htmx
from webapp.organizations import operations, queries
from webapp.organizations.forms import InviteContactForm, OrganizationForm, PriceGroupForm
from webapp.organizations.models import Organization, PriceGroup
from webapp.parsing import page_arg

bp = Blueprint(
    "organizations_admin", __name__, url_prefix="/admin/organizations", template_folder="templates"
)


def _can_edit() -> bool:
    return current_user.role in (Role.ADMIN, Role.SALES)


def _flag(name: str) -> bool:
    """Read a yes/no form value sent by an action button."""
    raw = request.form.get(name, "")
    if raw not in ("0", "1"):
        abort(400, description=f"{name} must be 0 or 1")
    return raw == "1"


def _organization(organization_id: int) -> Organization:
    return db.session.get(Organization, organization_id) or abort(404)


def _contact(organization: Organization, user_id: int) -> User:
    contact = db.session.get(User, user_id)
    if contact is None or contact.organization_id != organization.id:
        abort(404)
    return contact


def _group_choices(form: OrganizationForm) -> None:
    form.price_group_id.choices = [("", "No price group (standard prices)")] + [
        (group.id, group.name) for group in queries.price_groups()
    ]


# --- organizations ---------------------------------------------------------------------------


@bp.get("/")
@staff_required()
def index():
    approved_arg = request.args.get("approved", "")
    if approved_arg not in ("", "yes", "no"):
        abort(400, description="approved must be yes or no")
    approved = {"yes": True, "no": False}.get(approved_arg)
    page = page_arg(maximum=10_000)
    rows, has_next = queries.organizations(
        search=request.args.get("q", "")[:100], approved=approved, page=page
    )
    return htmx_responses.render(
        "organizations/index.html",
        "table",
        organizations=rows,
        contact_counts=queries.contact_counts([org.id for org in rows]),
        approved=approved_arg,
        page=page,
        has_next=has_next,
        can_edit=_can_edit(),
    )


@bp.get("/pick")
@staff_required()
def pick():
    """Matches for an organization picker (macros.html `picker`)."""
    query = request.args.get("q", "").strip()[:100]
    rows, _more = queries.organizations(search=query, page=1, per_page=10) if query else ([], False)
    options = [
        (
            org.id,
            org.name,
            " · ".join(
                part
                for part in (org.account_number, "" if org.approved else "not approved yet")
                if part
            ),
        )
        for org in rows
    ]
    return render_template("_picker_results.html", options=options, query=query)


def _render_form(form: OrganizationForm, organization: Organization | None, status: int = 200):
    return (
        render_template(
            "organizations/form.html",
            form=form,
            organization=organization,
        ),
        status,
    )


def _save(form: OrganizationForm, organization: Organization | None):
    """Validate and save the form; return a response (redirect or the form with errors)."""
    _group_choices(form)
    if not form.validate_on_submit():
        return _render_form(form, organization, 422 if form.is_submitted() else 200)
    try:
        saved = operations.save_organization(organization, form.values(), current_actor())
    except operations.OrganizationError as error:
        db.session.rollback()
        getattr(form, error.field or "name").errors.append(str(error))
        return _render_form(form, organization, 422)
    db.session.commit()
    flash(f"{saved.name} saved.", "success")
    return redirect(url_for(".detail", organization_id=saved.id), 303)


@bp.route("/new", methods=["GET", "POST"])
@staff_required(Role.SALES)
def create():
    return _save(OrganizationForm(), None)


@bp.route("/<int:organization_id>/edit", methods=["GET", "POST"])
@staff_required(Role.SALES)
def edit(organization_id: int):
    organization = _organization(organization_id)
    form = OrganizationForm(obj=organization)
    if not form.is_submitted():
        form.price_group_id.data = organization.price_group_id
    return _save(form, organization)


def _detail_context(organization: Organization, invite_form: InviteContactForm | None = None):
    return {
        "organization": organization,
        "contacts": queries.contacts(organization.id),
        "invite_form": invite_form or InviteContactForm(formdata=None),
        "can_edit": _can_edit(),
    }


@bp.get("/<int:organization_id>")
@staff_required()
def detail(organization_id: int):
    organization = _organization(organization_id)
    return render_template("organizations/detail.html", **_detail_context(organization))


def _refused(organization: Organization, message: str, status: int = 422):
    """Answer a refused action: a toast for HTMX, the page with the message otherwise."""
    db.session.rollback()
    if htmx:
        return render_template("errors/toast.html", message=message), status
    flash(message, "danger")
    return (
        render_template("organizations/detail.html", **_detail_context(organization)),
        status,
    )


def _done(organization: Organization, message: str, block: str, **context):
    """Answer a completed action: the changed fragment for HTMX, a redirect otherwise."""
    if htmx:
        return htmx_responses.trigger(
            htmx_responses.render(
                "organizations/detail.html",
                block,
                organization=organization,
                can_edit=_can_edit(),
                **context,
            ),
            toast=message,
        )
    flash(message, "success")
    return redirect(url_for(".detail", organization_id=organization.id), 303)


@bp.post("/<int:organization_id>/approval")
@staff_required(Role.SALES)
def approval(organization_id: int):
    organization = _organization(organization_id)
    approved = _flag("approved")
    operations.set_approved(organization, approved, current_actor())
    db.session.commit()
    message = (
        f"{organization.name} is approved: its contacts can place orders."
        if approved
        else f"{organization.name} is no longer approved: its contacts can only ask for quotes."
    )
    return _done(organization, message, "approval")


# --- contacts ------------------------------------------------------------------------------


@bp.post("/<int:organization_id>/contacts")
@staff_required(Role.SALES)
def invite(organization_id: int):
    organization = _organization(organization_id)
    form = InviteContactForm()
    if form.validate_on_submit():
        try:
            contact = operations.invite_contact(
                organization,
                name=form.name.data,
                email=form.email.data,
                is_approver=form.is_approver.data,
                actor=current_actor(),
            )
        except operations.OrganizationError as error:
            db.session.rollback()
            getattr(form, error.field or "email").errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Invitation emailed to {contact.email}.", "success")
            return redirect(url_for(".detail", organization_id=organization.id), 303)
    return (
        render_template(
            "organizations/detail.html", **_detail_context(organization, invite_form=form)
        ),
        422,
    )


@bp.post("/<int:organization_id>/contacts/<int:user_id>/approver")
@staff_required(Role.SALES)
def approver(organization_id: int, user_id: int):
    organization = _organization(organization_id)
    contact = _contact(organization, user_id)
    is_approver = _flag("approver")
    operations.set_approver(organization, contact, is_approver, current_actor())
    db.session.commit()
    message = (
        f"{contact.name} can now accept quotes for {organization.name}."
        if is_approver
        else f"{contact.name} can no longer accept quotes."
    )
    return _done(organization, message, "contact_row", contact=contact)


@bp.post("/<int:organization_id>/contacts/<int:user_id>/active")
@staff_required(Role.SALES)
def contact_active(organization_id: int, user_id: int):
    organization = _organization(organization_id)
    contact = _contact(organization, user_id)
    active = _flag("active")
    try:
        operations.set_contact_active(organization, contact, active, current_actor())
    except operations.OrganizationError as error:
        return _refused(organization, str(error))
    db.session.commit()
    message = (
        f"{contact.name} is active again."
        if active
        else f"{contact.name} is deactivated and can no longer sign in."
    )
    return _done(organization, message, "contact_row", contact=contact)


@bp.post("/<int:organization_id>/contacts/<int:user_id>/details")
@staff_required(Role.SALES)
def contact_details(organization_id: int, user_id: int):
    """Change a contact's name and phone (the email is their sign-in and is not offered)."""
    organization = _organization(organization_id)
    contact = _contact(organization, user_id)
    try:
        operations.update_contact(
            organization,
            contact,
            name=request.form.get("name", ""),
            phone=request.form.get("phone", ""),
            actor=current_actor(),
        )
    except operations.OrganizationError as error:
        return _refused(organization, str(error))
    db.session.commit()
    return _done(organization, f"{contact.name}'s details saved.", "contact_row", contact=contact)


@bp.post("/<int:organization_id>/contacts/<int:user_id>/resend")
@staff_required(Role.SALES)
def resend(organization_id: int, user_id: int):
    organization = _organization(organization_id)
    contact = _contact(organization, user_id)
    try:
        operations.resend_invitation(organization, contact, current_actor())
    except operations.OrganizationError as error:
        return _refused(organization, str(error))
    db.session.commit()
    return _done(
        organization,
        f"Invitation emailed again to {contact.email}.",
        "contact_row",
        contact=contact,
    )


# --- price groups --------------------------------------------------------------------------


def _price_groups_page(form: PriceGroupForm | None = None, status: int = 200, **extra):
    return (
        render_template(
            "organizations/price_groups.html",
            groups=queries.price_groups(),
            sizes=queries.price_group_sizes(),
            form=form or PriceGroupForm(formdata=None),
            can_manage=current_user.role is Role.ADMIN,
            **extra,
        ),
        status,
    )


@bp.get("/price-groups")
@staff_required()
def price_groups():
    return _price_groups_page()


def _save_price_group(group: PriceGroup | None, form: PriceGroupForm):
    if form.validate_on_submit():
        try:
            saved = operations.save_price_group(
                group,
                name=form.name.data,
                description=form.description.data or "",
                actor=current_actor(),
            )
        except operations.OrganizationError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Price group {saved.name} saved.", "success")
            return redirect(url_for(".price_groups"), 303)
    if group is None:
        return _price_groups_page(form, 422)
    return _price_groups_page(None, 422, editing=group, edit_form=form)


@bp.post("/price-groups")
@staff_required(Role.ADMIN)
def create_price_group():
    return _save_price_group(None, PriceGroupForm())


@bp.post("/price-groups/<int:group_id>")
@staff_required(Role.ADMIN)
def rename_price_group(group_id: int):
    group = db.session.get(PriceGroup, group_id) or abort(404)
    return _save_price_group(group, PriceGroupForm())
