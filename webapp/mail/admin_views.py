"""Sent mail (admins only): every email the system wrote, its delivery state, and its text.

Bodies are stored with one-time links redacted (webapp/mail/links.py); Retry and Resend
have the owning domain issue a fresh link at delivery.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.mail import operations
from webapp.mail.models import EmailStatus, OutboundEmail

# Framed only by our own detail page: inline styles (emails need them), no script at all.
EMAIL_BODY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; sandbox allow-top-navigation-by-user-activation allow-popups"
)

bp = Blueprint("mail_admin", __name__, url_prefix="/admin/mail", template_folder="templates")


@bp.get("/")
@staff_required(Role.ADMIN)
def sent():
    query = select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(200)
    status = request.args.get("status")
    if status:
        try:
            query = query.where(OutboundEmail.status == EmailStatus(status))
        except ValueError:
            abort(400, description=f"unknown status {status!r}")
    return render_template("mail/sent.html", emails=db.session.scalars(query).all())


@bp.get("/<int:email_id>")
@staff_required(Role.ADMIN)
def detail(email_id: int):
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    return render_template("mail/detail.html", email=email)


@bp.get("/<int:email_id>/body")
@staff_required(Role.ADMIN)
def body(email_id: int):
    """The email's HTML as its own document (the detail page frames it, sandboxed): emails
    need inline styles, so it gets a policy of its own that allows them and runs nothing."""
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    response = make_response(email.html_body or "<p>(no HTML part)</p>")
    response.headers["Content-Security-Policy"] = EMAIL_BODY_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/<int:email_id>/retry")
@staff_required(Role.ADMIN)
def retry(email_id: int):
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    if email.status is EmailStatus.SENT:
        flash("That email was already sent.", "info")
    else:
        operations.retry(email)
        db.session.commit()
        flash(f"Email to {email.to_address} queued again.", "success")
    return redirect(url_for(".detail", email_id=email.id), 303)


@bp.post("/<int:email_id>/resend")
@staff_required(Role.ADMIN)
def resend(email_id: int):
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    copy = operations.resend(email)
    db.session.commit()
    flash(f"Email to {email.to_address} sent again as a new email.", "success")
    return redirect(url_for(".detail", email_id=copy.id), 303)
