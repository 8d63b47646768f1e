"""Our contacts linked to Autotask contacts of the organisation's company, against the sandbox:
the organisation page lists the company's active contacts and links one by its Autotask id
(read again from Autotask) or creates ours there; the link is the contactID of the quote's
opportunity and Autotask quote (its first recipient) and of the order's ticket (its customer).
Another company's, inactive or unknown contacts, a second link, a contact of another
organisation, a create whose email Autotask already has, customers and missing CSRF are refused
and nothing is written."""

from __future__ import annotations

from tests.factories import login, make_user
from tests.psa.test_autotask_companies import page_urls
from tests.psa.test_autotask_quotes import autotask_quote
from tests.psa.test_autotask_tickets import order
from tests.quotes.conftest import build_quote
from webapp.extensions import db
from webapp.integrations.models import ExternalLink


def contact_links():
    return db.session.scalars(db.select(ExternalLink).filter_by(subject_type="contact")).all()


def seed(sandbox, client, store):
    company = sandbox.add("Companies", CompanyName="Contoso Holdings", CompanyType=1,
                          Phone="555-0100", OwnerResourceID=1, IsActive=True)  # fmt: skip
    ann = sandbox.add("Contacts", CompanyID=company, FirstName="Ann", LastName="Buyer",
                      EmailAddress="buyer@contoso.example", IsActive=1)  # fmt: skip
    login(client, store.sales)
    assert (
        client.post(page_urls(sandbox, store.org)[1], data={"company_id": str(company)}).status_code
        == 303
    )
    return company, ann


def urls(sandbox, organization):
    base = f"/admin/psa/connections/{sandbox.connection.id}/organizations/{organization.id}"
    return f"{base}/contacts"


def test_link_a_contact_and_it_is_the_contact_of_the_opportunity_and_quote(
    app, store, client, quoting, run_jobs
):
    company, ann = seed(quoting, client, store)
    url = urls(quoting, store.org)
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert "Contacts in Autotask" in page and url in page
    listing = client.get(url).get_data(as_text=True)
    assert "Ann Buyer" in listing and f'value="{ann}" selected' in listing  # same email
    assert (
        client.post(url, data={"user_id": store.customer.id, "contact_id": str(ann)}).status_code
        == 303
    )
    [link] = contact_links()
    assert (link.subject_id, link.remote_id, link.remote_number) == (
        store.customer.id,
        str(ann),
        "Ann Buyer",
    )
    quote = build_quote(store, recipients=[store.customer])
    run_jobs()
    [opportunity] = quoting.records("Opportunities")
    assert opportunity["ContactID"] == ann and opportunity["CompanyID"] == company
    assert autotask_quote(quoting, quote)["ContactID"] == ann


def test_create_a_contact_in_autotask_once(app, store, client, autotask, run_jobs):
    company, ann = seed(autotask, client, store)
    bob = make_user(organization=store.org, email="bob.smith@contoso.example", name="Bob Smith")
    db.session.commit()
    url = urls(autotask, store.org)
    before = len(autotask.records("Contacts"))
    made_it = client.post(url, data={"user_id": bob.id, "contact_id": "new"})  # a child entity
    assert made_it.status_code == 303
    made = autotask.records("Contacts")[-1]
    assert len(autotask.records("Contacts")) == before + 1
    assert (made["CompanyID"], made["FirstName"], made["LastName"]) == (company, "Bob", "Smith")
    assert made["EmailAddress"] == "bob.smith@contoso.example"
    [link] = contact_links()
    assert (link.subject_id, link.remote_id) == (bob.id, str(made["Id"]))
    # Ours whose email Autotask already has: refused, naming the contact to link instead.
    again = client.post(url, data={"user_id": store.customer.id, "contact_id": "new"})
    assert again.status_code == 400 and f"Ann Buyer, id {ann}" in again.get_data(as_text=True)
    assert len(autotask.records("Contacts")) == before + 1


def test_the_ticket_of_an_order_carries_the_customers_contact(
    app, store, client, ticketing, run_jobs
):
    _, ann = seed(ticketing, client, store)
    form = {"user_id": store.customer.id, "contact_id": str(ann)}
    assert client.post(urls(ticketing, store.org), data=form).status_code == 303
    client.post("/logout")
    order(client, store, payment="card")
    run_jobs()
    [ticket] = ticketing.records("Tickets")
    assert ticket["ContactID"] == ann


def test_bad_contact_links_are_refused_and_nothing_is_written(app, store, client, autotask):
    company, ann = seed(autotask, client, store)
    other_company = autotask.add("Companies", CompanyName="Fabrikam Ltd", CompanyType=1,
                                 Phone="555-0102", OwnerResourceID=1, IsActive=True)  # fmt: skip
    theirs = autotask.add("Contacts", CompanyID=other_company, FirstName="Tom", LastName="Other",
                          IsActive=1)  # fmt: skip
    gone = autotask.add("Contacts", CompanyID=company, FirstName="Old", LastName="Contact",
                        IsActive=0)  # fmt: skip
    url = urls(autotask, store.org)
    listing = client.get(url).get_data(as_text=True)
    assert "Tom Other" not in listing and "Old Contact" not in listing
    user = store.customer.id
    reasons = {
        (user, ""): "pick one from the list",
        (user, "abc"): "pick one from the list",
        (user, "999999"): "no active contact with id 999999",
        (user, str(gone)): f"no active contact with id {gone}",
        (user, str(theirs)): "belongs to another company",
        (store.other_customer.id, str(ann)): "pick one of the contacts of Contoso",
        ("", str(ann)): "pick one of the contacts of Contoso",
    }
    for (user_id, contact), reason in reasons.items():
        response = client.post(url, data={"user_id": user_id, "contact_id": contact})
        assert response.status_code == 400, (user_id, contact)
        assert reason in response.get_data(as_text=True), (user_id, contact)
    assert contact_links() == []
    assert (
        client.post(url, data={"user_id": user, "contact_id": str(ann)}, csrf=False).status_code
        == 400
    )
    assert client.post(url, data={"user_id": user, "contact_id": str(ann)}).status_code == 303
    twice = client.post(url, data={"user_id": user, "contact_id": str(ann)})
    assert twice.status_code == 400 and "already linked" in twice.get_data(as_text=True)
    bob = make_user(organization=store.org, email="bob@contoso.example", name="Bob")
    db.session.commit()
    taken = client.post(url, data={"user_id": bob.id, "contact_id": str(ann)})
    assert taken.status_code == 400 and "already linked to" in taken.get_data(as_text=True)
    assert len(contact_links()) == 1
    client.post("/logout")
    login(client, store.customer)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"user_id": bob.id, "contact_id": "new"}).status_code == 404
    assert len(contact_links()) == 1
