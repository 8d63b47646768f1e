"""Writes through the domains' operations, Idempotency-Key (the IETF draft's cases), ETags."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from tests.api.conftest import bearer, make_key
from webapp.api.models import ApiKey, IdempotencyRecord
from webapp.extensions import db
from webapp.purchasing.models import PurchaseOrderStatus
from webapp.quotes.models import Quote, QuoteStatus
from webapp.sales.models import DocumentStatus


def post(client, url, key, body=None, *, idem: str | None = "auto", method="POST", **headers):
    if idem == "auto":
        idem = str(uuid.uuid4())
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return client.open(url, method=method, json=body, headers=bearer(key, **headers), csrf=False)


def quote_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Quote))


def test_a_quote_is_built_and_sent_through_the_api(client, scene):
    store = scene.store
    created = post(client, "/api/v1/quotes", scene.msp_key, {"organization_id": store.org.id})
    assert created.status_code == 201, created.get_data(as_text=True)
    quote = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/quotes/{quote['id']}")
    section = quote["sections"][0]["id"]
    url = f"/api/v1/quotes/{quote['id']}"
    added = post(
        client,
        f"{url}/lines",
        scene.msp_key,
        {"section_id": section, "product_id": store.products[2].id, "quantity": 2},
    )
    assert added.status_code == 201
    custom = post(
        client,
        f"{url}/lines",
        scene.msp_key,
        {"section_id": section, "quantity": 3, "description": "Setup", "unit_price": "90.00"},
    )
    lines = custom.get_json()["sections"][0]["lines"]
    assert [line["description"] for line in lines][1] == "Setup"
    changed = post(
        client, f"{url}/lines/{lines[1]['id']}", scene.msp_key, {"quantity": 4}, method="PATCH"
    )
    assert changed.status_code == 200
    assert changed.get_json()["sections"][0]["lines"][1]["quantity"] == 4
    removed = client.delete(
        f"{url}/lines/{lines[1]['id']}", headers=bearer(scene.msp_key), csrf=False
    )
    assert len(removed.get_json()["sections"][0]["lines"]) == 1
    sent = post(client, f"{url}/send", scene.msp_key)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert sent.get_json()["status"] == "sent"
    # The operation froze a version as the page's Send does.
    assert len(db.session.get(Quote, quote["id"]).versions) == 1


def test_a_quote_from_a_template_copies_its_sections(client, scene):
    from webapp.quotes import templating

    template = templating.create_template(
        templating.TemplateChanges(
            name="Onboarding",
            description="",
            intro="Hi",
            terms="Net 30",
            expiry_days=30,
            active=True,
        )
    )
    templating.add_template_section(template, "Hardware", False)
    db.session.commit()
    response = post(
        client,
        "/api/v1/quotes",
        scene.msp_key,
        {"organization_id": scene.store.org.id, "template_id": template.id},
    )
    assert response.status_code == 201
    assert [s["title"] for s in response.get_json()["sections"]][-1] == "Hardware"


def test_domain_rules_apply_and_errors_point_at_the_field(client, scene):
    store = scene.store
    missing = post(client, "/api/v1/quotes", scene.msp_key, {})
    assert missing.status_code == 422
    assert missing.mimetype == "application/problem+json"
    assert missing.get_json()["errors"][0]["pointer"] == "/organization_id"
    unknown = post(client, "/api/v1/quotes", scene.msp_key, {"organization_id": 99999})
    assert unknown.get_json()["errors"] == [
        {"pointer": "/organization_id", "detail": "There is no such organization."}
    ]
    obsolete = store.products[1]
    obsolete.obsolete = True
    db.session.commit()
    url = f"/api/v1/quotes/{scene.draft_quote.id}/lines"
    section = scene.draft_quote.sections[0].id
    refused = post(
        client,
        url,
        scene.msp_key,
        {"section_id": section, "product_id": obsolete.id, "quantity": 1},
    )
    assert refused.status_code == 422
    assert "obsolete" in refused.get_json()["detail"]
    # A sent quote cannot be sent again: the quote state machine refuses it.
    again = post(client, f"/api/v1/quotes/{scene.sent_quote.id}/send", scene.msp_key)
    assert again.status_code == 409
    assert quote_count() == 3


def test_an_order_is_cancelled_and_a_po_issued_through_their_operations(client, scene):
    cancel = post(
        client,
        f"/api/v1/sales-orders/{scene.order.id}/cancel",
        scene.msp_key,
        {"reason": "customer changed their mind"},
    )
    assert cancel.status_code == 200, cancel.get_data(as_text=True)
    assert cancel.get_json()["status"] == "cancelled"
    db.session.refresh(scene.order)
    assert scene.order.status is DocumentStatus.CANCELLED
    twice = post(
        client, f"/api/v1/sales-orders/{scene.order.id}/cancel", scene.msp_key, {"reason": "x"}
    )
    assert twice.status_code == 409
    issued = post(client, f"/api/v1/purchase-orders/{scene.draft_po.id}/issue", scene.msp_key)
    assert issued.status_code == 200, issued.get_data(as_text=True)
    db.session.refresh(scene.draft_po)
    assert scene.draft_po.status is PurchaseOrderStatus.ISSUED


# --- Idempotency-Key -------------------------------------------------------------------------


def test_a_write_without_an_idempotency_key_or_with_a_long_one_is_400(client, scene):
    body = {"organization_id": scene.store.org.id}
    for idem in (None, "", "k" * 256):
        response = post(client, "/api/v1/quotes", scene.msp_key, body, idem=idem)
        assert response.status_code == 400, idem
        assert response.mimetype == "application/problem+json"
    assert post(client, "/api/v1/quotes", scene.msp_key, body, idem="k" * 255).status_code == 201
    assert quote_count() == 4


def test_a_replay_returns_the_stored_response_and_does_nothing_again(client, scene):
    body = {"organization_id": scene.store.org.id, "title": "Once"}
    first = post(client, "/api/v1/quotes", scene.msp_key, body, idem="create-1")
    again = post(client, "/api/v1/quotes", scene.msp_key, body, idem="create-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).where(Quote.title == "Once")) == 1


def test_the_same_key_with_another_body_is_422(client, scene):
    post(client, "/api/v1/quotes", scene.msp_key, {"organization_id": scene.store.org.id}, idem="k")
    other = post(
        client,
        "/api/v1/quotes",
        scene.msp_key,
        {"organization_id": scene.store.other_org.id},
        idem="k",
    )
    assert other.status_code == 422
    assert other.mimetype == "application/problem+json"
    assert quote_count() == 4


def test_a_retry_while_the_first_request_runs_is_409(client, scene):
    from tests.api.conftest import make_key

    secret = make_key(scene.store, ["quotes:write"], name="busy")
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "busy"))
    body = {"organization_id": scene.store.org.id}
    # What the first request leaves while its operation runs: a claim without a response.
    first = post(client, "/api/v1/quotes", secret, body, idem="running")
    db.session.execute(
        IdempotencyRecord.__table__.update()
        .where(IdempotencyRecord.api_key_id == key.id)
        .values(response_status=None)
    )
    db.session.commit()
    retry = post(client, "/api/v1/quotes", secret, body, idem="running")
    assert first.status_code == 201
    assert retry.status_code == 409
    assert retry.mimetype == "application/problem+json"


def test_keys_are_scoped_to_the_api_key(client, scene):
    from tests.api.conftest import make_key

    other = make_key(scene.store, ["quotes:write"], name="second system")
    body = {"organization_id": scene.store.org.id}
    assert post(client, "/api/v1/quotes", scene.msp_key, body, idem="shared").status_code == 201
    assert post(client, "/api/v1/quotes", other, body, idem="shared").status_code == 201
    assert quote_count() == 5


def test_a_refused_request_is_not_stored_so_the_fixed_one_can_reuse_the_key(client, scene):
    url = f"/api/v1/quotes/{scene.draft_quote.id}/lines"
    section = scene.draft_quote.sections[0].id
    bad = post(client, url, scene.msp_key, {"section_id": section, "quantity": 0}, idem="fix")
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["pointer"] == "/quantity"
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


# --- ETag / If-Match -------------------------------------------------------------------------


def test_a_stale_if_match_gets_412_and_changes_nothing(client, scene):
    url = f"/api/v1/quotes/{scene.draft_quote.id}"
    read = client.get(url, headers=bearer(scene.msp_key))
    etag = read.headers["ETag"]
    section = scene.draft_quote.sections[0].id
    line = {"section_id": section, "quantity": 1, "description": "A", "unit_price": "1"}
    fresh = post(client, f"{url}/lines", scene.msp_key, line, **{"If-Match": etag})
    assert fresh.status_code == 201
    assert fresh.headers["ETag"] != etag
    stale = post(client, f"{url}/lines", scene.msp_key, line, **{"If-Match": etag})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    db.session.expire_all()
    assert len(db.session.get(Quote, scene.draft_quote.id).lines) == 1
    order_url = f"/api/v1/sales-orders/{scene.order.id}"
    stale_order = post(
        client, f"{order_url}/cancel", scene.msp_key, {"reason": "x"}, **{"If-Match": '"old"'}
    )
    assert stale_order.status_code == 412
    db.session.refresh(scene.order)
    assert scene.order.status is DocumentStatus.APPROVED
    assert scene.draft_quote.status is QuoteStatus.DRAFT


def test_a_nul_character_in_a_json_body_is_a_400_problem(client, scene):
    response = client.post(
        "/api/v1/quotes",
        data='{"organization_id": ORG, "title": "a\\u0000b"}'.replace(
            "ORG", str(scene.store.org.id)
        ),
        content_type="application/json",
        headers=bearer(scene.msp_key, **{"Idempotency-Key": "nul"}),
        csrf=False,
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert quote_count() == 3


def test_a_keyed_in_order_is_priced_by_the_catalog_and_made_once(client, scene):
    from webapp.sales.models import SalesDocument

    store = scene.store
    body = {
        "organization_id": store.org.id,
        "contact_id": store.customer.id,
        "lines": [{"product_id": store.products[0].id, "quantity": 2}],
        "shipping_method_id": store.shipping.id,
        "customer_po": "PO-77",
    }
    before = db.session.scalar(select(func.count()).select_from(SalesDocument))
    first = post(client, "/api/v1/sales-orders", scene.msp_key, body, idem="order-77")
    assert first.status_code == 201, first.get_data(as_text=True)
    order = first.get_json()
    assert order["source"] == "api"
    assert [(line["unit_price"], line["quantity"]) for line in order["lines"]] == [("1100.00", 2)]
    again = post(client, "/api/v1/sales-orders", scene.msp_key, body, idem="order-77")
    assert again.get_json()["id"] == order["id"]
    assert db.session.scalar(select(func.count()).select_from(SalesDocument)) == before + 1


def test_a_keyed_in_order_keeps_the_stores_rules_and_points_at_the_field(client, scene):
    store = scene.store
    base = {
        "organization_id": store.org.id,
        "contact_id": store.other_customer.id,
        "lines": [{"product_id": store.products[0].id, "quantity": 1}],
        "shipping_method_id": store.shipping.id,
    }
    foreign = post(client, "/api/v1/sales-orders", scene.msp_key, base)
    assert foreign.status_code == 422
    assert foreign.get_json()["errors"][0]["pointer"] == "/contact_id"
    unapproved = {
        **base,
        "organization_id": store.unapproved_org.id,
        "contact_id": store.unapproved_customer.id,
    }
    refused = post(client, "/api/v1/sales-orders", scene.msp_key, unapproved)
    assert refused.get_json()["errors"][0]["pointer"] == "/organization_id"
    missing = post(
        client,
        "/api/v1/sales-orders",
        scene.msp_key,
        {**base, "contact_id": store.customer.id, "lines": [{"product_id": 999999, "quantity": 1}]},
    )
    assert missing.get_json()["errors"][0]["pointer"] == "/lines/0/product_id"
    too_many = post(
        client,
        "/api/v1/sales-orders",
        scene.msp_key,
        {**base, "contact_id": store.customer.id,
         "lines": [{"product_id": store.products[0].id, "quantity": 10_000}]},
    )  # fmt: skip
    assert too_many.status_code == 422
    assert too_many.get_json()["errors"][0]["pointer"] == "/lines/0/quantity"


def test_patching_a_sent_quote_starts_a_new_version_as_the_page_does(client, scene):
    url = f"/api/v1/quotes/{scene.sent_quote.id}"
    etag = client.get(url, headers=bearer(scene.msp_key)).headers["ETag"]
    changed = post(
        client,
        url,
        scene.msp_key,
        {"title": "Laptop refresh v2"},
        method="PATCH",
        **{"If-Match": etag},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    body = changed.get_json()
    assert (body["title"], body["status"], body["version"]) == ("Laptop refresh v2", "draft", 2)
    stale = post(
        client, url, scene.msp_key, {"title": "Again"}, method="PATCH", **{"If-Match": etag}
    )
    assert stale.status_code == 412
    past = post(client, url, scene.msp_key, {"expires_on": "2020-01-01"}, method="PATCH")
    assert past.status_code == 422
    assert "expiry" in past.get_json()["detail"]
    db.session.expire_all()
    assert db.session.get(Quote, scene.sent_quote.id).title == "Laptop refresh v2"


def test_a_held_order_is_approved_once_and_flows_on(client, scene):
    from tests.api.conftest import issue_order

    held = issue_order(
        scene.store, scene.store.org, scene.store.customer, "held-1", hold_reason="under margin"
    )
    db.session.commit()
    url = f"/api/v1/sales-orders/{held.id}/approve"
    approved = post(client, url, scene.msp_key, {"note": "margin accepted"})
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json()["status"] == "approved"
    db.session.refresh(held)
    assert held.status is DocumentStatus.APPROVED and held.hold_reason == ""
    assert any("margin accepted" in event.message for event in held.events)
    again = post(client, url, scene.msp_key, {})
    assert again.status_code == 409 and "not on hold" in again.get_json()["detail"]
    # A customer key never holds orders:write.
    assert post(client, url, scene.customer_key, {}).status_code == 403


def test_a_zero_quote_line_cost_needs_confirm_cost(client, scene):
    url = f"/api/v1/quotes/{scene.draft_quote.id}/lines"
    section = scene.draft_quote.sections[0].id
    line = {"section_id": section, "quantity": 1, "description": "Free", "unit_price": "5"}
    refused = post(client, url, scene.msp_key, {**line, "unit_cost": "0"})
    assert refused.status_code == 422
    assert "tick Confirm the cost" in refused.get_data(as_text=True)
    kept = post(client, url, scene.msp_key, {**line, "unit_cost": "0", "confirm_cost": True})
    assert kept.status_code == 201
    added = kept.get_json()["sections"][0]["lines"][-1]
    changed = post(client, f"{url}/{added['id']}", scene.msp_key, {"quantity": 2}, method="PATCH")
    assert changed.status_code == 200  # the confirmed cost stays; no new tick for a quantity


def test_a_catalog_line_at_zero_cost_stops_send_until_confirm_cost(client, scene):
    from tests.factories import make_product

    store = scene.store
    promo = make_product(category=store.category, brand=store.brand, name="Promo", cost="0")
    db.session.commit()
    url = f"/api/v1/quotes/{scene.draft_quote.id}"
    section = scene.draft_quote.sections[0].id
    added = post(
        client,
        f"{url}/lines",
        scene.msp_key,
        {"section_id": section, "product_id": promo.id, "quantity": 100},
    )
    assert added.status_code == 201
    [line] = added.get_json()["sections"][0]["lines"]
    assert line["cost_confirmed"] is False
    refused = post(client, f"{url}/send", scene.msp_key)
    assert refused.status_code == 422
    detail = refused.get_json()["detail"]
    assert "not confirmed" in detail and "Promo" in detail
    assert db.session.get(Quote, scene.draft_quote.id).status is QuoteStatus.DRAFT
    confirmed = post(
        client, f"{url}/lines/{line['id']}", scene.msp_key, {"confirm_cost": True}, method="PATCH"
    )
    assert confirmed.status_code == 200
    assert confirmed.get_json()["sections"][0]["lines"][0]["cost_confirmed"] is True
    sent = post(client, f"{url}/send", scene.msp_key)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    # A customer key never sees the flag (nor the cost).
    seen = client.get(f"{url}?expand=sections.lines", headers=bearer(scene.customer_key))
    assert seen.status_code == 200, seen.get_data(as_text=True)
    assert "cost_confirmed" not in seen.get_json()["sections"][0]["lines"][0]
    # A line added with confirm_cost is confirmed at once.
    again = post(
        client,
        f"{url}/lines",
        scene.msp_key,
        {"section_id": section, "product_id": promo.id, "quantity": 1, "confirm_cost": True},
    )
    assert again.get_json()["sections"][0]["lines"][-1]["cost_confirmed"] is True


def test_an_amount_in_other_digits_an_exponent_or_out_of_range_is_a_422_naming_it(client, scene):
    url = f"/api/v1/quotes/{scene.draft_quote.id}/lines"
    section = scene.draft_quote.sections[0].id
    line = {"section_id": section, "quantity": 1, "description": "Setup"}
    before = len(db.session.get(Quote, scene.draft_quote.id).lines)
    for price in ["١٢٣", "９９", "1e3", "NaN", "Infinity", "9" * 29, "0.00004", "-1", 1e30]:
        refused = post(client, url, scene.msp_key, {**line, "unit_price": price})
        assert refused.status_code == 422, (price, refused.get_data(as_text=True))
        assert "/unit_price" in refused.get_data(as_text=True), price
    db.session.expire_all()
    assert len(db.session.get(Quote, scene.draft_quote.id).lines) == before
    kept = post(client, url, scene.msp_key, {**line, "unit_price": " 99.50 "})
    assert kept.status_code == 201
    assert kept.get_json()["sections"][0]["lines"][-1]["unit_price"] == "99.50"


def test_sections_are_renamed_and_removed_through_the_builder(client, scene):
    url = f"/api/v1/quotes/{scene.draft_quote.id}"
    first = scene.draft_quote.sections[0].id
    added = post(client, f"{url}/sections", scene.msp_key, {"title": "Options"})
    assert added.status_code == 201
    second = added.get_json()["sections"][1]["id"]
    renamed = post(
        client,
        f"{url}/sections/{second}",
        scene.msp_key,
        {"title": "Pick one", "choose_one": True},
        method="PATCH",
    )
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    assert [(s["title"], s["choose_one"]) for s in renamed.get_json()["sections"]][1] == (
        "Pick one",
        True,
    )
    blank = post(client, f"{url}/sections/{second}", scene.msp_key, {"title": ""}, method="PATCH")
    assert blank.status_code == 422 and blank.get_json()["errors"][0]["pointer"] == "/title"

    # Another quote's section is not found here, and changes nothing there.
    other = post(client, "/api/v1/quotes", scene.msp_key, {"organization_id": scene.store.org.id})
    other_section = other.get_json()["sections"][0]["id"]
    wrong = post(
        client, f"{url}/sections/{other_section}", scene.msp_key, {"title": "X"}, method="PATCH"
    )
    assert wrong.status_code == 404 and wrong.mimetype == "application/problem+json"
    gone = client.delete(
        f"{url}/sections/{other_section}", headers=bearer(scene.msp_key), csrf=False
    )
    assert gone.status_code == 404

    stale = client.delete(
        f"{url}/sections/{second}",
        headers=bearer(scene.msp_key, **{"If-Match": '"old"'}),
        csrf=False,
    )
    assert stale.status_code == 412
    removed = client.delete(f"{url}/sections/{second}", headers=bearer(scene.msp_key), csrf=False)
    assert removed.status_code == 200
    assert [s["id"] for s in removed.get_json()["sections"]] == [first]
    last = client.delete(f"{url}/sections/{first}", headers=bearer(scene.msp_key), csrf=False)
    assert last.status_code == 422 and "at least one section" in last.get_json()["detail"]
    reader = make_key(scene.store, ["quotes:read"])
    refused = post(client, f"{url}/sections/{first}", reader, {"title": "Y"}, method="PATCH")
    assert refused.status_code == 403
    db.session.expire_all()
    assert [s.title for s in db.session.get(Quote, scene.draft_quote.id).sections] != ["Y"]
