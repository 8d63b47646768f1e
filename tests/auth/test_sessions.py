"""Sessions end when they should: sign-out, a new password and a deactivation end every
session and remember-me cookie of the user, including copies taken before."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from tests.factories import PASSWORD, login
from webapp import config
from webapp.extensions import db

NEW_PASSWORD = "tangerine vortex piano"


def _replay(app, **cookies):
    """A new client (another browser) holding only the given cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def _refused(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["Location"]


def _remember_header(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_")]
    return header


def test_a_session_cookie_copied_before_sign_out_is_refused_after_it(app, client, store):
    login(client, store.customer)
    copied = client.get_cookie("session").value
    assert client.get("/cart").status_code == 200
    assert _replay(app, session=copied).get("/cart").status_code == 200  # the copy works...
    client.post("/logout")
    assert _refused(_replay(app, session=copied).get("/cart"))  # ...until the user signs out


def test_signing_out_ends_the_users_sessions_on_other_devices_too(app, client, store):
    login(client, store.customer)
    laptop = app.test_client()
    login(laptop, store.customer)
    laptop.post("/logout")
    assert _refused(client.get("/cart"))


def test_a_remember_me_cookie_copied_before_sign_out_is_refused_after_it(app, client, store):
    client.post(
        "/login", data={"email": store.customer.email, "password": PASSWORD, "remember": "y"}
    )
    remembered = client.get_cookie("remember_token").value
    assert _replay(app, remember_token=remembered).get("/cart").status_code == 200
    client.post("/logout")
    assert _refused(_replay(app, remember_token=remembered).get("/cart"))


def test_a_password_change_ends_every_other_session(app, client, store):
    login(client, store.customer)
    copied = client.get_cookie("session").value
    phone = app.test_client()
    login(phone, store.customer)
    response = phone.post(
        "/account",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert _refused(client.get("/cart"))
    assert _refused(_replay(app, session=copied).get("/cart"))
    assert phone.get("/cart").status_code == 200  # the session that changed it goes on


def test_a_password_change_keeps_remember_me_on_that_device_with_a_new_cookie(app, store):
    phone = app.test_client()
    phone.post(
        "/login", data={"email": store.customer.email, "password": PASSWORD, "remember": "y"}
    )
    old = phone.get_cookie("remember_token").value
    phone.post(
        "/account",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    new = phone.get_cookie("remember_token").value
    assert new != old
    assert _refused(_replay(app, remember_token=old).get("/cart"))
    assert _replay(app, remember_token=new).get("/cart").status_code == 200


def test_a_deactivation_ends_every_session_for_good(app, client, store):
    login(client, store.sales)
    copied = client.get_cookie("session").value
    admin = app.test_client()
    login(admin, store.admin)
    assert admin.post(f"/admin/users/{store.sales.id}/active", data={"active": "0"}).status_code
    assert _refused(_replay(app, session=copied).get("/admin/"))
    admin.post(f"/admin/users/{store.sales.id}/active", data={"active": "1"})
    # Reactivated: they sign in again; what was copied before stays dead.
    assert _refused(_replay(app, session=copied).get("/admin/"))
    assert _refused(client.get("/admin/"))
    login(client, store.sales)
    assert client.get("/admin/").status_code == 200


def test_a_cookie_without_the_session_token_is_refused(app, client, store):
    """A session cookie holding only the user id (as issued before session tokens) or a
    token of the wrong shape is no way in."""
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    login(client, store.customer)
    real = serializer.loads(client.get_cookie("session").value)
    assert _replay(app, session=serializer.dumps(real)).get("/cart").status_code == 200
    for user_id in (str(store.customer.id), f"{store.customer.id}:", f"{store.customer.id}:é"):
        forged = serializer.dumps({**real, "_user_id": user_id})
        assert _refused(_replay(app, session=forged).get("/cart"))


def test_remember_me_lasts_two_weeks_and_is_httponly_and_samesite(client, store):
    response = client.post(
        "/login", data={"email": store.customer.email, "password": PASSWORD, "remember": "y"}
    )
    header = _remember_header(response)
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])
    left = expires - datetime.now(UTC)
    assert timedelta(days=13, hours=23) < left <= timedelta(days=14)


def test_remember_me_cookie_is_secure_when_configured(app, client, store):
    app.config["REMEMBER_COOKIE_SECURE"] = True
    response = client.post(
        "/login", data={"email": store.customer.email, "password": PASSWORD, "remember": "y"}
    )
    assert "Secure" in _remember_header(response)


def test_remember_me_cookie_is_secure_unless_turned_off_with_the_session_cookie(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert config.from_environment(Path(tmp_path))["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")  # what `make run` sets for http
    assert config.from_environment(Path(tmp_path))["REMEMBER_COOKIE_SECURE"] is False
    monkeypatch.setenv("REMEMBER_COOKIE_DAYS", "3")
    assert config.from_environment(Path(tmp_path))["REMEMBER_COOKIE_DURATION"] == timedelta(3)


def test_each_user_has_their_own_session_token(store):
    tokens = {store.customer.session_token, store.sales.session_token, store.admin.session_token}
    assert len(tokens) == 3
    before = store.customer.session_token
    store.customer.set_password(NEW_PASSWORD)
    db.session.flush()
    assert store.customer.session_token != before


def _remembered(app, store):
    """A browser that signed in with "Keep me signed in", and its remember-me cookie."""
    browser = app.test_client()
    browser.post(
        "/login", data={"email": store.customer.email, "password": PASSWORD, "remember": "y"}
    )
    return browser, browser.get_cookie("remember_token").value


def _expires(header: str) -> datetime:
    return parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])


def test_each_use_of_remember_me_replaces_the_cookie_and_the_used_one_stops_working(app, store):
    app.config["REMEMBER_COOKIE_GRACE_SECONDS"] = 0
    _, first = _remembered(app, store)
    reopened = _replay(app, remember_token=first)  # the browser restarted: no session cookie
    assert reopened.get("/cart").status_code == 200
    second = reopened.get_cookie("remember_token").value
    assert second != first
    assert _replay(app, remember_token=second).get("/cart").status_code == 200
    assert _refused(_replay(app, remember_token=first).get("/cart"))


def test_a_used_remember_me_cookie_played_again_ends_that_device_for_everyone(app, store):
    """The used cookie coming back means two browsers hold the device's cookie: one stole it."""
    app.config["REMEMBER_COOKIE_GRACE_SECONDS"] = 0
    _, first = _remembered(app, store)
    thief = _replay(app, remember_token=first)
    assert thief.get("/cart").status_code == 200  # the thief used it first
    stolen = thief.get_cookie("remember_token").value
    assert _refused(_replay(app, remember_token=first).get("/cart"))  # the owner comes back
    assert _refused(_replay(app, remember_token=stolen).get("/cart"))  # the thief's is dead too


def test_requests_sent_together_with_the_cookie_just_replaced_are_let_in(app, store):
    """A browser restoring several tabs sends the same cookie in each at once."""
    app.config["REMEMBER_COOKIE_GRACE_SECONDS"] = 30
    _, first = _remembered(app, store)
    assert _replay(app, remember_token=first).get("/cart").status_code == 200
    assert _replay(app, remember_token=first).get("/cart").status_code == 200


def test_remember_me_rotation_keeps_the_bound_set_at_sign_in(app, store):
    browser = app.test_client()
    response = browser.post(
        "/login", data={"email": store.customer.email, "password": PASSWORD, "remember": "y"}
    )
    bound = _expires(_remember_header(response))
    reopened = _replay(app, remember_token=browser.get_cookie("remember_token").value)
    response = reopened.get("/cart")
    assert _expires(_remember_header(response)) == bound  # using it does not extend it


def test_a_remember_me_cookie_past_its_bound_is_refused_whatever_the_browser_keeps(app, store):
    from sqlalchemy import update

    from webapp.auth.models import RememberedDevice
    from webapp.models_base import utcnow

    _, cookie = _remembered(app, store)
    db.session.execute(update(RememberedDevice).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert _refused(_replay(app, remember_token=cookie).get("/cart"))


def test_a_remember_me_cookie_from_before_devices_is_refused(app, store):
    """Flask-Login's own cookie (a signed user id) had no bound on the server."""
    from flask_login.utils import encode_cookie

    with app.test_request_context():
        legacy = encode_cookie(store.customer.get_id())
    assert _refused(_replay(app, remember_token=legacy).get("/cart"))


def test_signing_out_on_one_device_ends_remember_me_on_the_others(app, client, store):
    _, laptop = _remembered(app, store)
    phone, _ = _remembered(app, store)
    phone.post("/logout")
    assert _refused(_replay(app, remember_token=laptop).get("/cart"))


def test_a_hostile_remember_me_cookie_is_no_way_in_and_no_error(app, store):
    series = "A" * 32
    for value in (f"{series}.\x00{series}", f"{series}.{series}", "é.é", "." * 200, ""):
        assert _refused(_replay(app, remember_token=value).get("/cart"))


def _htmx_after_session_ended(app, client, store, current_url: str | None):
    """The customer's session ends elsewhere; then the page they still show adds to cart."""
    login(client, store.customer)
    laptop = app.test_client()
    login(laptop, store.customer)
    laptop.post("/logout")  # every session of the user ends
    headers = {"HX-Request": "true"}
    if current_url is not None:
        headers["HX-Current-URL"] = current_url
    data = {"product_id": store.products[0].id, "quantity": "1"}
    response = client.post("/cart/add", data=data, headers=headers)
    assert response.status_code == 204
    return response.headers["HX-Redirect"]


def test_an_htmx_request_after_the_session_ended_returns_to_the_page_shown(app, client, store):
    page = "/search?q=ssd&sort=price"
    target = _htmx_after_session_ended(app, client, store, "http://localhost" + page)
    assert target == "/login?next=/search?q%3Dssd%26sort%3Dprice"  # not /cart/add
    signed_in = client.post(target, data={"email": store.customer.email, "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == page


def test_an_htmx_request_from_another_site_or_without_its_url_goes_home_after_sign_in(
    app, client, store
):
    for current_url in ("https://evil.example/search?q=ssd", "//evil.example/", None):
        target = _htmx_after_session_ended(app, client, store, current_url)
        assert target == "/login", current_url
        client.post("/logout")


def test_an_htmx_post_whose_session_cookie_expired_signs_in_and_returns(client, store):
    login(client, store.customer)
    token = client.get("/__test__/csrf").get_data(as_text=True)
    client.delete_cookie("session")  # the cookie's lifetime ran out: no session, no CSRF secret
    page = "/search?q=ssd"
    response = client.post(
        "/cart/add",
        data={"product_id": store.products[0].id, "quantity": "1", "csrf_token": token},
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost" + page},
        csrf=False,
    )
    assert response.headers["HX-Redirect"] == "/login?next=/search?q%3Dssd"
    signed_in = client.post(
        response.headers["HX-Redirect"],
        data={"email": store.customer.email, "password": PASSWORD},
    )
    assert signed_in.headers["Location"] == page


def test_a_forged_htmx_post_in_a_live_session_is_still_refused_as_csrf(client, store):
    login(client, store.customer)
    response = client.post(
        "/cart/add",
        data={"product_id": store.products[0].id, "quantity": "1", "csrf_token": "forged"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/"},
        csrf=False,
    )
    assert response.status_code == 400 and "HX-Redirect" not in response.headers
