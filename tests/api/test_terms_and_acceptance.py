"""Per-organization payment terms (read, and PATCH with `organizations:write`) and a quote's
acceptance with its drawn signature, each seen only by keys that may see the quote."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image, ImageDraw

from tests.api.conftest import bearer, make_key
from tests.api.test_writes import post
from tests.quotes.conftest import link_path
from webapp.extensions import db
from webapp.organizations.models import Organization

# --- payment terms ---------------------------------------------------------------------------


def _terms(organization_id: int) -> int | None:
    db.session.expire_all()
    return db.session.get(Organization, organization_id).payment_terms_days


def test_organizations_show_their_payment_terms(client, scene):
    org = scene.store.org
    org.payment_terms_days = 14
    db.session.commit()
    one = client.get(f"/api/v1/organizations/{org.id}", headers=bearer(scene.msp_key))
    assert one.get_json()["payment_terms_days"] == 14
    listed = client.get("/api/v1/organizations", headers=bearer(scene.msp_key)).get_json()
    terms = {row["id"]: row["payment_terms_days"] for row in listed["data"]}
    assert terms[org.id] == 14 and terms[scene.store.other_org.id] is None  # the default


def test_payment_terms_are_set_and_cleared_with_organizations_write(client, scene):
    org = scene.store.org
    url = f"/api/v1/organizations/{org.id}"
    key = make_key(scene.store, ["organizations:write"], name="ERP")
    changed = post(client, url, key, {"payment_terms_days": 45}, method="PATCH")
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["payment_terms_days"] == 45 and _terms(org.id) == 45
    cleared = post(client, url, key, {"payment_terms_days": None}, method="PATCH")
    assert cleared.status_code == 200 and cleared.get_json()["payment_terms_days"] is None
    assert _terms(org.id) is None


@pytest.mark.parametrize("days", [-1, 366, "30", 30.5, True, 10**12])
def test_payment_terms_out_of_range_are_a_422_at_the_field_and_change_nothing(client, scene, days):
    org = scene.store.org
    org.payment_terms_days = 20
    db.session.commit()
    url = f"/api/v1/organizations/{org.id}"
    refused = post(client, url, scene.msp_key, {"payment_terms_days": days}, method="PATCH")
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["errors"][0]["pointer"] == "/payment_terms_days"
    assert _terms(org.id) == 20


def test_patching_terms_needs_the_write_scope_the_field_and_an_msp_key(client, scene):
    org = scene.store.org
    url = f"/api/v1/organizations/{org.id}"
    reader = make_key(scene.store, ["organizations:read"], name="reader")
    body = {"payment_terms_days": 10}
    assert post(client, url, reader, body, method="PATCH").status_code == 403
    assert post(client, url, scene.customer_key, body, method="PATCH").status_code == 403
    assert post(client, url, scene.msp_key, {}, method="PATCH").status_code == 422
    assert post(client, url, scene.msp_key, body, method="PATCH", idem=None).status_code == 400
    missing = post(client, "/api/v1/organizations/99999", scene.msp_key, body, method="PATCH")
    assert missing.status_code == 404
    assert _terms(org.id) is None


# --- acceptance ------------------------------------------------------------------------------


def _drawn() -> str:
    image = Image.new("RGBA", (600, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 120), (200, 30), (380, 110)], fill="black", width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _accept(client, scene, **signature) -> None:
    quote = scene.sent_quote
    path = link_path(quote, scene.store.customer)
    form = {"full_name": "Jordan Lee", "customer_po": "PO-77", "accept_terms": "1", **signature}
    assert client.post(path + "/accept", data=form).status_code == 303


def _get(client, key, url):
    return client.get(url, headers=bearer(key))


def test_a_drawn_acceptance_says_who_when_po_and_serves_its_png(client, scene):
    drawn = _drawn()
    _accept(client, scene, signature_drawn=drawn)
    url = f"/api/v1/quotes/{scene.sent_quote.id}/acceptance"
    body = _get(client, scene.msp_key, url).get_json()
    from webapp.quotes.queries import quote_acceptance

    decision = quote_acceptance(db.session.get(type(scene.sent_quote), scene.sent_quote.id))
    assert body == {
        "quote_id": scene.sent_quote.id,
        "version": 1,
        "contact_id": scene.store.customer.id,
        "contact_email": scene.store.customer.email,
        "full_name": "Jordan Lee",
        "accepted_at": decision.decided_at.isoformat(),
        "customer_po": "PO-77",
        "ip_address": "127.0.0.1",
        "signature_type": "drawn",
        "signature_text": "",
        "signature_url": url + "/signature",
        "sales_order_id": decision.document_id,
    }
    assert decision.document_id is not None
    png = _get(client, scene.customer_key, url + "/signature")  # Contoso's own key sees it
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data == base64.b64decode(drawn.split(",", 1)[1])


def test_a_typed_acceptance_has_its_text_and_no_png(client, scene):
    _accept(client, scene, signature_text="J. Lee")
    url = f"/api/v1/quotes/{scene.sent_quote.id}/acceptance"
    body = _get(client, scene.customer_key, url).get_json()
    assert (body["signature_type"], body["signature_text"], body["signature_url"]) == (
        "typed",
        "J. Lee",
        None,
    )
    none = _get(client, scene.msp_key, url + "/signature")
    assert none.status_code == 404 and none.mimetype == "application/problem+json"


def test_a_quote_not_accepted_has_no_acceptance(client, scene):
    url = f"/api/v1/quotes/{scene.sent_quote.id}/acceptance"
    assert _get(client, scene.msp_key, url).status_code == 404
    assert _get(client, scene.msp_key, url + "/signature").status_code == 404
    assert _get(client, scene.msp_key, "/api/v1/quotes/99999/acceptance").status_code == 404


def test_another_organizations_key_sees_neither_acceptance_nor_signature(client, scene):
    _accept(client, scene, signature_drawn=_drawn())
    fabrikam = make_key(
        scene.store, ["quotes:read"], organization=scene.store.other_org, name="Fabrikam"
    )
    url = f"/api/v1/quotes/{scene.sent_quote.id}/acceptance"
    for path in (url, url + "/signature"):
        refused = _get(client, fabrikam, path)
        assert refused.status_code == 404, path
        assert b"Jordan" not in refused.data and b"PNG" not in refused.data
    assert _get(client, scene.customer_key, url).status_code == 200
    no_scope = make_key(scene.store, ["orders:read"], name="orders only")
    assert _get(client, no_scope, url).status_code == 403
