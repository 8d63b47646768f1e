"""The quote builder in a real browser: two tabs on one quote never undo each other."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.steps import htmx_settled, reload_from_db
from tests.quotes.conftest import build_quote
from webapp.extensions import db
from webapp.quotes.models import Quote, QuoteLine

pytestmark = pytest.mark.browser


def test_an_edit_in_an_older_tab_is_refused_with_an_offer_to_reload(new_page, shop):
    quote = build_quote(shop)
    db.session.commit()
    line = quote.lines[0]  # Lenovo ThinkPad E16, quantity 2
    name = line.description
    first = new_page(shop.sales)
    second = new_page(shop.sales)
    for tab in (first, second):
        tab.goto(f"/admin/quotes/{quote.id}")
        expect(tab.get_by_label(f"Quantity of {name}")).to_have_value("2")

    # The first tab saves 5.
    with first.expect_response(lambda r: f"/lines/{line.id}" in r.url) as saved:
        first.get_by_label(f"Quantity of {name}").fill("5")
        first.get_by_label(f"Quantity of {name}").press("Tab")
    assert saved.value.status == 200
    htmx_settled(first)

    # The second tab, still showing 2, tries 3: refused, and it says how to catch up.
    with second.expect_response(lambda r: f"/lines/{line.id}" in r.url) as refused:
        second.get_by_label(f"Quantity of {name}").fill("3")
        second.get_by_label(f"Quantity of {name}").press("Tab")
    assert refused.value.status == 409
    toast = second.locator("#toasts")
    expect(toast).to_contain_text("changed in another tab")
    reload_from_db()
    assert db.session.get(QuoteLine, line.id).quantity == 5

    # Reloading shows the first tab's 5, and an edit from there is saved.
    toast.get_by_role("link", name="Reload the quote").click()
    quantity = second.get_by_label(f"Quantity of {name}")
    expect(quantity).to_have_value("5")
    with second.expect_response(lambda r: f"/lines/{line.id}" in r.url) as again:
        quantity.fill("4")
        quantity.press("Tab")
    assert again.value.status == 200
    reload_from_db()
    assert db.session.get(QuoteLine, line.id).quantity == 4


def drag(page, handle, target) -> None:
    """Press on `handle`, move in steps to the top of `target` and let go, as a hand would."""
    start = handle.bounding_box()
    end = target.bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + 40, end["y"] + 8, steps=20)
    page.mouse.up()


def _descriptions(section) -> list[str]:
    return section.locator(".quote-line").evaluate_all(
        "lines => lines.map(l => l.dataset.description)"
    )


def test_a_line_is_dragged_into_another_section_and_moved_back_with_the_keyboard(new_page, shop):
    quote = build_quote(shop)
    db.session.commit()
    page = new_page(shop.sales)
    page.set_viewport_size({"width": 1280, "height": 2400})  # both ends of the drag in view
    page.goto(f"/admin/quotes/{quote.id}")
    page.wait_for_load_state("load")  # SortableJS and app.js are deferred scripts
    extras = page.locator(".quote-section").filter(has=page.locator("input[value='Extras']"))
    laptops = page.locator(".quote-section").filter(
        has=page.locator("input[value='Laptop for the director']")
    )
    dock = page.locator(".quote-line[data-description='Docking station']")
    t14 = laptops.locator(".quote-line[data-description='Lenovo ThinkPad T14']")

    # Drag the dock by its handle onto the T14: it lands in the laptop section.
    with page.expect_response(lambda r: r.url.endswith("/move")) as moved:
        drag(page, dock.locator(".line-handle"), t14)
    assert moved.value.status == 200
    htmx_settled(page)
    expect(laptops.locator(".quote-line[data-description='Docking station']")).to_have_count(1)
    reload_from_db()
    dock_row = next(line for line in db.session.get(Quote, quote.id).lines if line.sku == "DOCK-1")
    assert dock_row.section.title == "Laptop for the director"
    layout = _descriptions(laptops)
    assert layout.index("Docking station") < layout.index("Lenovo ThinkPad X1 Carbon")

    # The keyboard way: ↓ until it is back in Extras, then duplicate it there.
    while laptops.locator(".quote-line[data-description='Docking station']").count():
        button = page.get_by_role("button", name="Move Docking station down")
        button.focus()
        with page.expect_response(lambda r: r.url.endswith("/move")):
            page.keyboard.press("Enter")
        htmx_settled(page)
    expect(extras.locator(".quote-line").first).to_have_attribute(
        "data-description", "Docking station"
    )
    page.get_by_role("button", name="Duplicate Docking station").click()
    expect(extras.locator(".quote-line[data-description='Docking station']")).to_have_count(2)


def test_ticking_confirm_the_cost_on_a_zero_cost_line_lets_the_quote_be_sent(new_page, shop):
    from tests.factories import make_product
    from webapp.quotes import building
    from webapp.quotes.models import QuoteStatus

    quote = build_quote(shop, recipients=[shop.customer])
    promo = make_product(category=shop.category, brand=shop.brand, name="Promo mouse", cost="0")
    line = building.add_product_line(quote, quote.sections[0], promo, 10, shop.sales)
    db.session.commit()
    page = new_page(shop.sales)
    page.goto(f"/admin/quotes/{quote.id}")
    send = page.get_by_role("button", name="Send quote")
    expect(send).to_be_disabled()
    expect(page.locator("#sending-problems")).to_contain_text("Promo mouse")
    expect(page.locator(f"#cost-unconfirmed-{line.id}")).to_be_visible()

    with page.expect_response(lambda r: f"/lines/{line.id}" in r.url) as confirmed:
        page.locator(f"#confirm-cost-{line.id}").check()
    assert confirmed.value.status == 200
    htmx_settled(page)
    expect(page.locator("#sending-problems")).to_have_count(0)
    expect(page.locator(f"#cost-unconfirmed-{line.id}")).to_have_count(0)
    expect(send).to_be_enabled()
    # Sending renders the PDF: wait for the answer itself.
    with page.expect_response(lambda r: r.url.endswith("/send"), timeout=60_000) as sent:
        send.click()
    assert sent.value.status == 200
    reload_from_db()
    assert db.session.get(Quote, quote.id).status is QuoteStatus.SENT
