"""Security headers on every response (webapp/security.py, issue 13)."""

from __future__ import annotations

import re

import pytest

from tests.factories import login
from tests.quotes.conftest import build_quote, link_path, send
from webapp.config import from_environment


def policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in header.split("; ")}


@pytest.mark.parametrize("url", ["/login", "/static/app.css", "/no-such-page"])
def test_every_response_refuses_framing_sniffing_and_inline_code(client, url):
    response = client.get(url)
    directives = policy(response)
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]


def test_each_response_has_its_own_script_nonce(client):
    first, second = (policy(client.get("/login"))["script-src"] for _ in range(2))
    assert re.fullmatch(r"'self' 'nonce-[\w-]{20,}'", first) and first != second


def test_signed_in_pages_are_not_stored_but_static_files_are_cacheable(client, store):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(client, store.customer)
    for url in ("/", "/cart", "/orders"):
        response = client.get(url)
        assert "no-store" in response.headers["Cache-Control"], url
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")
    login(client, store.admin)
    assert "no-store" in client.get("/admin/").headers["Cache-Control"]


def test_an_approval_link_page_sends_no_referrer_and_is_not_stored(client, store):
    quote = build_quote(store, recipients=[store.customer])
    send(quote)
    response = client.get(link_path(quote, store.customer))
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]
    assert policy(response)["frame-ancestors"] == "'none'"


def test_session_cookies_are_secure_unless_turned_off(monkeypatch, tmp_path):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("SECRET_KEY", "x")
    settings = from_environment(tmp_path)
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")
    assert not from_environment(tmp_path)["SESSION_COOKIE_SECURE"]
