"""Take the README's screenshots: the demo (as `make run` loads it) in headless Chromium.

    .venv/bin/python docs/screenshots.py        # writes docs/screenshots/*.png (a few minutes)

Everything runs in a temporary instance directory (SQLite, embedded Redis, a local SMTP sink),
so the demo a developer already has is left alone. Besides the demo data it places one order
for Jordan, orders it from the supplier and receipts part of it with a tracking number, so My
orders and the dashboard show an order on its way. DEMO_PRODUCTS (default 3000) sizes the
catalog; CHROMIUM the browser (default: Debian's /usr/bin/chromium).
"""

from __future__ import annotations

import os
import tempfile
import threading
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PORT = int(os.environ.get("SCREENSHOT_PORT", "5077"))
BASE = f"http://127.0.0.1:{PORT}"


def _environment(tmp: Path) -> None:
    os.environ.update(
        INSTANCE_PATH=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp / 'demo.db'}",
        PUBLIC_BASE_URL=BASE,
        SESSION_COOKIE_SECURE="false",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=os.environ.get("SCREENSHOT_MAIL_PORT", "8077"),
    )


def _order_on_its_way(echo) -> None:
    """Jordan's order: placed, ordered from the supplier, part of it receipted with tracking."""
    from sqlalchemy import select

    from webapp.auth.models import User
    from webapp.catalog.models import Product, ProductType
    from webapp.extensions import db
    from webapp.purchasing import ordering, planning, receipting
    from webapp.purchasing.models import PurchaseOrder, StockItem
    from webapp.sales import operations as sales
    from webapp.sales.models import DocumentSource, PaymentMethod
    from webapp.ticketmail import operations as ticketmail
    from webapp.ticketmail import render

    admin = db.session.scalar(select(User).where(User.email == "admin@msp.example"))
    ticketmail.save_settings(
        mailbox="tickets@psa.example",
        subject_template=render.DEFAULT_SUBJECT,
        body_template=render.DEFAULT_BODY,
        events=["issued", "changed", "cancelled"],
        attach_pdf=True,
        actor=admin.name,
    )
    jordan = db.session.scalar(select(User).where(User.email == "jordan@contoso.example"))
    products = db.session.scalars(
        select(Product)
        .where(Product.product_type == ProductType.PHYSICAL, Product.best_cost.is_not(None))
        .where(Product.name.ilike("%thinkpad%"), ~Product.id.in_(select(StockItem.product_id)))
        .order_by(Product.id)
        .limit(1)
    ).all()
    lines = [
        sales.LineInput(
            product_id=p.id,
            sku=p.mpn,
            description=p.name,
            quantity=3,
            unit_price=(p.best_cost * Decimal("1.2")).quantize(Decimal("0.01")),
            unit_cost=p.best_cost,
            tax_code=None,
        )
        for p in products
    ]
    document = sales.issue_document(
        organization=jordan.organization,
        contact=jordan,
        lines=lines,
        header=sales.HeaderInput(
            ship_to_name="Contoso Dental",
            address_line1="1 Harbour St",
            address_line2="",
            city="Springfield",
            region="IL",
            postcode="62701",
            country="US",
            shipping_method_name="Courier",
            shipping_charge=Decimal("15.00"),
            payment_method=PaymentMethod.ON_ACCOUNT,
            surcharge_pct=Decimal(0),
            customer_po="PO-7781",
            note="",
        ),
        source=DocumentSource.STORE,
        idempotency_key="screenshots:1",
        actor=jordan,
        currency="USD",
    )
    db.session.commit()
    planning.plan_document(document)
    db.session.commit()
    for po in db.session.scalars(select(PurchaseOrder)).all():
        ordering.issue_purchase_order(po, admin)
        db.session.commit()
        line = po.lines[0]
        receipting.record_receipt(
            po,
            receipting.ReceiptInput(
                "INV-55120",
                po.created_at.date(),
                None,
                Decimal(0),
                [receipting.ReceiptLineInput(line.id, 1, line.unit_cost)],
                tracking_number="1Z999AA10123456784",
                carrier="ups",
            ),
            admin,
        )
        db.session.commit()
    echo(f"  Order {document.number}: ordered from the supplier, partly shipped, tracked")


def _run_jobs(app) -> None:
    """Run what the worker would (emails, the ticket email), in this process."""
    from rq import SimpleWorker

    from webapp.jobs import get_queue

    with app.app_context():
        queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
        SimpleWorker(queues, connection=queues[0].connection).work(burst=True)


def _shoot(echo) -> None:
    from playwright.sync_api import sync_playwright

    from webapp.demo.seed import DEMO_PASSWORD

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)

        def session(email: str, width: int = 1280, height: int = 860):
            context = browser.new_context(
                base_url=BASE, viewport={"width": width, "height": height}
            )
            page = context.new_page()
            page.goto("/login")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login" not in url)
            return page

        def shot(page, path: str, name: str, full_page: bool = False) -> None:
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=full_page)
            echo(f"  {name}.png  ← {path}")

        customer = session("jordan@contoso.example")
        shot(customer, "/search?q=lenovo+laptop", "store-search")
        customer.goto("/search?q=lenovo+laptop")
        product = customer.locator("a[href^='/p/']").first.get_attribute("href")
        shot(customer, product, "store-product")
        shot(customer, "/orders", "my-orders")
        order = customer.locator("#my-orders a").first.get_attribute("href")
        shot(customer, order, "order-page", full_page=True)
        phone = session("jordan@contoso.example", width=390, height=844)
        shot(phone, "/search?q=ssd+1tb", "phone-search")

        staff = session("admin@msp.example")
        shot(staff, "/admin/", "dashboard", full_page=True)
        shot(staff, "/admin/orders/new", "desk-new-order")
        staff.goto("/admin/quotes/")
        quote = staff.locator("a[href^='/admin/quotes/']").filter(has_text="Q-").first
        shot(staff, quote.get_attribute("href"), "quote-builder")
        shot(staff, "/admin/ticket-email/", "ticket-by-email", full_page=True)
        browser.close()


def main() -> None:
    import click

    tmp = Path(tempfile.mkdtemp(prefix="msp-screenshots-"))
    _environment(tmp)
    OUT.mkdir(parents=True, exist_ok=True)
    from webapp import jobs
    from webapp.dev import _start_smtp_sink

    os.environ["REDIS_URL"] = jobs.start_embedded_redis(str(tmp))
    smtp = _start_smtp_sink(int(os.environ["MAIL_PORT"]))

    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.demo.cli import load_demo

    app = create_app()
    with app.app_context():
        upgrade()
        load_demo(int(os.environ.get("DEMO_PRODUCTS", "3000")))
        _order_on_its_way(click.echo)
    _run_jobs(app)
    server = make_server("127.0.0.1", PORT, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _shoot(click.echo)
    finally:
        server.shutdown()
        smtp.stop()


if __name__ == "__main__":
    main()
