"""Staff match an organisation to an existing ConnectWise company and put a quote (or an order
without a quote) on an existing opportunity of that company, from the pages. Against the
sandbox: matched on ids, refusals named, nothing stored when refused."""

from __future__ import annotations

from tests.api.conftest import issue_order
from tests.factories import login
from tests.psa.conftest import configure, rows
from tests.quotes.conftest import build_quote, send
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.psa.connectwise import operations, sync

BASE = "/admin/psa/connectwise"


def companies(cw):
    """Contoso (ours to match), a deleted twin, and Fabrikam (another organisation's)."""
    contoso = cw.add(
        "company/companies", identifier="CONTOSO", name="Contoso Ltd", types=[{"id": 2}],
        status={"id": 1}, deletedFlag=False,
    )  # fmt: skip
    twin = cw.add(
        "company/companies", identifier="CONTOSO-OLD", name="Contoso Ltd (old)",
        types=[{"id": 2}], status={"id": 1}, deletedFlag=True,
    )  # fmt: skip
    fabrikam = cw.add(
        "company/companies", identifier="FABRIKAM", name="Fabrikam", types=[{"id": 2}],
        status={"id": 1}, deletedFlag=False,
    )  # fmt: skip
    return contoso, twin, fabrikam


def opportunity(cw, company: int, name: str, status: int = 1) -> int:
    contact = cw.add("company/contacts", firstName="Pat", lastName="Buyer", company={"id": company})
    return cw.add(
        "sales/opportunities", name=name, company={"id": company}, contact={"id": contact},
        primarySalesRep={"id": 1}, status={"id": status},
    )  # fmt: skip


def test_an_organisation_is_matched_to_an_existing_company_picked_by_name(
    app, store, client, cw, run_jobs
):
    contoso, twin, fabrikam = companies(cw)
    login(client, store.sales)
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert "ConnectWise company" in page and "Not matched yet" in page
    found = client.get(f"{BASE}/{cw.connection.id}/companies?q=contoso").get_data(as_text=True)
    assert "Contoso Ltd" in found and f'data-pick-value="{contoso}"' in found
    assert f'data-pick-value="{twin}"' not in found  # the deleted twin is never offered
    assert "Fabrikam" not in found
    response = client.post(
        f"{BASE}/{cw.connection.id}/organizations/{store.org.id}/company",
        data={"company_id": str(contoso)},
    )
    assert response.status_code == 303
    link = core.link_for(cw.connection.id, sync.ORGANIZATION, store.org.id)
    assert (link.remote_id, link.remote_number) == (str(contoso), "CONTOSO")
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert f"#{contoso}" in page
    # The quote then goes to that company: no second Contoso is created.
    before = len(rows(cw, "company/companies"))
    quote = build_quote(store)
    send(quote)
    run_jobs()
    [opp] = rows(cw, "sales/opportunities")
    assert opp["company"] == {"id": contoso}
    assert len(rows(cw, "company/companies")) == before


def test_matching_refuses_deleted_unknown_and_taken_companies_and_stores_nothing(
    app, store, client, cw
):
    contoso, twin, fabrikam = companies(cw)
    core.save_link(cw.connection, sync.ORGANIZATION, store.other_org.id, remote_id=str(fabrikam))
    db.session.commit()
    login(client, store.sales)
    url = f"{BASE}/{cw.connection.id}/organizations/{store.org.id}/company"
    for value, message in (
        (str(twin), "not one of the synced"),
        ("999999", "not one of the synced"),
        (str(fabrikam), "already matched to"),
        ("abc", "pick one from the list"),
    ):
        response = client.post(url, data={"company_id": value})
        assert response.status_code == 400, value
        assert message in response.get_data(as_text=True)
    assert core.link_for(cw.connection.id, sync.ORGANIZATION, store.org.id) is None
    # Without the CSRF token nothing happens either.
    assert client.post(url, data={"company_id": str(contoso)}, csrf=False).status_code == 400
    assert core.link_for(cw.connection.id, sync.ORGANIZATION, store.org.id) is None


def test_customers_and_purchasing_staff_cannot_match(app, store, client, cw):
    contoso, _, _ = companies(cw)
    url = f"{BASE}/{cw.connection.id}/organizations/{store.org.id}/company"
    login(client, store.customer)
    assert client.post(url, data={"company_id": str(contoso)}).status_code == 404
    client.post("/logout")
    login(client, store.purchasing)
    assert client.post(url, data={"company_id": str(contoso)}).status_code == 403
    assert core.link_for(cw.connection.id, sync.ORGANIZATION, store.org.id) is None


def test_a_quote_is_put_on_an_open_opportunity_of_its_company_picked_on_the_quote_page(
    app, store, client, cw, run_jobs
):
    contoso, _, fabrikam = companies(cw)
    core.save_link(cw.connection, sync.ORGANIZATION, store.org.id, remote_id=str(contoso))
    spring = opportunity(cw, contoso, "Spring refresh")
    won = opportunity(cw, contoso, "Last year's", status=2)
    foreign = opportunity(cw, fabrikam, "Fabrikam servers")
    quote = build_quote(store)
    login(client, store.sales)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert "ConnectWise opportunity" in page and "A new opportunity is created" in page
    base = f"{BASE}/{cw.connection.id}/quotes/{quote.id}"
    found = client.get(f"{base}/opportunities?q=").get_data(as_text=True)
    assert f'data-pick-value="{spring}"' in found
    assert f'data-pick-value="{won}"' not in found  # closed (won) ones are not offered
    assert f'data-pick-value="{foreign}"' not in found  # nor another company's
    refused = client.post(f"{base}/opportunity", data={"opportunity_id": str(foreign)})
    assert refused.status_code == 400
    assert "not an open opportunity of the organisation" in refused.get_data(as_text=True)
    assert core.link_for(cw.connection.id, sync.QUOTE, quote.id) is None
    response = client.post(f"{base}/opportunity", data={"opportunity_id": str(spring)})
    assert response.status_code == 303
    send(quote)
    run_jobs()
    assert sorted(o["id"] for o in rows(cw, "sales/opportunities")) == sorted(
        [spring, won, foreign]
    )  # no new one
    products = [p for p in rows(cw, "procurement/products") if p.get("opportunity")]
    assert {p["opportunity"]["id"] for p in products} == {spring} and len(products) == 5
    # Once it went, it cannot move to another opportunity.
    other = opportunity(cw, contoso, "Autumn")
    late = client.post(f"{base}/opportunity", data={"opportunity_id": str(other)})
    assert late.status_code == 400 and "cannot move" in late.get_data(as_text=True)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert f"On opportunity <strong>#{spring}</strong>" in page


def test_a_quote_of_an_unmatched_organisation_is_asked_to_match_first(app, store, client, cw):
    quote = build_quote(store)
    login(client, store.sales)
    page = client.get(f"/admin/quotes/{quote.id}").get_data(as_text=True)
    assert "first match the organisation" in page
    response = client.post(
        f"{BASE}/{cw.connection.id}/quotes/{quote.id}/opportunity", data={"opportunity_id": "1"}
    )
    assert response.status_code == 400
    assert "match the organisation to its ConnectWise company first" in response.get_data(
        as_text=True
    )


def test_an_order_without_a_quote_goes_on_the_picked_opportunity_as_won(
    app, store, client, cw, run_jobs
):
    contoso, _, _ = companies(cw)
    core.save_link(cw.connection, sync.ORGANIZATION, store.org.id, remote_id=str(contoso))
    spring = opportunity(cw, contoso, "Spring refresh")
    configure(cw.connection, operations.OUR_INVOICING, opportunities=True)
    document = issue_order(store, store.org, store.customer, "held", hold_reason="Check stock")
    db.session.commit()
    login(client, store.sales)
    response = client.post(
        f"{BASE}/{cw.connection.id}/orders/{document.id}/opportunity",
        data={"opportunity_id": str(spring)},
    )
    assert response.status_code == 303
    link = core.link_for(cw.connection.id, sync.WON_SALE, document.id)
    assert link.remote_id == str(spring)
    page = client.get(f"/admin/orders/{document.id}").get_data(as_text=True)
    assert f"Goes on opportunity <strong>#{spring}</strong>" in page


def test_re_matching_moves_the_undecided_quotes_opportunities_and_leaves_accepted_ones(
    app, store, client, cw, run_jobs
):
    from tests.psa.test_connectwise_procurement import accepted_order
    from webapp.quotes.models import Quote

    contoso, _, _ = companies(cw)
    core.save_link(cw.connection, sync.ORGANIZATION, store.org.id, remote_id=str(contoso))
    db.session.commit()
    accepted = db.session.scalar(
        db.select(Quote).filter_by(document_id=accepted_order(store, client, run_jobs).id)
    )
    run_jobs()
    undecided = build_quote(store)
    send(undecided)
    run_jobs()
    opportunity_of = {
        q.id: int(core.link_for(cw.connection.id, sync.QUOTE, q.id).remote_id)
        for q in (accepted, undecided)
    }
    group = cw.add(
        "company/companies", identifier="CONTOSO-GROUP", name="Contoso Group",
        types=[{"id": 2}], status={"id": 1}, deletedFlag=False,
    )  # fmt: skip
    login(client, store.sales)
    url = f"{BASE}/{cw.connection.id}/organizations/{store.org.id}/company"
    response = client.post(url, data={"company_id": str(group)}, follow_redirects=True)
    assert response.status_code == 200
    assert f"The opportunities of {undecided.number} move to it" in response.get_data(as_text=True)
    run_jobs()
    moved = cw.table("sales/opportunities")[opportunity_of[undecided.id]]
    assert moved["company"] == {"id": group}
    assert cw.table("company/contacts")[moved["contact"]["id"]]["company"] == {"id": group}
    products = [p for p in rows(cw, "procurement/products") if p.get("opportunity")]
    assert {p["company"]["id"] for p in products if p["opportunity"]["id"] == moved["id"]} == {
        group
    }
    stayed = cw.table("sales/opportunities")[opportunity_of[accepted.id]]
    assert stayed["company"] == {"id": contoso}  # decided there: it stays
    db.session.expire_all()
    assert any(e.type == "psa.opportunity_moved" for e in undecided.events)
    assert not any(e.type == "psa.opportunity_moved" for e in accepted.events)
    assert len(rows(cw, "sales/opportunities")) == 2  # moved, not re-created
    # Matched back: it moves back (a new delivery, the first one being done).
    assert client.post(url, data={"company_id": str(contoso)}).status_code == 303
    run_jobs()
    assert cw.table("sales/opportunities")[moved["id"]]["company"] == {"id": contoso}


def test_re_matching_detaches_a_picked_opportunity_of_the_old_company_not_yet_sent(
    app, store, client, cw, run_jobs
):
    contoso, _, _ = companies(cw)
    core.save_link(cw.connection, sync.ORGANIZATION, store.org.id, remote_id=str(contoso))
    spring = opportunity(cw, contoso, "Spring refresh")
    quote = build_quote(store)
    login(client, store.sales)
    base = f"{BASE}/{cw.connection.id}/quotes/{quote.id}"
    assert client.post(f"{base}/opportunity", data={"opportunity_id": str(spring)}).status_code == (
        303
    )
    group = cw.add(
        "company/companies", identifier="CONTOSO-GROUP", name="Contoso Group",
        types=[{"id": 2}], status={"id": 1}, deletedFlag=False,
    )  # fmt: skip
    url = f"{BASE}/{cw.connection.id}/organizations/{store.org.id}/company"
    response = client.post(url, data={"company_id": str(group)}, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"{quote.number} no longer go on the previous company&#39;s opportunity" in page
    assert "move to it" not in page
    assert core.link_for(cw.connection.id, sync.QUOTE, quote.id) is None
    db.session.expire_all()
    [event] = [e for e in quote.events if e.type == "psa.opportunity_detached"]
    assert f"opportunity {spring} of company #{contoso}" in event.message
    assert not any(e.type == "psa.opportunity_moved" for e in quote.events)
    send(quote)
    run_jobs()
    assert cw.table("sales/opportunities")[spring]["company"] == {"id": contoso}  # untouched
    [new] = [o for o in rows(cw, "sales/opportunities") if o["id"] != spring]
    assert new["company"] == {"id": group}
    products = [p for p in rows(cw, "procurement/products") if p.get("opportunity")]
    assert products and {p["opportunity"]["id"] for p in products} == {new["id"]}
