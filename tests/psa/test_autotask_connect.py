"""Connecting Autotask: the zone is found and re-found, the check names what is missing, the
picklists are read into the settings, secrets are stored encrypted — against the sandbox."""

from __future__ import annotations

import json

import pytest

from tests.factories import login
from webapp.extensions import db
from webapp.integrations.models import ConnectionStatus
from webapp.psa import operations
from webapp.psa.models import PsaConnection


@pytest.fixture
def autotask(app, autotask_sandbox):
    app.config["AUTOTASK_ZONE_URL"] = autotask_sandbox.global_url
    app.config["AUTOTASK_API_BASE"] = ""
    return autotask_sandbox


def connect(sandbox, **changes) -> PsaConnection:
    values = {
        "username": sandbox.username,
        "secret": sandbox.secret,
        "integration_code": sandbox.integration_code,
        **changes,
    }
    connection = operations.connect_autotask(**values, actor="Admin")
    db.session.commit()
    return connection


def checks(connection) -> dict[str, dict]:
    return {item["name"]: item for item in connection.check_results}


def test_connecting_finds_the_zone_checks_the_user_and_stores_the_secret_encrypted(
    app, store, autotask
):
    connection = connect(autotask)
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.api_base == autotask.zone_url.rstrip("/")
    assert connection.check_passed, connection.check_results
    assert autotask.secret not in connection.token_ciphertext
    assert autotask.integration_code not in connection.token_ciphertext
    stored = operations.credentials(connection)
    assert (stored.secret, stored.integration_code) == (autotask.secret, autotask.integration_code)
    assert "requests used this hour" in checks(connection)["Sign-in"]["message"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"username": "nobody@sandbox.example"}, "could not find the zone"),
        ({"secret": "wrong"}, "refused the API user's credentials"),
        ({"integration_code": "WRONG"}, "refused the API user's credentials"),
        ({"secret": ""}, "Enter the API user name"),
    ],
)
def test_wrong_credentials_are_refused_with_a_reason_and_nothing_is_stored(
    app, store, autotask, changes, words
):
    with pytest.raises(operations.IntegrationRuleError, match=words):
        connect(autotask, **changes)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(PsaConnection.id))) == 0


def test_the_check_names_the_missing_crm_module(app, store, autotask_sandbox_factory):
    sandbox = autotask_sandbox_factory(modules=())
    app.config["AUTOTASK_ZONE_URL"] = sandbox.global_url
    connection = connect(sandbox)
    found = checks(connection)
    assert not connection.check_passed
    assert not found["Opportunities"]["ok"] and "CRM module" in found["Opportunities"]["message"]
    assert not found["Quotes"]["ok"]
    assert found["Tickets"]["ok"] and found["Companies"]["ok"]
    assert "Opportunities" in connection.last_error


def test_the_check_names_a_missing_permission_and_the_settings_an_empty_picklist(
    app, store, client, autotask_sandbox_factory, run_jobs
):
    sandbox = autotask_sandbox_factory(
        denied={"TicketCharges": ("canCreate",)}, retired_picklists=("Tickets.queueID",)
    )
    app.config["AUTOTASK_ZONE_URL"] = sandbox.global_url
    connection = connect(sandbox)
    found = checks(connection)
    assert not connection.check_passed
    charges = found["TicketCharges"]
    assert not charges["ok"]
    assert "may not create TicketCharges" in charges["message"]
    assert "security level" in charges["message"] and "module" not in charges["message"]
    assert found["Tickets"]["ok"] and found["Opportunities"]["ok"]
    run_jobs()
    db.session.expire_all()
    connection = db.session.get(PsaConnection, connection.id)
    assert "Tickets.queueID" in connection.picklists_error
    assert "Tickets.status" not in connection.picklists_error
    assert connection.choices("Tickets.queueID") == []
    login(client, store.admin)
    html = client.get("/admin/psa/").get_data(as_text=True)
    assert "Autotask has no active values in Tickets.queueID." in html
    assert "may not create TicketCharges" in html


def test_autotask_is_reached_over_https_only_outside_tests(app, store, autotask):
    app.config["INTEGRATIONS_ALLOW_HTTP"] = False
    with pytest.raises(operations.IntegrationRuleError, match="not HTTPS"):
        connect(autotask)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(PsaConnection.id))) == 0
    assert autotask.zone_lookups == 0 and autotask.requests == []


def test_a_moved_zone_is_found_again_on_401(app, store, autotask):
    connection = connect(autotask)
    lookups = autotask.zone_lookups
    autotask.move_zone()
    operations.run_check(connection)
    db.session.commit()
    assert connection.api_base == autotask.zone_url.rstrip("/")
    assert autotask.zone_lookups > lookups
    assert connection.check_passed


def test_picklists_are_read_by_a_job_and_offered_as_choices(app, store, autotask, run_jobs):
    connection = connect(autotask)
    assert connection.picklists_pending
    run_jobs()
    db.session.expire_all()
    connection = db.session.get(PsaConnection, connection.id)
    assert not connection.picklists_pending and connection.picklists_error == ""
    assert ("3", "Propose") in connection.choices("Opportunities.stage")
    assert ("8", "Sales Orders") in connection.choices("Tickets.queueID")
    assert connection.choices("TicketCharges.chargeType")


def test_the_settings_page_connects_and_never_shows_the_secret(
    app, store, client, autotask, run_jobs
):
    login(client, store.admin)
    page = client.post(
        "/admin/psa/autotask",
        data={
            "username": autotask.username,
            "secret": autotask.secret,
            "integration_code": autotask.integration_code,
        },
    )
    assert page.status_code == 303
    run_jobs()
    html = client.get("/admin/psa/").get_data(as_text=True)
    assert autotask.username in html and "Propose" in html
    assert autotask.secret not in html and autotask.integration_code not in html

    bad = client.post(
        "/admin/psa/autotask",
        data={"username": autotask.username, "secret": "nope", "integration_code": "X"},
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "refused the API user" in text and "nope" not in text


def test_only_admins_see_the_psa_settings(app, store, client, autotask):
    connection = connect(autotask)
    login(client, store.sales)
    assert client.get("/admin/psa/").status_code == 403
    assert client.post(f"/admin/psa/connections/{connection.id}/check").status_code == 403


def test_disconnecting_forgets_the_secret(app, store, client, autotask):
    connection = connect(autotask)
    login(client, store.admin)
    assert client.post(f"/admin/psa/connections/{connection.id}/disconnect").status_code == 303
    db.session.expire_all()
    connection = db.session.get(PsaConnection, connection.id)
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.token_ciphertext == ""
    assert json.dumps(connection.check_results)  # the last check stays readable


def test_the_picklists_block_polls_while_a_read_runs(app, store, client, autotask, run_jobs):
    connection = connect(autotask)
    login(client, store.admin)
    url = f"/admin/psa/connections/{connection.id}/picklists"
    waiting = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Reading picklists" in waiting and 'hx-trigger="every 2s"' in waiting
    assert "<html" not in waiting  # the block alone
    run_jobs()
    done = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "every 2s" not in done and "Propose" in done


@pytest.mark.parametrize("status", [500, 400, 429])
def test_the_thread_limit_error_is_a_throttle_whatever_its_status(status):
    import requests

    from webapp.integrations.interfaces import PermanentError, RateLimited
    from webapp.psa.autotask.client import classify

    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(
        {"errors": ["Thread Threshold Exceeded - 3 threads. Itgenatr005"]}
    ).encode()
    found = classify(response)
    if status == 429:
        assert found is None  # the channel handles 429 with its Retry-After
    else:
        assert isinstance(found, RateLimited)
    response._content = json.dumps({"errors": ["Missing Required Field: title."]}).encode()
    response.status_code = 500
    assert isinstance(classify(response), PermanentError)


def test_credentials_that_cannot_travel_in_a_header_are_refused_by_the_form(
    app, store, client, autotask
):
    # The fuzz test found this: a non-ASCII integration code reached the HTTP library (500).
    login(client, store.admin)
    page = client.post(
        "/admin/psa/autotask",
        data={
            "username": autotask.username,
            "secret": autotask.secret,
            "integration_code": "code\x85é",
        },
    )
    assert page.status_code == 400  # the page answers form refusals with 400
    assert "no spaces or accented characters" in page.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(PsaConnection.id))) == 0
