"""Quotes become Autotask opportunities through the outbox (seed 002's settings), against the
sandbox: the company first, the configured stage / status / probability / owner, won and lost,
no duplicate after a create that may have reached Autotask, refusals named."""

from __future__ import annotations

from decimal import Decimal

from tests.factories import login
from tests.quotes.conftest import build_quote, link_path, send
from tests.quotes.test_approval import accept_form
from webapp.extensions import db
from webapp.integrations.models import Delivery, DeliveryStatus, Notification
from webapp.psa import operations, sync
from webapp.quotes import lifecycle

SETTINGS = {
    "opportunity_category": "2",
    "default_owner": "29682887",  # Pat Purchasing in the sandbox
    "created_stage": "3",
    "created_status": "1",
    "won_stage": "5",
    "won_status": "3",
    "lost_stage": "5",
    "lost_status": "2",
}


def opportunities(sandbox) -> list[dict]:
    return sandbox.records("Opportunities")


def test_a_new_quote_becomes_an_opportunity_of_a_new_company(app, store, autotask, run_jobs):
    quote = build_quote(store)
    run_jobs()
    companies = [c for c in autotask.records("Companies") if c["CompanyName"] == "Contoso"]
    assert len(companies) == 1
    assert companies[0]["CompanyNumber"] == sync.company_reference(store.org.id)
    [opportunity] = opportunities(autotask)
    assert opportunity["CompanyID"] == companies[0]["Id"]
    assert opportunity["Title"] == f"{quote.number} Laptop refresh"
    assert (opportunity["Stage"], opportunity["Status"], opportunity["Probability"]) == (3, 1, 40)
    assert opportunity["OpportunityCategoryID"] == 2
    # The sales rep is not an Autotask resource: the default owner is used.
    assert opportunity["OwnerResourceID"] == 29682887
    # Default selection: E16 x2 (1540) + T14 (1100, the first choice) + service 2 x 45 = 2730.
    assert Decimal(str(opportunity["Amount"])) == Decimal("2730")
    links = db.session.scalars(
        db.select(Delivery).where(Delivery.kind != sync.QUOTE_SYNC).order_by(Delivery.id)
    ).all()
    assert [d.status for d in links] == [DeliveryStatus.CONFIRMED, DeliveryStatus.CONFIRMED]


def test_the_quote_owner_is_the_owner_when_autotask_knows_them(app, store, autotask, run_jobs):
    store.sales.email = "sam@msp.example"  # a resource in the sandbox
    db.session.commit()
    build_quote(store)
    run_jobs()
    [opportunity] = opportunities(autotask)
    sam = next(r for r in autotask.records("Resources") if r["Email"] == "sam@msp.example")
    assert opportunity["OwnerResourceID"] == sam["Id"]


def test_won_and_lost_move_the_opportunity(app, store, client, autotask, run_jobs):
    won = build_quote(store)
    lost = build_quote(store)
    run_jobs()
    send(won)
    send(lost)
    assert (
        client.post(link_path(won, store.customer) + "/accept", data=accept_form(won)).status_code
        == 303
    )
    lifecycle.mark_lost(lost, store.sales, "Went with another MSP")
    db.session.commit()
    run_jobs()
    by_title = {o["Title"].split(" ")[0]: o for o in opportunities(autotask)}
    assert (by_title[won.number]["Stage"], by_title[won.number]["Status"]) == (5, 3)
    assert (by_title[lost.number]["Stage"], by_title[lost.number]["Status"]) == (5, 2)
    assert len(autotask.records("Companies")) == 2  # Northwind (seeded) and Contoso, once


def test_a_create_that_may_have_reached_autotask_is_looked_up_not_repeated(
    app, store, autotask, run_jobs
):
    """The worker died after Autotask created the opportunity, before we recorded it."""
    quote = build_quote(store)
    run_jobs()
    [created] = opportunities(autotask)
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.OPPORTUNITY))
    # As the outbox leaves it when the answer was lost: sent, may have reached Autotask.
    delivery.status = DeliveryStatus.SENT
    delivery.maybe_sent = True
    delivery.remote_id = ""
    db.session.commit()
    from webapp.integrations.outbox import run_sync

    run_sync(autotask.connection)
    assert len(opportunities(autotask)) == 1
    db.session.refresh(delivery)
    assert delivery.status == DeliveryStatus.CONFIRMED and delivery.remote_id == str(created["Id"])
    assert quote.number in delivery.remote_number


def test_an_organisation_without_a_phone_is_named_with_the_fix(app, store, autotask, run_jobs):
    store.org.phone = ""
    db.session.commit()
    build_quote(store)
    run_jobs()
    assert opportunities(autotask) == []
    note = db.session.scalar(db.select(Notification))
    assert "phone number" in note.message and "Contoso" in note.fix
    waiting = db.session.scalar(db.select(Delivery).filter_by(kind=sync.OPPORTUNITY))
    assert waiting.status == DeliveryStatus.WAITING


def test_the_sync_is_off_until_switched_on(app, store, autotask, run_jobs):
    operations.save_opportunity_options(
        autotask.connection, enabled=False, probability=40, choices=SETTINGS
    )
    db.session.commit()
    build_quote(store)
    run_jobs()
    assert opportunities(autotask) == []
    assert db.session.scalar(db.select(db.func.count(Delivery.id))) == 0


def test_settings_accept_only_autotask_values_and_warn_at_zero(app, store, client, autotask):
    login(client, store.admin)
    url = f"/admin/psa/connections/{autotask.connection.id}/opportunities"
    bad = client.post(url, data={**SETTINGS, "created_stage": "99", "probability": "40",
                                 "opportunities_enabled": "1"})  # fmt: skip
    assert bad.status_code == 400 and "not one of Autotask" in bad.get_data(as_text=True)
    for probability in ("101", "-1", "4.5", "abc"):
        response = client.post(url, data={**SETTINGS, "probability": probability})
        assert response.status_code == 400, probability
    missing = client.post(url, data={"probability": "40", "opportunities_enabled": "1"})
    assert missing.status_code == 400 and "choose one" in missing.get_data(as_text=True)
    ok = client.post(url, data={**SETTINGS, "probability": "0", "opportunities_enabled": "1"},
                     follow_redirects=True)  # fmt: skip
    assert ok.status_code == 200 and "0 %" in ok.get_data(as_text=True)
    page = client.get("/admin/psa/").get_data(as_text=True)
    assert "Propose" in page and 'name="won_stage"' in page
