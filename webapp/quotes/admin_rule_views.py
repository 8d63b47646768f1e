"""Staff screens for the approval rules and the margin floor."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from webapp.auth.access import current_actor, staff_required
from webapp.auth.models import Role
from webapp.extensions import db
from webapp.quotes import queries
from webapp.quotes.admin_common import bp
from webapp.quotes.forms import RuleForm
from webapp.quotes.models import ApprovalRuleKind, QuoteApprovalRule
from webapp.settings.operations import get_setting, set_setting, setting_row
from webapp.settings.registry import SETTINGS, InvalidSetting

# --- approval rules and the margin floor ---------------------------------------------------------


def _rule_form() -> RuleForm:
    form = RuleForm()
    form.user_id.choices = [("", "—")] + [(u.id, u.name) for u in queries.staff()]
    return form


def _rules_page(form: RuleForm, status: int = 200):
    return render_template(
        "quotes_admin/approval_rules.html",
        rules=queries.approval_rules(),
        form=form,
        floor=get_setting("quote_margin_floor_pct"),
        floor_row=setting_row("quote_margin_floor_pct"),
        floor_label=SETTINGS["quote_margin_floor_pct"].label,
    ), status


@bp.get("/approval-rules")
@staff_required(Role.ADMIN)
def approval_rules():
    return _rules_page(_rule_form())


@bp.post("/approval-rules")
@staff_required(Role.ADMIN)
def add_rule():
    form = _rule_form()
    if not form.validate():
        return _rules_page(form, 422)
    kind = ApprovalRuleKind(form.kind.data)
    if kind is ApprovalRuleKind.USER_ALWAYS:
        if form.user_id.data is None:
            form.user_id.errors.append("Choose the user whose quotes always need approval.")
            return _rules_page(form, 422)
        rule = QuoteApprovalRule(kind=kind, user_id=form.user_id.data)
    else:
        if form.threshold.data is None:
            form.threshold.errors.append("Give the rule's threshold.")
            return _rules_page(form, 422)
        rule = QuoteApprovalRule(kind=kind, threshold=form.threshold.data)
    db.session.add(rule)
    db.session.commit()
    flash("Rule added.", "success")
    return redirect(url_for(".approval_rules"), 303)


@bp.post("/approval-rules/<int:rule_id>/delete")
@staff_required(Role.ADMIN)
def delete_rule(rule_id: int):
    rule = db.session.get(QuoteApprovalRule, rule_id) or abort(404)
    db.session.delete(rule)
    db.session.commit()
    flash("Rule removed.", "success")
    return redirect(url_for(".approval_rules"), 303)


@bp.post("/margin-floor")
@staff_required(Role.ADMIN)
def margin_floor():
    try:
        set_setting("quote_margin_floor_pct", request.form.get("value", ""), current_actor())
    except InvalidSetting as error:
        db.session.rollback()
        flash(f"{SETTINGS['quote_margin_floor_pct'].label} {error}.", "danger")
        return _rules_page(_rule_form(), 422)
    db.session.commit()
    flash("Margin floor saved.", "success")
    return redirect(url_for(".approval_rules"), 303)
