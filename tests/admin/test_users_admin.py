"""Admin-only screen for staff users: invite, change role, deactivate, and the admin guards."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD, login, make_user
from webapp.auth import operations
from webapp.auth.models import Role, User
from webapp.extensions import db

HX = {"HX-Request": "true"}


def test_users_page_lists_staff_but_not_customers(client, store):
    login(client, store.admin)
    html = client.get("/admin/users/").get_data(as_text=True)
    assert "sales@msp.example" in html and "purchasing@msp.example" in html
    assert "buyer@contoso.example" not in html


def test_sales_gets_403_on_users_and_roles(client, store):
    login(client, store.sales)
    assert client.get("/admin/users/").status_code == 403
    response = client.post(f"/admin/users/{store.purchasing.id}/role", data={"role": "admin"})
    assert response.status_code == 403
    assert db.session.get(User, store.purchasing.id).role is Role.PURCHASING


def test_customer_gets_404_on_users_and_roles(client, store):
    login(client, store.customer)
    assert client.get("/admin/users/").status_code == 404


def test_invited_staff_user_receives_the_link_and_signs_in_to_the_admin(
    app, client, store, run_jobs, mailbox
):
    login(client, store.admin)
    response = client.post(
        "/admin/users/",
        data={"name": "Pat Buyer", "email": "pat@msp.example", "role": "purchasing"},
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "pat@msp.example"))
    assert (user.role, user.organization_id) == (Role.PURCHASING, None)

    run_jobs()
    [message] = mailbox.to("pat@msp.example")
    link = re.search(r"https?://\S+/invite/\S+", mailbox.text(message)).group(0)
    newcomer = app.test_client()
    response = newcomer.post(
        urlsplit(link).path,
        data={"password": "a long new password", "confirm": "a long new password"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    assert newcomer.get("/admin/catalog/suppliers").status_code == 200


def test_inviting_staff_with_a_taken_email_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post(
        "/admin/users/", data={"name": "X", "email": "buyer@contoso.example", "role": "sales"}
    )
    assert response.status_code == 422
    assert "buyer@contoso.example already has an account." in response.get_data(as_text=True)


def test_inviting_staff_with_the_customer_role_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post(
        "/admin/users/", data={"name": "X", "email": "x@msp.example", "role": "customer"}
    )
    assert response.status_code == 422
    assert "Not a valid choice." in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "x@msp.example")) is None


def test_changing_a_role_over_htmx_swaps_the_user_row(client, store):
    login(client, store.admin)
    response = client.post(
        f"/admin/users/{store.sales.id}/role", data={"role": "purchasing"}, headers=HX
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="user-{store.sales.id}"')
    assert '<option value="purchasing" selected>' in html
    assert db.session.get(User, store.sales.id).role is Role.PURCHASING


def test_promoted_user_gains_admin_screens(app, client, store):
    login(client, store.admin)
    client.post(f"/admin/users/{store.sales.id}/role", data={"role": "admin"})
    promoted = app.test_client()
    login(promoted, store.sales)
    assert promoted.get("/admin/catalog/pricing").status_code == 200


def test_admin_cannot_demote_themselves(client, store):
    make_user(role=Role.ADMIN)  # even with another admin around
    login(client, store.admin)
    response = client.post(
        f"/admin/users/{store.admin.id}/role", data={"role": "sales"}, headers=HX
    )
    assert response.status_code == 422
    assert "You cannot change your own role: ask another admin." in response.get_data(as_text=True)
    assert db.session.get(User, store.admin.id).role is Role.ADMIN


def test_admin_cannot_deactivate_themselves(client, store):
    login(client, store.admin)
    response = client.post(f"/admin/users/{store.admin.id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert db.session.get(User, store.admin.id).active is True


def test_the_last_active_admin_can_never_be_demoted(store):
    with pytest.raises(operations.AccountError, match="the last active admin"):
        operations.change_role(store.admin, Role.SALES, actor=store.sales)
    assert store.admin.role is Role.ADMIN


def test_the_last_active_admin_can_never_be_deactivated(store):
    inactive_admin = make_user(role=Role.ADMIN, active=False)
    with pytest.raises(operations.AccountError, match="the last active admin"):
        operations.set_active(store.admin, False, actor=inactive_admin)
    assert store.admin.active is True


def test_an_admin_can_be_demoted_while_another_admin_remains(client, store):
    second = make_user(role=Role.ADMIN)
    login(client, store.admin)
    response = client.post(f"/admin/users/{second.id}/role", data={"role": "sales"})
    assert response.status_code == 303
    assert db.session.get(User, second.id).role is Role.SALES


def test_deactivated_staff_user_cannot_sign_in_and_loses_their_session(app, client, store):
    session = app.test_client()
    login(session, store.purchasing)
    login(client, store.admin)
    response = client.post(
        f"/admin/users/{store.purchasing.id}/active", data={"active": "0"}, headers=HX
    )
    assert response.status_code == 200
    assert "Reactivate" in response.get_data(as_text=True)
    assert session.get("/admin/catalog/suppliers").status_code == 302
    response = app.test_client().post(
        "/login", data={"email": store.purchasing.email, "password": PASSWORD}
    )
    assert response.status_code == 401


def test_reactivated_staff_user_can_sign_in_again(app, client, store):
    login(client, store.admin)
    client.post(f"/admin/users/{store.purchasing.id}/active", data={"active": "0"})
    client.post(f"/admin/users/{store.purchasing.id}/active", data={"active": "1"})
    login(app.test_client(), store.purchasing)


def test_changing_the_role_of_a_customer_is_404(client, store):
    login(client, store.admin)
    response = client.post(f"/admin/users/{store.customer.id}/role", data={"role": "admin"})
    assert response.status_code == 404
    assert db.session.get(User, store.customer.id).role is Role.CUSTOMER


def test_resending_a_staff_invitation_emails_again(client, store, run_jobs, mailbox):
    pending = make_user(role=Role.SALES, email="new@msp.example", password=None)
    login(client, store.admin)
    response = client.post(f"/admin/users/{pending.id}/resend", headers=HX)
    assert response.status_code == 200
    run_jobs()
    assert len(mailbox.to("new@msp.example")) == 1
