"""Staff screens for organizations, contacts, invitations and price groups."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from tests.factories import PASSWORD, login, make_organization, make_user
from webapp.auth.models import Role, User
from webapp.extensions import db
from webapp.organizations.models import Organization, PriceGroup

HX = {"HX-Request": "true"}


def _org_form(**changes) -> dict:
    data = {
        "name": "Northwind Traders",
        "account_number": "NW-1",
        "phone": "555-0100",
        "email": "office@northwind.example",
        "website": "https://northwind.example",
        "address_line1": "1 Harbour Road",
        "city": "Seattle",
        "postcode": "98101",
        "country": "United States",
        "notes": "Pays on time.",
        "price_group_id": "",
    }
    data.update(changes)
    return data


# --- list ------------------------------------------------------------------------------------


def test_list_filtered_to_not_approved_shows_only_organizations_awaiting_approval(client, store):
    login(client, store.sales)
    response = client.get("/admin/organizations/?approved=no")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Litware" in html
    assert "Contoso" not in html


def test_list_search_matches_part_of_the_name(client, store):
    login(client, store.sales)
    html = client.get("/admin/organizations/?q=fabri").get_data(as_text=True)
    assert "Fabrikam" in html
    assert "Contoso" not in html


def test_list_search_treats_percent_sign_literally(client, store):
    login(client, store.sales)
    html = client.get("/admin/organizations/?q=%25").get_data(as_text=True)
    assert "No organizations match." in html


def test_list_answers_htmx_with_the_table_fragment_only(client, store):
    login(client, store.sales)
    response = client.get("/admin/organizations/?approved=yes", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="organizations-table">')
    assert "<html" not in html
    assert "Contoso" in html and "Litware" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_list_rejects_an_unknown_approval_filter(client, store):
    login(client, store.sales)
    assert client.get("/admin/organizations/?approved=maybe").status_code == 400


def test_customer_gets_404_on_the_organizations_admin(client, store):
    login(client, store.customer)
    assert client.get("/admin/organizations/").status_code == 404
    assert client.get(f"/admin/organizations/{store.org.id}").status_code == 404


def test_purchasing_may_view_organizations_but_not_create_one(client, store):
    login(client, store.purchasing)
    assert client.get(f"/admin/organizations/{store.org.id}").status_code == 200
    assert client.get("/admin/organizations/new").status_code == 403
    assert client.post("/admin/organizations/new", data=_org_form()).status_code == 403


# --- create and edit -------------------------------------------------------------------------


def test_sales_creates_an_organization_that_awaits_approval(client, store):
    login(client, store.sales)
    form = _org_form(price_group_id=str(store.price_group.id))
    response = client.post("/admin/organizations/new", data=form)
    assert response.status_code == 303
    org = db.session.scalar(select(Organization).where(Organization.name == "Northwind Traders"))
    assert response.headers["Location"].endswith(f"/admin/organizations/{org.id}")
    assert org.approved is False
    assert org.price_group_id == store.price_group.id
    assert (org.city, org.email, org.notes) == (
        "Seattle",
        "office@northwind.example",
        "Pays on time.",
    )


def test_creating_an_organization_with_a_taken_name_is_refused_with_422(client, store):
    login(client, store.sales)
    response = client.post("/admin/organizations/new", data=_org_form(name="contoso"))
    assert response.status_code == 422
    assert "An organization called &#39;contoso&#39; already exists." in response.get_data(
        as_text=True
    )


def test_creating_an_organization_without_a_name_is_refused_with_422(client, store):
    login(client, store.sales)
    response = client.post("/admin/organizations/new", data=_org_form(name=""))
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_creating_an_organization_with_a_malformed_email_is_refused_with_422(client, store):
    login(client, store.sales)
    response = client.post("/admin/organizations/new", data=_org_form(email="not-an-email"))
    assert response.status_code == 422
    assert "Invalid email address." in response.get_data(as_text=True)


def test_creating_an_organization_with_an_unknown_price_group_is_refused(client, store):
    login(client, store.sales)
    response = client.post("/admin/organizations/new", data=_org_form(price_group_id="9999"))
    assert response.status_code == 422
    assert "Not a valid choice." in response.get_data(as_text=True)


def test_editing_an_organization_changes_its_details_and_price_group(client, store):
    login(client, store.sales)
    form = _org_form(name="Contoso Ltd", price_group_id=str(store.price_group.id))
    response = client.post(f"/admin/organizations/{store.org.id}/edit", data=form)
    assert response.status_code == 303
    org = db.session.get(Organization, store.org.id)
    assert org.name == "Contoso Ltd"
    assert org.price_group_id == store.price_group.id
    assert org.approved is True  # editing never changes approval


def test_edit_form_shows_the_current_values(client, store):
    login(client, store.sales)
    html = client.get(f"/admin/organizations/{store.org.id}/edit").get_data(as_text=True)
    assert 'value="Contoso"' in html


def test_unknown_organization_is_404(client, store):
    login(client, store.sales)
    assert client.get("/admin/organizations/99999").status_code == 404
    assert (
        client.post("/admin/organizations/99999/approval", data={"approved": "1"}).status_code
        == 404
    )


def test_form_post_without_csrf_token_is_refused(client, store):
    login(client, store.sales)
    response = client.post("/admin/organizations/new", data=_org_form(), csrf=False)
    assert response.status_code == 400
    assert (
        db.session.scalar(select(Organization).where(Organization.name == "Northwind Traders"))
        is None
    )


# --- approval --------------------------------------------------------------------------------


def test_approving_over_htmx_swaps_the_approval_card_and_records_who_and_when(client, store):
    login(client, store.sales)
    response = client.post(
        f"/admin/organizations/{store.unapproved_org.id}/approval",
        data={"approved": "1"},
        headers=HX,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="card" id="approval">')
    assert "Approved" in html and store.sales.name in html
    assert "toast" in response.headers["HX-Trigger"]
    org = db.session.get(Organization, store.unapproved_org.id)
    assert org.approved is True
    assert org.approved_by_id == store.sales.id
    assert org.approved_at is not None


def test_withdrawing_approval_clears_who_approved(client, store):
    login(client, store.sales)
    client.post(f"/admin/organizations/{store.org.id}/approval", data={"approved": "1"})
    response = client.post(f"/admin/organizations/{store.org.id}/approval", data={"approved": "0"})
    assert response.status_code == 303  # a plain form post redirects back to the page
    org = db.session.get(Organization, store.org.id)
    assert (org.approved, org.approved_at, org.approved_by_id) == (False, None, None)


def test_approval_with_a_malformed_value_is_a_400(client, store):
    login(client, store.sales)
    response = client.post(
        f"/admin/organizations/{store.unapproved_org.id}/approval", data={"approved": "yes"}
    )
    assert response.status_code == 400
    assert db.session.get(Organization, store.unapproved_org.id).approved is False


def test_purchasing_cannot_approve_an_organization(client, store):
    login(client, store.purchasing)
    response = client.post(
        f"/admin/organizations/{store.unapproved_org.id}/approval", data={"approved": "1"}
    )
    assert response.status_code == 403
    assert db.session.get(Organization, store.unapproved_org.id).approved is False


# --- contacts --------------------------------------------------------------------------------


def _invite(client, org, **changes):
    data = {"name": "Dana Scully", "email": "Dana@Contoso.example", "is_approver": "y"}
    data.update(changes)
    return client.post(f"/admin/organizations/{org.id}/contacts", data=data)


def test_invited_contact_follows_the_emailed_link_sets_a_password_and_is_signed_in(
    app, client, store, run_jobs, mailbox
):
    login(client, store.sales)
    response = _invite(client, store.org)
    assert response.status_code == 303
    contact = db.session.scalar(select(User).where(User.email == "dana@contoso.example"))
    assert contact.organization_id == store.org.id
    assert contact.is_approver is True
    assert contact.has_accepted_invite is False

    run_jobs()
    [message] = mailbox.to("dana@contoso.example")
    body = mailbox.text(message)
    link = re.search(r"https?://\S+/invite/\S+", body).group(0)

    visitor = app.test_client()
    path = urlsplit(link).path
    assert visitor.get(path).status_code == 200
    response = visitor.post(
        path, data={"password": "a long new password", "confirm": "a long new password"}
    )
    assert response.status_code == 302
    assert visitor.get("/cart").status_code == 200  # signed in as the contact
    assert db.session.get(User, contact.id).has_accepted_invite is True
    # The link works once.
    assert visitor.get(path).status_code == 400


def test_inviting_an_email_that_already_has_an_account_is_refused_with_422(client, store):
    login(client, store.sales)
    response = _invite(client, store.org, email="BUYER@fabrikam.example")
    assert response.status_code == 422
    assert "buyer@fabrikam.example already has an account." in response.get_data(as_text=True)


def test_inviting_without_an_email_is_refused_with_422_and_nothing_is_sent(
    client, store, run_jobs, mailbox
):
    login(client, store.sales)
    response = _invite(client, store.org, email="")
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    run_jobs()
    assert mailbox.messages == []


def test_resending_an_invitation_emails_the_contact_again(client, store, run_jobs, mailbox):
    login(client, store.sales)
    _invite(client, store.org)
    contact = db.session.scalar(select(User).where(User.email == "dana@contoso.example"))
    response = client.post(
        f"/admin/organizations/{store.org.id}/contacts/{contact.id}/resend", headers=HX
    )
    assert response.status_code == 200
    assert f'id="contact-{contact.id}"' in response.get_data(as_text=True)
    run_jobs()
    assert len(mailbox.to("dana@contoso.example")) == 2


def test_resending_to_a_contact_who_already_signed_up_is_refused(client, store):
    login(client, store.sales)
    response = client.post(
        f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/resend", headers=HX
    )
    assert response.status_code == 422
    assert "has already accepted the invitation" in response.get_data(as_text=True)


def test_toggling_the_approver_flag_over_htmx_swaps_the_contact_row(client, store):
    login(client, store.sales)
    url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/approver"
    response = client.post(url, data={"approver": "0"}, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="contact-{store.customer.id}"')
    assert "Make approver" in html
    assert db.session.get(User, store.customer.id).is_approver is False

    client.post(url, data={"approver": "1"}, headers=HX)
    assert db.session.get(User, store.customer.id).is_approver is True


def test_a_contact_of_another_organization_is_404(client, store):
    login(client, store.sales)
    url = f"/admin/organizations/{store.org.id}/contacts/{store.other_customer.id}/approver"
    assert client.post(url, data={"approver": "1"}).status_code == 404
    assert db.session.get(User, store.other_customer.id).is_approver is False


def test_deactivated_contact_can_no_longer_sign_in(app, client, store):
    login(client, store.sales)
    url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/active"
    response = client.post(url, data={"active": "0"}, headers=HX)
    assert response.status_code == 200
    assert "Reactivate" in response.get_data(as_text=True)

    other = app.test_client()
    response = other.post("/login", data={"email": store.customer.email, "password": PASSWORD})
    assert response.status_code == 401


def test_deactivating_a_contact_ends_their_open_session(app, client, store):
    customer = app.test_client()
    login(customer, store.customer)
    assert customer.get("/").status_code == 200
    login(client, store.sales)
    url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/active"
    client.post(url, data={"active": "0"})
    response = customer.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert customer.post("/cart/add", data={"product_id": "1", "quantity": "1"}).status_code == 302


def test_reactivated_contact_can_sign_in_again(app, client, store):
    login(client, store.sales)
    url = f"/admin/organizations/{store.org.id}/contacts/{store.customer.id}/active"
    client.post(url, data={"active": "0"})
    client.post(url, data={"active": "1"})
    login(app.test_client(), store.customer)


def test_detail_page_lists_contacts_with_their_state(client, store):
    make_user(organization=store.org, email="pending@contoso.example", password=None)
    login(client, store.sales)
    html = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert "buyer@contoso.example" in html
    assert "pending@contoso.example" in html
    assert "Invited" in html
    assert "Approver ✓" in html


# --- price groups ----------------------------------------------------------------------------


def test_admin_creates_a_price_group(client, store):
    login(client, store.admin)
    response = client.post(
        "/admin/organizations/price-groups", data={"name": "Education", "description": "Schools"}
    )
    assert response.status_code == 303
    group = db.session.scalar(select(PriceGroup).where(PriceGroup.name == "Education"))
    assert group.description == "Schools"


def test_creating_a_price_group_with_a_taken_name_is_refused_with_422(client, store):
    login(client, store.admin)
    response = client.post("/admin/organizations/price-groups", data={"name": "partner"})
    assert response.status_code == 422
    assert "A price group called &#39;partner&#39; already exists." in response.get_data(
        as_text=True
    )


def test_admin_renames_a_price_group(client, store):
    login(client, store.admin)
    response = client.post(
        f"/admin/organizations/price-groups/{store.price_group.id}",
        data={"name": "Gold partner", "description": ""},
    )
    assert response.status_code == 303
    assert db.session.get(PriceGroup, store.price_group.id).name == "Gold partner"


def test_renaming_a_price_group_to_a_taken_name_is_refused_with_422(client, store):
    db.session.add(PriceGroup(name="Education"))
    login(client, store.admin)
    response = client.post(
        f"/admin/organizations/price-groups/{store.price_group.id}",
        data={"name": "education", "description": ""},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A price group called &#39;education&#39; already exists." in html
    assert 'value="education"' in html  # the typed name is kept for correction
    assert db.session.get(PriceGroup, store.price_group.id).name == "Partner"


def test_sales_may_see_price_groups_but_not_create_them(client, store):
    login(client, store.sales)
    assert client.get("/admin/organizations/price-groups").status_code == 200
    response = client.post("/admin/organizations/price-groups", data={"name": "Education"})
    assert response.status_code == 403


def test_price_group_page_counts_its_organizations(client, store):
    store.org.price_group = store.price_group
    login(client, store.admin)
    html = client.get("/admin/organizations/price-groups").get_data(as_text=True)
    assert re.search(r'<td class="text-end">1</td>', html)


def test_admin_role_passes_every_organization_check(client, store):
    admin2 = make_user(role=Role.ADMIN)
    login(client, admin2)
    response = client.post(
        f"/admin/organizations/{store.unapproved_org.id}/approval", data={"approved": "1"}
    )
    assert response.status_code == 303


def test_non_ascii_names_are_compared_as_the_database_compares_them(client, store):
    # SQLite lowers ASCII only, PostgreSQL every letter: the check asks the database, so it
    # agrees with the unique index instead of a server error when Python's lower() differs.
    from tests.factories import login as sign_in

    sign_in(client, store.admin)
    for url in ("/admin/organizations/price-groups", "/admin/organizations/new"):
        first = client.post(url, data={"name": "Éducation Ñ"})
        assert first.status_code in (302, 303)
        again = client.post(url, data={"name": "Éducation Ñ\x0c"})  # stripped: the same name
        assert again.status_code < 500
        assert "already exists" in again.get_data(as_text=True)
        variant = client.post(url, data={"name": "éducation ñ"})
        assert variant.status_code < 500


# --- payment terms ---------------------------------------------------------------------------


def test_sales_sets_an_organizations_payment_terms_and_the_detail_shows_them(client, store):
    login(client, store.sales)
    edit = f"/admin/organizations/{store.org.id}/edit"
    assert "Empty: the default terms in Settings › Sales." in client.get(edit).get_data(
        as_text=True
    )
    response = client.post(edit, data=_org_form(name=store.org.name, payment_terms_days="7"))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Organization, store.org.id).payment_terms_days == 7
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert re.search(r'id="payment-terms">\s*7 days', page)
    # Emptied again: back to the default terms.
    client.post(edit, data=_org_form(name=store.org.name, payment_terms_days=""))
    db.session.expire_all()
    assert db.session.get(Organization, store.org.id).payment_terms_days is None
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert "Default (Settings › Sales)" in page


def test_payment_terms_out_of_range_or_not_a_number_are_refused_with_422(client, store):
    login(client, store.sales)
    edit = f"/admin/organizations/{store.org.id}/edit"
    for bad, message in (("400", "Payment terms are 0 to 365 days."), ("-1", "0 to 365"),
                         ("ten", "Not a valid integer value")):  # fmt: skip
        response = client.post(edit, data=_org_form(name="Renamed", payment_terms_days=bad))
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    db.session.expire_all()
    organization = db.session.get(Organization, store.org.id)
    assert organization.payment_terms_days is None and organization.name != "Renamed"


# --- a contact's name and phone ---------------------------------------------------------------


def _details_url(organization, contact) -> str:
    return f"/admin/organizations/{organization.id}/contacts/{contact.id}/details"


def test_staff_change_a_contacts_name_and_phone_but_not_the_email(client, store):
    login(client, store.sales)
    page = client.get(f"/admin/organizations/{store.org.id}").get_data(as_text=True)
    assert _details_url(store.org, store.customer) in page
    email = store.customer.email
    response = client.post(
        _details_url(store.org, store.customer),
        data={"name": "  Jordan Q. Lee ", "phone": "555-0142", "email": "x@evil.example"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Jordan Q. Lee" in response.get_data(as_text=True)
    db.session.expire_all()
    contact = db.session.get(User, store.customer.id)
    assert (contact.name, contact.phone, contact.email) == ("Jordan Q. Lee", "555-0142", email)


def test_bad_contact_details_are_refused_and_nothing_is_written(client, store):
    login(client, store.sales)
    before = (store.customer.name, store.customer.phone)
    url = _details_url(store.org, store.customer)
    for data in (
        {"name": "", "phone": "555"},
        {"name": "N" * 201, "phone": ""},
        {"name": "Jordan\x07Lee", "phone": ""},
        {"name": "Jordan", "phone": "5" * 51},
        {"name": "Jordan", "phone": "555\n0142"},
    ):
        assert client.post(url, data=data).status_code == 422
    assert client.post(url, data={"name": "Jordan", "phone": ""}, csrf=False).status_code == 400
    other = make_organization("Tailspin Toys")
    stranger = make_user(organization=other, email="someone@tailspin.example")
    db.session.commit()
    # Another organisation's contact is not found through this one.
    assert client.post(_details_url(store.org, stranger), data={"name": "X"}).status_code == 404
    client.post("/logout")
    login(client, store.purchasing)  # staff who may not edit organisations
    assert client.post(url, data={"name": "Jordan", "phone": ""}).status_code == 403
    db.session.expire_all()
    contact = db.session.get(User, store.customer.id)
    assert (contact.name, contact.phone) == before
