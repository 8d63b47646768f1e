import re

from itsdangerous import URLSafeTimedSerializer

from tests.factories import make_user
from webapp.auth import operations
from webapp.auth.models import Role
from webapp.extensions import db

STRONG = "tangerine vortex piano"


def invite(store):
    user = operations.invite_user(
        email="New.Person@Contoso.example",
        name="New Person",
        role=Role.CUSTOMER,
        organization=store.org,
        actor=store.admin,
    )
    db.session.commit()
    return user


def test_invitation_email_link_lets_the_contact_set_a_password_and_sign_in(
    client, store, run_jobs, mailbox
):
    invite(store)
    run_jobs()
    [message] = mailbox.to("new.person@contoso.example")
    link = re.search(r"http://localhost(/invite/\S+)", mailbox.text(message)).group(1)
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": STRONG, "confirm": STRONG})
    assert response.status_code == 302
    assert "New Person" in client.get("/").get_data(as_text=True)


def test_invitation_link_works_only_once(client, store):
    user = invite(store)
    link = f"/invite/{operations.invitation_token(user)}"
    client.post(link, data={"password": STRONG, "confirm": STRONG})
    client.post("/logout")
    response = client.get(link)
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)


def test_tampered_invitation_is_refused(client, store):
    user = invite(store)
    token = operations.invitation_token(user)
    response = client.get(f"/invite/{token[:-2]}xx")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_expired_invitation_says_so(client, store, app):
    user = invite(store)
    app.config["INVITE_MAX_AGE_DAYS"] = -1
    response = client.get(f"/invite/{operations.invitation_token(user)}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_invitation_signed_with_another_key_is_refused(client, store):
    user = invite(store)
    forged = URLSafeTimedSerializer("not-our-key", salt="invitation").dumps(
        {"uid": user.id, "state": "x"}
    )
    assert client.get(f"/invite/{forged}").status_code == 400


def test_short_or_mismatched_passwords_are_refused(client, store):
    user = invite(store)
    link = f"/invite/{operations.invitation_token(user)}"
    short = client.post(link, data={"password": "short", "confirm": "short"})
    assert short.status_code == 400
    assert "at least 10 characters" in short.get_data(as_text=True)
    mismatch = client.post(link, data={"password": STRONG, "confirm": "tangerine vortex organ"})
    assert "do not match" in mismatch.get_data(as_text=True)
    assert user.password_hash is None


def test_inviting_an_existing_email_is_refused(store):
    make_user(organization=store.org, email="taken@contoso.example")
    try:
        operations.invite_user(
            email="TAKEN@contoso.example",
            name="X",
            role=Role.CUSTOMER,
            organization=store.org,
            actor=store.admin,
        )
    except operations.AccountError as error:
        assert "already has an account" in str(error)
    else:
        raise AssertionError("duplicate invitation accepted")


def test_a_common_password_is_refused_with_advice_under_the_field(client, store):
    user = invite(store)
    link = f"/invite/{operations.invitation_token(user)}"
    response = client.post(link, data={"password": "password1234", "confirm": "password1234"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This is a very common password" in page
    assert 'class="invalid-feedback d-block"' in page
    db.session.refresh(user)
    assert user.password_hash is None


def test_a_password_made_of_the_users_own_name_and_email_is_refused(client, store):
    user = invite(store)
    link = f"/invite/{operations.invitation_token(user)}"
    guessable = "contosoexample"
    response = client.post(link, data={"password": guessable, "confirm": guessable})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.password_hash is None


def test_the_minimum_length_comes_from_the_configuration(client, store, app):
    app.config["PASSWORD_MIN_LENGTH"] = 24
    user = invite(store)
    link = f"/invite/{operations.invitation_token(user)}"
    response = client.post(link, data={"password": STRONG, "confirm": STRONG})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Use at least 24 characters." in page
    assert "At least 24 characters" in page  # the help under the field says the same
