"""Sent mail: every email the system wrote, its delivery state, and its text."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from webapp.auth.access import staff_required
from webapp.extensions import db
from webapp.jobs import enqueue_after_commit
from webapp.mail.models import EmailStatus, OutboundEmail

bp = Blueprint("mail_admin", __name__, url_prefix="/admin/mail", template_folder="templates")


@bp.get("/")
@staff_required()
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
@staff_required()
def detail(email_id: int):
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    return render_template("mail/detail.html", email=email)


@bp.post("/<int:email_id>/retry")
@staff_required()
def retry(email_id: int):
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    if email.status is EmailStatus.SENT:
        flash("That email was already sent.", "info")
    else:
        email.status = EmailStatus.QUEUED
        enqueue_after_commit("workers.jobs.send_email", email.id)
        db.session.commit()
        flash(f"Email to {email.to_address} queued again.", "success")
    return redirect(url_for(".detail", email_id=email.id), 303)
