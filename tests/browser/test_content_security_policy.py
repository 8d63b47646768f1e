"""The Content-Security-Policy holds on the key pages: Chromium reports no violation.

`new_page` fails any browser test on a console CSP violation; this test walks the pages
where one would hurt most (the store, cart and checkout, the quote builder, the approval
page, the dashboard, a Chart.js report, Sent mail) and first proves the policy is enforced
and that a violation would be seen.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CSP_VIOLATION
from tests.browser.steps import add_to_cart, htmx_settled, open_cart, search, start_checkout
from tests.quotes.conftest import build_quote
from webapp.extensions import db
from webapp.mail.models import OutboundEmail
from webapp.quotes import sending

pytestmark = pytest.mark.browser


def test_a_violation_is_refused_and_reported_on_the_console(chromium, live_server):
    context = chromium.new_context(base_url=live_server)
    page = context.new_page()
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text))
    response = page.goto("/login")
    assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__ranInline = true";
          document.body.appendChild(script);
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
        }"""
    )
    expect(page.locator("p[style]")).to_have_count(1)
    assert page.evaluate("() => window.__ranInline") is None  # the inline script never ran
    page.wait_for_timeout(200)
    assert sum(CSP_VIOLATION in text for text in seen) >= 2, seen
    context.close()


def test_key_pages_raise_no_csp_violation(new_page, shop, live_server):
    store = shop
    quote = build_quote(store, recipients=[store.customer])
    sending.send_quote(quote, store.sales)
    db.session.commit()
    link = urlsplit(sending.approval_url(quote, quote.current_version, store.customer)).path

    customer = new_page(store.customer)
    customer.goto("/")
    search(customer, "ThinkPad")
    add_to_cart(customer, "ThinkPad T14")
    open_cart(customer)
    start_checkout(customer)
    htmx_settled(customer)
    customer.goto(link)
    expect(customer.locator("#accept-form")).to_be_visible()

    sales = new_page(store.sales)
    sales.goto(f"/admin/quotes/{quote.id}")
    expect(sales.get_by_role("heading", level=1)).to_contain_text(quote.number)
    sales.goto("/admin/quotes/new")
    htmx_settled(sales)

    admin = new_page(store.admin)
    admin.goto("/admin/")
    expect(admin.get_by_role("heading", name="Dashboard")).to_be_visible()
    # Both dashboard charts are drawn (Chart.js keeps a chart per canvas it drew on).
    admin.wait_for_function(
        "() => window.Chart && [...document.querySelectorAll('canvas[data-chart]')]"
        ".filter(c => window.Chart.getChart(c)).length === 2"
    )
    admin.goto(f"/admin/orders/new?organization={store.org.id}")
    expect(admin.get_by_role("heading", level=1)).to_have_text("New order for Contoso")
    admin.goto("/admin/reports/gross-profit")
    admin.wait_for_function("() => window.Chart !== undefined")
    htmx_settled(admin)
    email = db.session.query(OutboundEmail).order_by(OutboundEmail.id).first()
    admin.goto(f"/admin/mail/{email.id}")
    body = admin.frame_locator("iframe[title='Email body']")
    expect(body.locator("a[href^='[link removed']")).to_have_count(1)  # framed, not stored
    # new_page fails the test here if any page logged a violation.
