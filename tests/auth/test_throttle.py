"""Sign-in throttling counts failures, per account and per address; successes cost nothing."""

from tests.factories import PASSWORD, make_user
from webapp.extensions import db


def _sign_in(client, email: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _assert_throttled(response):
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    page = response.get_data(as_text=True)
    assert "Too many attempts to sign in" in page
    assert "do not match" not in page  # a throttled guess learns nothing about the password


def test_five_failures_on_one_account_throttle_it_from_any_address(client, store):
    for n in range(5):
        response = _sign_in(client, store.customer.email, "wrong-guess", f"10.0.0.{n + 1}")
        assert response.status_code == 401
    # Even the right password, from an address never seen before, waits.
    _assert_throttled(_sign_in(client, store.customer.email, PASSWORD, "10.9.9.9"))
    assert client.get("/cart").status_code == 302
    # Another account from the same addresses is not locked out.
    assert _sign_in(client, store.sales.email, PASSWORD, "10.0.0.1").status_code == 302


def test_one_password_sprayed_over_many_accounts_from_one_address_is_throttled(client, store):
    for n in range(20):  # LOGIN_ADDRESS_LIMIT: 20 per 15 minutes
        response = _sign_in(client, f"person{n}@contoso.example", "Summer2026!", "10.1.1.1")
        assert response.status_code == 401
    _assert_throttled(_sign_in(client, store.customer.email, PASSWORD, "10.1.1.1"))
    # Elsewhere the same account signs in.
    assert _sign_in(client, store.customer.email, PASSWORD, "10.2.2.2").status_code == 302


def test_successful_sign_ins_use_no_budget(client, store):
    for _ in range(25):  # more than both limits
        assert _sign_in(client, store.customer.email, PASSWORD).status_code == 302
        client.post("/logout")


def test_a_success_forgives_the_accounts_earlier_failures(client, store):
    for _ in range(4):
        assert _sign_in(client, store.customer.email, "wrong-guess").status_code == 401
    assert _sign_in(client, store.customer.email, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):
        assert _sign_in(client, store.customer.email, "wrong-guess").status_code == 401
    assert _sign_in(client, store.customer.email, PASSWORD).status_code == 302


def test_the_limits_come_from_the_configuration(client, store, app):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "2 per minute"
    for _ in range(2):
        _sign_in(client, store.customer.email, "wrong-guess")
    response = _sign_in(client, store.customer.email, PASSWORD)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_the_sign_in_form_still_shows_while_throttled(client, store, app):
    app.config["LOGIN_ADDRESS_LIMIT"] = "1 per minute"
    _sign_in(client, store.customer.email, "wrong-guess")
    assert client.get("/login").status_code == 200
    _assert_throttled(_sign_in(client, store.customer.email, PASSWORD))


def test_an_unknown_email_is_throttled_like_a_real_one(client, store):
    """The same answers for accounts that do not exist: throttling tells nobody who has one."""
    make_user(organization=store.org, email="real@contoso.example")
    db.session.commit()
    for email in ("real@contoso.example", "ghost@contoso.example"):
        for _ in range(5):
            assert _sign_in(client, email, "wrong-guess").status_code == 401
        assert _sign_in(client, email, "wrong-guess").status_code == 429
