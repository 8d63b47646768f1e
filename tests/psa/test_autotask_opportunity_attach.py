"""Quotes attached to an EXISTING Autotask opportunity of their company, against the sandbox.

The quote page lists the open opportunities of the linked company; staff attach one. A create
still queued confirms with the picked one and creates nothing; a quote whose opportunity we
already created is re-pointed (ours is left alone, the timeline says so) and its Autotask quote
is made on the picked one; won / lost go to the picked one. Another company's, closed,
unknown or already attached (to this quote) opportunities, closed quotes, organisations with
no company, other connections' ids, customers and missing CSRF are refused and nothing is
written. An opportunity carrying another of our quotes is offered (see test_autotask_primary_quote).
"""

from __future__ import annotations

from tests.factories import login, make_organization
from tests.psa.test_autotask_companies import page_urls
from tests.psa.test_autotask_quotes import autotask_quote, items_of
from tests.quotes.conftest import build_quote, send
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import Delivery, DeliveryStatus
from webapp.psa import sync
from webapp.quotes import lifecycle


def urls(sandbox, quote):
    base = f"/admin/psa/connections/{sandbox.connection.id}/quotes/{quote.id}"
    return f"{base}/opportunities", f"{base}/opportunity"


def add_company(sandbox, name="Contoso Holdings"):
    return sandbox.add("Companies", CompanyName=name, CompanyType=1, Phone="555-0100",
                       OwnerResourceID=1, IsActive=True)  # fmt: skip


def add_opportunity(sandbox, company_id, title="Fleet renewal", status=1):
    return sandbox.add("Opportunities", CompanyID=company_id, Title=title, Status=status,
                       Stage=2, Probability=30, Amount=0, Cost=0,
                       OwnerResourceID=29682887)  # fmt: skip


def opportunity_link(sandbox, quote):
    return core.link_for(sandbox.connection.id, sync.QUOTE, quote.id)


def test_a_queued_create_confirms_with_the_picked_opportunity(
    app, store, client, quoting, run_jobs
):
    company = add_company(quoting)
    picked = add_opportunity(quoting, company)
    add_opportunity(quoting, company, title="Old deal", status=2)  # lost: never offered
    login(client, store.sales)
    assert (
        client.post(page_urls(quoting, store.org)[1], data={"company_id": str(company)}).status_code
        == 303
    )
    quote = build_quote(store)  # its opportunity create is queued, not sent yet
    listing, attach = urls(quoting, quote)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert listing in page and "No opportunity yet" in page
    found = client.get(listing).get_data(as_text=True)
    assert "Fleet renewal" in found and f'value="{picked}"' in found and "Old deal" not in found
    assert client.post(attach, data={"opportunity_id": str(picked)}).status_code == 303
    run_jobs()
    before = quoting.records("Opportunities")
    assert len(before) == 2  # none created
    delivery = db.session.scalar(db.select(Delivery).filter_by(kind=sync.OPPORTUNITY))
    assert delivery.status == DeliveryStatus.CONFIRMED and delivery.remote_id == str(picked)
    assert autotask_quote(quoting, quote)["OpportunityID"] == picked
    [event] = [e for e in quote.events if e.type == "psa_opportunity"]
    assert "none is created" in event.message and "Fleet renewal" in event.message
    send(quote)
    lifecycle.mark_lost(quote, store.sales, "Went elsewhere")
    db.session.commit()
    run_jobs()
    assert quoting.record("Opportunities", picked)["Status"] == 2  # the lost status


def test_a_created_opportunity_is_left_alone_and_the_quote_repointed(
    app, store, client, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    [ours] = quoting.records("Opportunities")
    first_quote = autotask_quote(quoting, quote)
    picked = add_opportunity(quoting, ours["CompanyID"])
    login(client, store.sales)
    _, attach = urls(quoting, quote)
    assert client.post(attach, data={"opportunity_id": str(picked)}).status_code == 303
    assert opportunity_link(quoting, quote).remote_id == str(picked)
    db.session.refresh(quote)
    [event] = [e for e in quote.events if e.type == "psa_opportunity"]
    assert f"(id {ours['Id']}) we created is left as it is" in event.message
    assert f"with the Autotask quote {quote.number} on it" in event.message
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert "Fleet renewal" in page and "left as it is" in page
    run_jobs()
    made = [q for q in quoting.records("Quotes") if q["OpportunityID"] == picked]
    assert len(made) == 1 and len(items_of(quoting, made[0]["Id"])) == 5
    assert len(items_of(quoting, first_quote["Id"])) == 5  # ours stays as it was
    assert quoting.record("Opportunities", ours["Id"]) == ours
    send(quote)
    lifecycle.mark_lost(quote, store.sales, "Went elsewhere")
    db.session.commit()
    run_jobs()
    assert quoting.record("Opportunities", picked)["Status"] == 2
    assert quoting.record("Opportunities", ours["Id"])["Status"] == ours["Status"]


def test_bad_picks_are_refused_with_the_reason_and_nothing_is_written(
    app, store, client, quoting, run_jobs
):
    quote, other_quote = build_quote(store), build_quote(store)
    run_jobs()
    ours = opportunity_link(quoting, quote).remote_id
    company = int(core.link_for(quoting.connection.id, "organization", store.org.id).remote_id)
    closed = add_opportunity(quoting, company, title="Closed deal", status=3)
    elsewhere = add_opportunity(quoting, add_company(quoting, "Fabrikam"), title="Theirs")
    login(client, store.sales)
    listing, attach = urls(quoting, quote)
    found = client.get(listing).get_data(as_text=True)
    assert "Closed deal" not in found and "Theirs" not in found
    assert f"also carries {other_quote.number}" in found  # several quotes: not refused
    reasons = {
        "": "pick an opportunity",
        "abc": "pick an opportunity",
        "999999": "no opportunity with id 999999",
        str(elsewhere): "belongs to another company",
        str(closed): "closed, not open",
        ours: "already attached to that opportunity",
    }
    for value, reason in reasons.items():
        response = client.post(attach, data={"opportunity_id": value})
        assert response.status_code == 400, value
        assert reason in response.get_data(as_text=True), value
    assert opportunity_link(quoting, quote).remote_id == ours
    assert not [e for e in quote.events if e.type == "psa_opportunity"]
    # A quote no longer open; an organisation with no Autotask company yet.
    send(other_quote)
    lifecycle.mark_lost(other_quote, store.sales, "Went elsewhere")
    db.session.commit()
    fresh = add_opportunity(quoting, company, title="Fresh")
    lost = client.post(urls(quoting, other_quote)[1], data={"opportunity_id": str(fresh)})
    assert lost.status_code == 400 and "only an open quote" in lost.get_data(as_text=True)
    northwind = make_organization("Unlinked Ltd")
    db.session.commit()
    unlinked = build_quote(store)
    unlinked.organization_id = northwind.id
    db.session.commit()
    response = client.post(urls(quoting, unlinked)[1], data={"opportunity_id": str(fresh)})
    assert response.status_code == 400 and "no Autotask company yet" in response.get_data(
        as_text=True
    )
    assert client.get(urls(quoting, unlinked)[0]).status_code == 400
    # Ids that name nothing, customers, a forged post.
    missing = f"/admin/psa/connections/{quoting.connection.id + 99}/quotes/{quote.id}"
    assert (
        client.post(f"{missing}/opportunity", data={"opportunity_id": str(fresh)}).status_code
        == 404
    )
    nobody = f"/admin/psa/connections/{quoting.connection.id}/quotes/999999"
    assert (
        client.post(f"{nobody}/opportunity", data={"opportunity_id": str(fresh)}).status_code == 404
    )
    assert client.post(attach, data={"opportunity_id": str(fresh)}, csrf=False).status_code == 400
    client.post("/logout")
    login(client, store.customer)
    assert client.get(listing).status_code == 404
    assert client.post(attach, data={"opportunity_id": str(fresh)}).status_code == 404
    assert opportunity_link(quoting, quote).remote_id == ours
