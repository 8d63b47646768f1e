"""Organisations linked to EXISTING Autotask companies, against the sandbox: the organisation
page searches Autotask's active companies by name and links one by its Autotask id (read again
from Autotask); the next quote's opportunity goes to that company and no company is created;
unknown, inactive or already linked companies, a second link, a bad search, another
connection's id, customers and missing CSRF are refused and nothing is written."""

from __future__ import annotations

from tests.factories import login, make_organization
from tests.quotes.conftest import build_quote
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.integrations.models import ExternalLink


def page_urls(sandbox, organization):
    base = f"/admin/psa/connections/{sandbox.connection.id}/organizations/{organization.id}"
    return f"{base}/companies", f"{base}/company"


def company_links():
    return db.session.scalars(db.select(ExternalLink).filter_by(subject_type="organization")).all()


def seed(sandbox):
    keep = sandbox.add("Companies", CompanyName="Contoso Holdings", CompanyType=1,
                       Phone="555-0100", OwnerResourceID=1, IsActive=True)  # fmt: skip
    gone = sandbox.add("Companies", CompanyName="Contoso (old)", CompanyType=1,
                       Phone="555-0101", OwnerResourceID=1, IsActive=False)  # fmt: skip
    return keep, gone


def test_staff_search_and_link_an_existing_company_and_quotes_go_to_it(
    app, store, client, autotask, run_jobs
):
    keep, gone = seed(autotask)
    before = len(autotask.records("Companies"))
    search, link = page_urls(autotask, store.org)
    login(client, store.sales)
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert "Not linked yet" in page and search in page
    found = client.get(search, query_string={"q": "contoso"})
    assert found.status_code == 200
    text = found.get_data(as_text=True)
    assert "Contoso Holdings" in text and f'value="{keep}"' in text
    assert "Contoso (old)" not in text  # inactive companies are never offered
    response = client.post(link, data={"company_id": str(keep)})
    assert response.status_code == 303
    [saved] = company_links()
    assert (saved.subject_id, saved.remote_id) == (store.org.id, str(keep))
    assert saved.remote_number == "Contoso Holdings"
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert "Contoso Holdings" in page and "Not linked yet" not in page
    build_quote(store)
    run_jobs()
    [opportunity] = autotask.records("Opportunities")
    assert opportunity["CompanyID"] == keep
    assert len(autotask.records("Companies")) == before  # none created


def test_a_queued_company_create_takes_the_picked_company_instead(
    app, store, client, autotask, run_jobs
):
    from webapp.integrations.models import Delivery, DeliveryStatus
    from webapp.psa import sync

    keep, _ = seed(autotask)
    autotask.faults.fail_next(1, status=503, path="/V1.0/Companies")  # the create waits
    build_quote(store)
    run_jobs(allow_failures=True)
    company = db.session.scalar(db.select(Delivery).filter_by(kind=sync.COMPANY))
    assert company.status == DeliveryStatus.PENDING
    before = len(autotask.records("Companies"))
    login(client, store.sales)
    _, link = page_urls(autotask, store.org)
    assert client.post(link, data={"company_id": str(keep)}).status_code == 303
    company.next_attempt_at = None
    db.session.commit()
    from webapp.integrations.outbox import run_sync

    run_sync(autotask.connection)
    run_jobs()
    db.session.refresh(company)
    assert company.status == DeliveryStatus.CONFIRMED and company.remote_id == str(keep)
    assert len(autotask.records("Companies")) == before
    [opportunity] = autotask.records("Opportunities")
    assert opportunity["CompanyID"] == keep


def test_bad_links_are_refused_and_nothing_is_written(app, store, client, autotask, run_jobs):
    keep, gone = seed(autotask)
    other = make_organization("Northwind")
    db.session.commit()
    search, link = page_urls(autotask, store.org)
    login(client, store.sales)
    assert client.get(search, query_string={"q": "c"}).status_code == 400
    for value in ("", "abc", "999999", str(gone)):
        response = client.post(link, data={"company_id": value})
        assert response.status_code == 400, value
    assert "no active company" in client.post(link, data={"company_id": "999999"}).get_data(
        as_text=True
    )
    assert company_links() == []
    assert client.post(link, data={"company_id": str(keep)}).status_code == 303
    # A second company for the same organisation, the same company for another.
    again = client.post(link, data={"company_id": str(keep)})
    assert again.status_code == 400 and "already linked" in again.get_data(as_text=True)
    _, other_link = page_urls(autotask, other)
    taken = client.post(other_link, data={"company_id": str(keep)})
    assert taken.status_code == 400 and store.org.name in taken.get_data(as_text=True)
    assert core.link_for(autotask.connection.id, "organization", other.id) is None
    found = client.get(page_urls(autotask, other)[0], query_string={"q": "Contoso"})
    assert f"linked to {store.org.name}" in found.get_data(as_text=True)
    # Ids that name nothing.
    missing = f"/admin/psa/connections/{autotask.connection.id + 99}/organizations/{other.id}"
    assert client.post(f"{missing}/company", data={"company_id": str(keep)}).status_code == 404
    assert client.get(f"{missing}/companies", query_string={"q": "Contoso"}).status_code == 404
    nobody = f"/admin/psa/connections/{autotask.connection.id}/organizations/999999"
    assert client.post(f"{nobody}/company", data={"company_id": str(keep)}).status_code == 404
    assert len(company_links()) == 1


def test_customers_and_forged_posts_cannot_link(app, store, client, autotask):
    keep, _ = seed(autotask)
    search, link = page_urls(autotask, store.org)
    login(client, store.customer)
    assert client.get(search, query_string={"q": "Contoso"}).status_code == 404
    assert client.post(link, data={"company_id": str(keep)}).status_code == 404
    login(client, store.sales)
    assert client.post(link, data={"company_id": str(keep)}, csrf=False).status_code == 400
    assert company_links() == []
