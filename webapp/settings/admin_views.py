"""Settings > Sales: document kind, card surcharge and default markup."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import htmx_responses
from webapp.auth.access import staff_required
from webapp.auth.models import Role
from webapp.extensions import db, htmx
from webapp.settings.operations import get_setting, set_setting, setting_row
from webapp.settings.registry import SETTINGS, DocumentKind, InvalidSetting

bp = Blueprint(
    "settings_admin", __name__, url_prefix="/admin/settings", template_folder="templates"
)

SALES_KEYS = (
    "display_document_as",
    "card_surcharge_pct",
    "default_markup_pct",
    "seller_legal_name",
    "seller_tax_number",
    "seller_address",
    "payment_details",
    "customer_payment_terms_days",
)
# Free-text settings (the rest are percentages or a choice): one line, or several.
TEXT_KEYS = {
    "seller_legal_name": False,
    "seller_tax_number": False,
    "seller_address": True,
    "payment_details": True,
}
# Changing these changes every displayed price: cached listings must go.


def _setting_context(key: str) -> dict:
    return {
        "key": key,
        "spec": SETTINGS[key],
        "value": get_setting(key),
        "row": setting_row(key),
        "kinds": list(DocumentKind),
        "multiline": TEXT_KEYS.get(key),
    }


@bp.get("/sales")
@staff_required(Role.ADMIN)
def sales():
    return render_template(
        "settings/sales.html", settings=[_setting_context(key) for key in SALES_KEYS]
    )


@bp.post("/sales/<key>")
@staff_required(Role.ADMIN)
def update(key: str):
    if key not in SALES_KEYS:
        abort(404)
    try:
        set_setting(key, request.form.get("value", ""), current_user)
    except InvalidSetting as error:
        db.session.rollback()
        message = f"{SETTINGS[key].label} {error}."
        if htmx:
            return render_template("errors/toast.html", message=message), 422
        flash(message, "danger")
        return redirect(url_for(".sales"), 303)
    db.session.commit()
    if htmx:
        return htmx_responses.render(
            "settings/sales.html", "setting", setting=_setting_context(key), saved=True
        )
    flash(f"{SETTINGS[key].label} saved.", "success")
    return redirect(url_for(".sales"), 303)
