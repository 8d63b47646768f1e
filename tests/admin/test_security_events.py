"""Admins see the security events (who, what, when, from where), paginated; no one else does."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.factories import PASSWORD, login
from webapp.admin.views import EVENTS_PER_PAGE
from webapp.extensions import db
from webapp.security import SecurityEvent, log_event


def _rows(page: str) -> list[str]:
    body = page.split('id="security-events"')[1].split("</table>")[0]
    return re.findall(r"<tr class=.*?</tr>", body, flags=re.S)


def test_a_refused_sign_in_is_kept_and_shown_to_admins_with_who_what_when_and_where(client, store):
    client.post(
        "/login",
        data={"email": store.sales.email, "password": "not the password"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    # The refused sign-in committed nothing, yet its event was kept.
    stored = db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.event == "auth.login.failed")
    ).one()
    assert (stored.user_id, stored.ip) == (store.sales.id, "203.0.113.9")
    assert "not the password" not in str(stored.details)

    login(client, store.admin)
    page = client.get("/admin/security-events").get_data(as_text=True)
    [row] = [r for r in _rows(page) if "auth.login.failed" in r]
    assert store.sales.name in row and "203.0.113.9" in row
    assert stored.created_at.strftime("%Y-%m-%d %H:%M") in row
    assert "not the password" not in page
    assert 'href="/admin/security-events"' in page  # in the admin sidebar


def test_other_staff_are_refused_and_the_refusal_is_itself_an_event(client, store):
    login(client, store.sales, PASSWORD)
    assert client.get("/admin/security-events").status_code == 403
    denied = db.session.scalars(
        select(SecurityEvent).where(SecurityEvent.event == "access.denied")
    ).one()
    assert denied.user_id == store.sales.id and denied.route == "/admin/security-events"
    client.post("/logout")
    login(client, store.customer)
    assert client.get("/admin/security-events").status_code == 404


def test_events_are_paginated_newest_first(client, store, app):
    login(client, store.admin)  # its own event is the oldest

    def count() -> int:
        return db.session.scalar(select(func.count()).select_from(SecurityEvent))

    with app.test_request_context():  # a request's events are stored when it ends
        for n in range(EVENTS_PER_PAGE):
            log_event("test.event", number=n)
        assert count() == 1
    assert count() == EVENTS_PER_PAGE + 1
    for n in range(EVENTS_PER_PAGE, EVENTS_PER_PAGE + 3):
        log_event("test.event", number=n)  # outside a request (a job): stored at once
    assert count() == EVENTS_PER_PAGE + 4
    first = client.get("/admin/security-events").get_data(as_text=True)
    numbers = [int(m) for m in re.findall(r"number: (\d+)", first)]
    assert len(numbers) == EVENTS_PER_PAGE
    assert numbers == sorted(numbers, reverse=True)
    assert "Page 1" in first and "?page=2" in first
    second = client.get("/admin/security-events?page=2").get_data(as_text=True)
    later = [int(m) for m in re.findall(r"number: (\d+)", second)]
    assert later == [2, 1, 0]
    assert client.get("/admin/security-events?page=0").status_code == 400


def _aged(days_ago: int, event: str) -> SecurityEvent:
    from datetime import timedelta

    from webapp.models_base import utcnow

    row = SecurityEvent(
        created_at=utcnow() - timedelta(days=days_ago), event=event, level="INFO", details={}
    )
    db.session.add(row)
    return row


def test_the_nightly_job_prunes_events_older_than_the_retention(app, store):
    from workers.schedule import SCHEDULE
    from workers.security import prune_security_events

    [entry] = [p for p in SCHEDULE if p.func == "workers.security.prune_security_events"]
    assert entry.cron == "53 3 * * *"  # once a night
    assert app.config["SECURITY_EVENTS_RETENTION_DAYS"] == 365  # the default
    _aged(400, "old.enough")
    _aged(366, "just.past")
    _aged(364, "kept")
    db.session.commit()
    before = {e.event for e in db.session.scalars(select(SecurityEvent))}
    assert prune_security_events() == 2
    db.session.expire_all()
    after = {e.event for e in db.session.scalars(select(SecurityEvent))}
    assert after == before - {"old.enough", "just.past"}
    app.config["SECURITY_EVENTS_RETENTION_DAYS"] = 30
    assert prune_security_events() == 1  # "kept" is 364 days old
    assert prune_security_events() == 0


def test_a_retention_of_zero_keeps_every_event(app, store):
    from workers.security import prune_security_events

    app.config["SECURITY_EVENTS_RETENTION_DAYS"] = 0
    _aged(5000, "ancient")
    db.session.commit()
    assert prune_security_events() == 0
    assert db.session.scalars(select(SecurityEvent).where(SecurityEvent.event == "ancient")).one()


def test_the_retention_is_read_from_the_environment_and_a_typo_stops_the_start(
    monkeypatch, tmp_path
):
    import pytest

    from webapp.config import from_environment

    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("SECURITY_EVENTS_RETENTION_DAYS", "90")
    assert from_environment(tmp_path)["SECURITY_EVENTS_RETENTION_DAYS"] == 90
    monkeypatch.setenv("SECURITY_EVENTS_RETENTION_DAYS", "0")
    assert from_environment(tmp_path)["SECURITY_EVENTS_RETENTION_DAYS"] == 0
    for typo in ("-1", "1y", "365.5", ""):
        monkeypatch.setenv("SECURITY_EVENTS_RETENTION_DAYS", typo)
        with pytest.raises(ValueError, match="SECURITY_EVENTS_RETENTION_DAYS"):
            from_environment(tmp_path)
