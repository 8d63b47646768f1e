import re

from itsdangerous import URLSafeTimedSerializer

from tests.factories import make_user
from webapp.auth import operations
from webapp.auth.models import Role
from webapp.extensions import db


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
    response = client.post(link, data={"password": "a long password", "confirm": "a long password"})
    assert response.status_code == 302
    assert "New Person" in client.get("/").get_data(as_text=True)


def test_invitation_link_works_only_once(client, store):
    user = invite(store)
    link = f"/invite/{operations.invitation_token(user)}"
    client.post(link, data={"password": "a long password", "confirm": "a long password"})
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
    mismatch = client.post(link, data={"password": "a long password", "confirm": "another one!"})
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
