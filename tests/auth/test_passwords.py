"""Changing a password (signed in) and resetting a forgotten one (an emailed link)."""

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.factories import PASSWORD, login, make_user
from webapp.auth import operations
from webapp.extensions import db
from webapp.mail.models import OutboundEmail

NEW_PASSWORD = "tangerine vortex piano"
SENT = "If that address has an account, we have emailed it a link"


def _change(client, current=PASSWORD, password=NEW_PASSWORD, confirm=None):
    return client.post(
        "/account",
        data={"current": current, "password": password, "confirm": confirm or password},
    )


def _signs_in(app, email: str, password: str) -> bool:
    response = app.test_client().post("/login", data={"email": email, "password": password})
    return response.status_code == 302


def _reset_link(mailbox, address: str) -> str:
    [message] = mailbox.to(address)
    return re.search(r"http://localhost(/password/reset/\S+)", mailbox.text(message)).group(1)


# --- change -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["customer", "sales"])
def test_the_account_page_offers_a_password_change(client, store, who):
    login(client, getattr(store, who))
    page = client.get("/account").get_data(as_text=True)
    assert "Change your password" in page
    assert 'name="current"' in page and 'name="confirm"' in page


def test_a_signed_in_user_changes_their_password(app, client, store):
    login(client, store.customer)
    response = _change(client)
    assert response.status_code == 303
    assert "Your password is changed" in client.get("/account").get_data(as_text=True)
    assert _signs_in(app, store.customer.email, NEW_PASSWORD)
    assert not _signs_in(app, store.customer.email, PASSWORD)


def test_a_wrong_current_password_changes_nothing(app, client, store):
    login(client, store.customer)
    response = _change(client, current="not-my-password")
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
    assert _signs_in(app, store.customer.email, PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "Use at least 10 characters."),
        ("password1234", "password1234", "This is a very common password"),
        (NEW_PASSWORD, "tangerine vortex organ", "The two passwords do not match."),
        ("x" * 201, "x" * 201, "Field cannot be longer than 200 characters."),
    ],
)
def test_a_weak_or_mistyped_new_password_is_refused_with_a_message(
    app, client, store, password, confirm, message
):
    login(client, store.customer)
    response = _change(client, password=password, confirm=confirm)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _signs_in(app, store.customer.email, PASSWORD)


def test_guessing_the_current_password_is_throttled_like_signing_in(app, client, store):
    login(client, store.customer)
    for _ in range(5):
        assert _change(client, current="wrong-guess").status_code == 400
    response = _change(client)  # even the right one now waits
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    assert "Too many attempts" in response.get_data(as_text=True)
    assert _signs_in(app, store.sales.email, PASSWORD)


def test_the_password_change_needs_a_csrf_token(client, store):
    login(client, store.customer)
    data = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/account", data=data, csrf=False).status_code == 400


# --- reset ------------------------------------------------------------------------------


def test_the_sign_in_page_links_to_forgot_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page
    assert client.get("/password/forgot").status_code == 200


def test_a_forgotten_password_is_reset_through_the_emailed_link(
    app, client, store, run_jobs, mailbox
):
    response = client.post("/password/forgot", data={"email": store.customer.email.upper()})
    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    run_jobs()
    link = _reset_link(mailbox, store.customer.email)
    page = client.get(link)
    assert page.status_code == 200
    assert store.customer.email in page.get_data(as_text=True)
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/cart").status_code == 200  # signed in
    assert _signs_in(app, store.customer.email, NEW_PASSWORD)
    assert not _signs_in(app, store.customer.email, PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, store, run_jobs, mailbox):
    known = client.post("/password/forgot", data={"email": store.customer.email})
    unknown = client.post("/password/forgot", data={"email": "ghost@contoso.example"})
    assert unknown.status_code == known.status_code == 200
    assert SENT in unknown.get_data(as_text=True)
    # The same page, but for the CSRF token (signed with a timestamp, so it can differ).
    token = re.compile(r'"X-CSRFToken": "[^"]*"')
    assert token.sub("", unknown.get_data(as_text=True)) == token.sub(
        "", known.get_data(as_text=True)
    )
    run_jobs()
    assert mailbox.to("ghost@contoso.example") == []
    assert len(mailbox.to(store.customer.email)) == 1


def test_invited_and_deactivated_users_get_no_reset_email(client, store, run_jobs, mailbox):
    invited = make_user(organization=store.org, email="invited@contoso.example", password=None)
    gone = make_user(organization=store.org, email="gone@contoso.example", active=False)
    db.session.commit()
    for user in (invited, gone):
        response = client.post("/password/forgot", data={"email": user.email})
        assert SENT in response.get_data(as_text=True)
    run_jobs()
    assert mailbox.messages == []


def test_a_reset_link_works_only_once(client, store):
    link = f"/password/reset/{operations.password_reset_token(store.customer)}"
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    client.post("/logout")
    response = client.get(link)
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)
    response = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 400


def test_a_reset_link_dies_when_the_password_changes_meanwhile(client, store):
    link = f"/password/reset/{operations.password_reset_token(store.customer)}"
    login(client, store.customer)
    _change(client)
    assert client.get(link).status_code == 400


def test_an_expired_reset_link_says_so(client, store, app):
    token = operations.password_reset_token(store.customer)
    app.config["PASSWORD_RESET_MAX_AGE_MINUTES"] = -1
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a" * 3000,
        URLSafeTimedSerializer("not-our-key", salt="password-reset").dumps({"uid": 1}),
        # Signed by us, but not a reset link's payload.
        URLSafeTimedSerializer("test-secret-key", salt="password-reset").dumps("hello"),
        URLSafeTimedSerializer("test-secret-key", salt="password-reset").dumps({"uid": "1"}),
        URLSafeTimedSerializer("test-secret-key", salt="password-reset").dumps({"uid": 10**30}),
    ],
)
def test_a_bad_reset_link_is_a_400_with_a_message(client, store, token):
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 400
    assert "This link cannot be used" in response.get_data(as_text=True)


def test_an_invitation_link_is_not_a_reset_link(client, store):
    invited = make_user(organization=store.org, password=None)
    db.session.commit()
    response = client.get(f"/password/reset/{operations.invitation_token(invited)}")
    assert response.status_code == 400
    # and the other way round: a reset link does not accept an invitation
    response = client.get(f"/invite/{operations.password_reset_token(store.customer)}")
    assert response.status_code == 400


def test_a_reset_ends_every_other_session(app, client, store):
    login(client, store.customer)
    link = f"/password/reset/{operations.password_reset_token(store.customer)}"
    other = app.test_client()
    other.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    response = client.get("/cart")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_reset_lets_an_account_locked_by_someone_elses_guesses_in(app, client, store):
    for _ in range(5):
        client.post("/login", data={"email": store.customer.email, "password": "wrong-guess"})
    assert not _signs_in(app, store.customer.email, PASSWORD)
    link = f"/password/reset/{operations.password_reset_token(store.customer)}"
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    client.post("/logout")
    assert _signs_in(app, store.customer.email, NEW_PASSWORD)


def test_a_weak_reset_password_is_refused_and_the_link_still_works(client, store):
    link = f"/password/reset/{operations.password_reset_token(store.customer)}"
    response = client.post(link, data={"password": "password1234", "confirm": "password1234"})
    assert response.status_code == 400
    assert "This is a very common password" in response.get_data(as_text=True)
    assert client.get(link).status_code == 200


@pytest.mark.parametrize("email", ["", "not-an-email", "a" * 300 + "@example.com"])
def test_a_bad_reset_request_is_a_400_with_a_message(client, store, email):
    response = client.post("/password/forgot", data={"email": email})
    assert response.status_code == 400
    assert 'class="invalid-feedback d-block"' in response.get_data(as_text=True)


def test_reset_requests_are_throttled_per_address(client, store, app):
    app.config["PASSWORD_RESET_RATE_LIMIT"] = "2 per minute"
    for _ in range(2):
        client.post("/password/forgot", data={"email": store.customer.email})
    response = client.post("/password/forgot", data={"email": store.customer.email})
    assert response.status_code == 429
    assert response.headers["Retry-After"]


def test_reset_forms_need_a_csrf_token(client, store):
    response = client.post("/password/forgot", data={"email": store.customer.email}, csrf=False)
    assert response.status_code == 400
    link = f"/password/reset/{operations.password_reset_token(store.customer)}"
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(link, data=data, csrf=False).status_code == 400


def test_the_reset_email_is_recorded_under_its_own_topic(client, store):
    client.post("/password/forgot", data={"email": store.customer.email})
    [email] = db.session.query(OutboundEmail).all()
    assert email.topic == f"password-reset:{store.customer.id}"
