"""One Autotask opportunity, several quotes (PSA-NOTES 1.2), against the sandbox.

Exactly one quote of an opportunity is primary; the quote we send is it, and a re-sent version
takes it back from a quote made primary in Autotask meanwhile. The opportunities we create use
the quote totals, so they show the amount of the quote we sent. Two of our quotes may share an
opportunity: the one sent last is primary, a lost one does not close the opportunity while the
other is open, and an opportunity won in Autotask wins its primary quote and loses the other.
"""

from __future__ import annotations

from tests.factories import login
from tests.psa.test_autotask_opportunity_attach import opportunity_link, urls
from tests.psa.test_autotask_quotes import autotask_quote, items_of
from tests.quotes.conftest import build_quote, change, send
from webapp.extensions import db
from webapp.integrations import operations as core
from webapp.psa.autotask.quotes import AT_QUOTE
from webapp.quotes import lifecycle
from webapp.quotes.models import QuoteStatus


def primary_of(sandbox, opportunity_id) -> list[str]:
    return [
        q["Name"]
        for q in sandbox.records("Quotes")
        if q["OpportunityID"] == opportunity_id and q.get("PrimaryQuote")
    ]


def linked_quote(sandbox, quote) -> dict:
    """The Autotask quote our quote is linked to now (an earlier one may stay elsewhere)."""
    link = core.link_for(sandbox.connection.id, AT_QUOTE, quote.id)
    return sandbox.record("Quotes", int(link.remote_id))


def not_optional_total(sandbox, at_quote) -> float:
    return round(
        sum(i["Quantity"] * i["UnitPrice"] for i in items_of(sandbox, at_quote["Id"])
            if not i["IsOptional"]),
        2,
    )  # fmt: skip


def attach_to(client, sandbox, quote, opportunity_id):
    response = client.post(urls(sandbox, quote)[1], data={"opportunity_id": str(opportunity_id)})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_the_quote_we_send_is_primary_and_a_resent_version_takes_it_back(
    app, store, quoting, run_jobs
):
    quote = build_quote(store)
    run_jobs()
    ours = autotask_quote(quoting, quote)
    opportunity = ours["OpportunityID"]
    assert ours["PrimaryQuote"] is True
    assert quoting.record("Opportunities", opportunity)["UseQuoteTotals"] is True
    shown = quoting.read("Opportunities", opportunity)
    assert shown["amount"] == not_optional_total(quoting, ours)
    # Staff make another quote on the opportunity in Autotask and mark it primary.
    theirs = quoting.add("Quotes", OpportunityID=opportunity, CompanyID=ours["CompanyID"],
                         Name="Staff's alternative", ExternalQuoteNumber="",
                         PrimaryQuote=True)  # fmt: skip
    assert primary_of(quoting, opportunity) == ["Staff's alternative"]
    send(quote)
    change(quote, quote.lines[0], quantity=5)  # a second version, re-sent
    db.session.commit()
    send(quote)
    run_jobs()
    assert primary_of(quoting, opportunity) == [ours["Name"]]
    assert quoting.record("Quotes", theirs)["PrimaryQuote"] is False
    ours = autotask_quote(quoting, quote)
    amount = quoting.read("Opportunities", opportunity)["amount"]
    assert amount == not_optional_total(quoting, ours) and amount != shown["amount"]


def sharing(store, client, sandbox, run_jobs):
    """Two quotes, each with its opportunity; the second attached to the first's. (first,
    second, the shared opportunity's id)."""
    first, second = build_quote(store), build_quote(store)
    run_jobs()
    shared = int(opportunity_link(sandbox, first).remote_id)
    login(client, store.sales)
    found = client.get(urls(sandbox, second)[0]).get_data(as_text=True)
    assert f"also carries {first.number}" in found and f'value="{shared}"' in found
    attach_to(client, sandbox, second, shared)
    run_jobs()
    return first, second, shared


def test_two_of_our_quotes_share_an_opportunity_and_the_last_sent_is_primary(
    app, store, client, quoting, run_jobs
):
    first, second, shared = sharing(store, client, quoting, run_jobs)
    [event] = [e for e in second.events if e.type == "psa_opportunity"]
    assert f"It also carries {first.number}" in event.message
    assert linked_quote(quoting, second)["OpportunityID"] == shared
    assert primary_of(quoting, shared) == [linked_quote(quoting, second)["Name"]]
    send(first)
    run_jobs()
    assert primary_of(quoting, shared) == [linked_quote(quoting, first)["Name"]]
    # Losing one of the two does not close the opportunity: the other is still open.
    send(second)
    run_jobs()
    assert primary_of(quoting, shared) == [linked_quote(quoting, second)["Name"]]
    lifecycle.mark_lost(second, store.sales, "Took the other offer")
    db.session.commit()
    run_jobs()
    assert quoting.record("Opportunities", shared)["Status"] == 1


def test_an_opportunity_won_in_autotask_wins_its_primary_quote_and_loses_the_other(
    app, store, client, quoting, run_jobs
):
    first, second, shared = sharing(store, client, quoting, run_jobs)
    send(second)
    send(first)  # sent last: the primary quote
    run_jobs()
    quoting.change("Opportunities", shared, Status=3)  # the won status
    from workers.psa import reconcile

    [done] = reconcile().values()
    assert (done["won"], done["lost"]) == (1, 1)
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.status, second.status) == (QuoteStatus.WON, QuoteStatus.LOST)
    assert "primary quote" in second.lost_reason
