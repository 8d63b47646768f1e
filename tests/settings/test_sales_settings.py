from tests.factories import login, make_category, make_product
from webapp.extensions import db
from webapp.sales.models import DocumentKind
from webapp.settings.operations import get_setting

HX = {"HX-Request": "true"}


def test_admin_toggles_display_document_as_in_place_and_sees_who_changed_it(client, store):
    login(client, store.admin)
    response = client.post(
        "/admin/settings/sales/display_document_as", data={"value": "tax_invoice"}, headers=HX
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div class="card mb-3" id="setting-display_document_as">')
    assert f"Last changed by {store.admin.name}" in body
    assert get_setting("display_document_as") is DocumentKind.TAX_INVOICE


def test_plain_form_post_also_saves_the_setting(client, store):
    login(client, store.admin)
    response = client.post(
        "/admin/settings/sales/display_document_as", data={"value": "tax_invoice"}
    )
    assert response.status_code == 303
    assert get_setting("display_document_as") is DocumentKind.TAX_INVOICE


def test_unknown_document_kind_is_refused_with_the_choices(client, store):
    login(client, store.admin)
    response = client.post(
        "/admin/settings/sales/display_document_as", data={"value": "receipt"}, headers=HX
    )
    assert response.status_code == 422
    assert "must be one of sales_order, tax_invoice" in response.get_data(as_text=True)
    assert get_setting("display_document_as") is DocumentKind.SALES_ORDER


def test_surcharge_percentage_is_validated(client, store):
    login(client, store.admin)
    for bad in ("abc", "-1", "101", "NaN"):
        response = client.post(
            "/admin/settings/sales/card_surcharge_pct", data={"value": bad}, headers=HX
        )
        assert response.status_code == 422, bad
    client.post("/admin/settings/sales/card_surcharge_pct", data={"value": "2.25"}, headers=HX)
    assert str(get_setting("card_surcharge_pct")) == "2.250"


def test_only_admins_change_settings(client, store):
    login(client, store.sales)
    assert client.get("/admin/settings/sales").status_code == 403
    response = client.post(
        "/admin/settings/sales/display_document_as", data={"value": "tax_invoice"}
    )
    assert response.status_code == 403
    assert get_setting("display_document_as") is DocumentKind.SALES_ORDER


def test_unknown_setting_key_is_a_404(client, store):
    login(client, store.admin)
    assert client.post("/admin/settings/sales/secret_key", data={"value": "x"}).status_code == 404


def test_changing_the_default_markup_invalidates_cached_prices(client, store):
    # A category without a rule of its own, so the default markup applies.
    category = make_category("Cables")
    product = make_product(category=category, brand=store.brand, name="Patch cable", cost="10.00")
    db.session.commit()
    login(client, store.customer)
    assert "$11.50" in client.get(f"/c/{category.slug}").get_data(as_text=True)  # 15% default
    client.post("/logout")
    login(client, store.admin)
    client.post("/admin/settings/sales/default_markup_pct", data={"value": "20"}, headers=HX)
    client.post("/logout")
    login(client, store.customer)
    page = client.get(f"/c/{category.slug}").get_data(as_text=True)
    assert "$12.00" in page
    assert product.name in page
