"""Migrations are the only way the schema is made: one head, and they go down and up again."""

import warnings
from datetime import date

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tests.sandboxes.fixtures import (  # noqa: F401 - pytest finds fixtures by name
    qbo_sandbox,
    qbo_sandbox_factory,
)
from webapp.extensions import db


def test_there_is_a_single_migration_head(app):
    config = Config()
    config.set_main_option("script_location", "migrations")
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection, warnings.catch_warnings():
        # Expression indexes (lower(name), coalesce(...)) cannot be reflected everywhere;
        # the migration writes them out by hand and the round trip below exercises them.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = [
            d
            for d in compare_metadata(context, db.metadata)
            if not (d[0] in ("add_index", "remove_index") and d[1].name.startswith("uq_"))
        ]
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(app):
    downgrade(revision="base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert "sales_documents" in inspect(db.engine).get_table_names()


def test_upgrading_redacts_single_use_links_already_stored(app):
    """Emails written before i13b0mail001 held live invitation and approval links."""
    from sqlalchemy import text

    from webapp.mail.links import REDACTED
    from webapp.quotes.tokens import make_token

    downgrade(revision="i11a0core001")
    invite = "http://localhost/invite/eyJ1aWQiOjcsInN0YXRlIjoiYWJjIn0.aaa.bbb"
    approve = "http://localhost/q/" + make_token(3, 2, 9, date(2030, 1, 1))
    insert = text(
        "INSERT INTO outbound_emails (to_address, subject, text_body, html_body, status,"
        " attempts, last_error, topic, created_at)"
        " VALUES (:to, 's', :text, :html, 'sent', 1, '', :topic, CURRENT_TIMESTAMP)"
    )
    with db.engine.begin() as connection:
        connection.execute(
            insert,
            [
                {"to": "a@x", "text": f"Set it:\n{invite}\n", "html": f'<a href="{invite}">x</a>',
                 "topic": "invitation:7"},
                {"to": "b@x", "text": f"Review: {approve}", "html": "", "topic": "quote:3"},
                {"to": "c@x", "text": "Nothing to redact", "html": "", "topic": "sales:1"},
            ],
        )  # fmt: skip
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT text_body, html_body, link_kind, link_ref FROM outbound_emails ORDER BY id"
            )
        ).all()
    assert rows[0] == (f"Set it:\n{REDACTED}\n", f'<a href="{REDACTED}">x</a>', "invitation", "7")
    assert rows[1] == (f"Review: {REDACTED}", "", "quote-approval", "3:2:9")
    assert rows[2] == ("Nothing to redact", "", "", "")


def test_upgrading_moves_ledger_rows_into_the_integrations_core(app):
    """i11g0core002: connections, deliveries, links, log and notices keep their ids and data."""
    from sqlalchemy import text

    from webapp.accounting.models import LedgerConnection
    from webapp.integrations.models import Delivery, ExternalLink, Notification, SyncLogEntry

    downgrade(revision="i13a0auth001")
    now = "2026-12-01 10:00:00"
    rows = [
        "INSERT INTO ledger_connections (id, provider, tenant_id, tenant_name,"
        " vendor_connection_id,"
        " status, token_ciphertext, last_error, ledger_lists, lists_error, bill_status,"
        " invoice_status, numbering, push_bills, push_invoices, push_purchase_orders,"
        " cancel_action, created_at, updated_at) VALUES (7, 'xero', 'T-1', 'Acme Ltd', 'C-9',"
        " 'needs_reconnect', 'cipher', 'gone', '{}', '', 'draft', 'authorized', 'ours', true,"
        " true, false, 'credit_note', :now, :now)",
        "INSERT INTO ledger_deliveries (id, connection_id, kind, subject_type, subject_id, status,"
        " idempotency_key, generation, ledger_id, ledger_number, attempts, maybe_sent,"
        " last_error, error_field, error_fix, created_at, updated_at) VALUES (3, 7, 'invoice',"
        " 'sales_document', 11, 'confirmed', '7:invoice:sales_document:11', 2, 'INV-UUID',"
        " 'INV-0042', 1, false, '', '', '', :now, :now)",
        "INSERT INTO ledger_links (id, connection_id, subject_type, subject_id, ledger_id,"
        " ledger_number, ledger_url, version, created_at) VALUES (5, 7, 'sales_document', 11,"
        " 'INV-UUID', 'INV-0042', 'https://go.xero.com/x', '', :now)",
        "INSERT INTO ledger_sync_log (id, connection_id, direction, kind, subject_type,"
        " subject_id, delivery_id, ok, message, ledger_id, created_at) VALUES (8, 7, 'push',"
        " 'invoice', 'sales_document', 11, 3, true, 'created INV-0042', 'INV-UUID', :now)",
        "INSERT INTO accounting_notifications (id, connection_id, delivery_id, status, title,"
        " cause, message, field, fix, created_at) VALUES (4, 7, NULL, 'open', 'Reconnect Xero',"
        " 'reconnect', 'gone', 'Connection', 'Reconnect', :now)",
    ]
    with db.engine.begin() as connection:
        for row in rows:
            connection.execute(text(row), {"now": now})
    upgrade()
    db.session.expire_all()

    ledger = db.session.get(LedgerConnection, 7)
    assert (ledger.provider, ledger.tenant_id, ledger.tenant_name, ledger.domain) == (
        "xero",
        "T-1",
        "Acme Ltd",
        "ledger",
    )
    assert ledger.status == "needs_reconnect" and ledger.token_ciphertext == "cipher"
    assert ledger.cancel_action == "credit_note" and ledger.label == "Xero — Acme Ltd"
    delivery = db.session.get(Delivery, 3)
    assert (delivery.connection_id, delivery.remote_id, delivery.remote_number) == (
        7,
        "INV-UUID",
        "INV-0042",
    )
    assert delivery.generation == 2 and delivery.status == "confirmed"
    link = db.session.get(ExternalLink, 5)
    assert (link.remote_id, link.remote_url) == ("INV-UUID", "https://go.xero.com/x")
    assert db.session.get(SyncLogEntry, 8).remote_id == "INV-UUID"
    assert db.session.get(Notification, 4).cause == "reconnect"
    # New rows get ids after the copied ones (PostgreSQL sequences were moved on).
    fresh = LedgerConnection(provider="qbo", tenant_id="R-2")
    db.session.add(fresh)
    db.session.flush()
    assert fresh.id > 7
    db.session.rollback()


def test_upgrading_redacts_password_reset_links_already_stored(app):
    """Emails written before sec13reset001 held live password-reset links."""
    from sqlalchemy import text

    from webapp.mail.links import REDACTED

    downgrade(revision="i13a0auth001")
    reset = "http://localhost/password/reset/eyJ1aWQiOjcsInN0YXRlIjoiYWJjIn0.aaa.bbb"
    insert = text(
        "INSERT INTO outbound_emails (to_address, subject, text_body, html_body, status,"
        " attempts, last_error, topic, created_at, link_kind, link_ref)"
        " VALUES (:to, 's', :text, :html, 'sent', 1, '', :topic, CURRENT_TIMESTAMP, '', '')"
    )
    with db.engine.begin() as connection:
        connection.execute(
            insert,
            [
                {"to": "a@x", "text": f"Reset:\n{reset}\n", "html": f'<a href="{reset}">x</a>',
                 "topic": "password-reset:7"},
                {"to": "c@x", "text": "Nothing to redact", "html": "", "topic": "sales:1"},
            ],
        )  # fmt: skip
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT text_body, html_body, link_kind, link_ref FROM outbound_emails ORDER BY id"
            )
        ).all()
    assert rows[0] == (
        f"Reset:\n{REDACTED}\n", f'<a href="{REDACTED}">x</a>', "password-reset", "7:abc"
    )  # fmt: skip
    assert rows[1] == ("Nothing to redact", "", "", "")


def test_upgrading_turns_the_deleted_tenant_prefix_into_deleted_at(app):
    """Before harden0001 a deleted webhook endpoint was marked by a 'deleted-' tenant prefix."""
    from sqlalchemy import text

    downgrade(revision="i16api0001")
    insert = text(
        "INSERT INTO integration_connections (id, domain, provider, tenant_id, tenant_name,"
        " vendor_connection_id, status, token_ciphertext, last_error, created_at, updated_at)"
        " VALUES (:id, 'webhook', 'webhook', :tenant, 'ERP', '', :status, '', '',"
        " '2026-12-01 10:00:00', '2026-12-02 11:00:00')"
    )
    with db.engine.begin() as connection:
        connection.execute(
            insert,
            [
                {"id": 41, "tenant": "deleted-41-endpoint-0011aabb", "status": "disconnected"},
                {"id": 42, "tenant": "endpoint-2233ccdd", "status": "connected"},
            ],
        )
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, tenant_id, deleted_at IS NOT NULL FROM integration_connections"
                " ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (41, "endpoint-0011aabb", True),
        (42, "endpoint-2233ccdd", False),
    ]
    downgrade(revision="i16api0001")
    with db.engine.connect() as connection:
        tenants = connection.execute(
            text("SELECT tenant_id FROM integration_connections ORDER BY id")
        ).scalars()
        assert list(tenants) == ["deleted-41-endpoint-0011aabb", "endpoint-2233ccdd"]
    upgrade()


def test_upgrading_keeps_free_text_and_timeline_confirmed_costs_and_leaves_catalog_ones(app, store):
    """Before harden0003 a catalog line took its best cost unchecked; confirmations were only
    on the timeline."""
    from decimal import Decimal

    from sqlalchemy import text

    from webapp.catalog.models import ProductType
    from webapp.quotes import building

    sales = store.sales
    quote = building.create_quote(organization=store.org, owner=sales, actor=sales)
    items = quote.sections[0]
    store.products[0].best_cost = Decimal(0)
    confirmed = building.add_product_line(
        quote, items, store.products[0], 1, sales, cost_confirmed=True
    )
    unconfirmed = building.add_product_line(quote, items, store.products[0], 2, sales)
    priced = building.add_product_line(quote, items, store.products[1], 1, sales)
    labour = building.add_custom_line(
        quote,
        items,
        description="Our labour",
        product_type=ProductType.LABOUR,
        quantity=1,
        unit_price=Decimal("90"),
        unit_cost=None,
        sku="",
        actor=sales,
    )
    from tests.factories import make_product

    onsite = make_product(
        category=store.category,
        brand=store.brand,
        cost=None,
        product_type=ProductType.LABOUR,
    )
    own_service = building.add_product_line(quote, items, onsite, 1, sales)
    db.session.commit()
    ids = [confirmed.id, unconfirmed.id, priced.id, labour.id, own_service.id]
    db.session.close()
    downgrade(revision="store0003terms")
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, cost_confirmed FROM quote_lines ORDER BY id")
        ).all()
        indexes = {i["name"] for i in inspect(connection).get_indexes("security_events")}
    assert {row.id: bool(row.cost_confirmed) for row in rows} == {
        ids[0]: True,  # its confirmation is on the timeline
        ids[1]: False,
        ids[2]: False,  # a real cost: the flag does not matter
        ids[3]: True,
        ids[4]: True,  # our own labour, no supplier offer
    }
    assert "ix_security_events_created_at" in indexes


def test_upgrading_marks_invoiced_the_documents_a_ledger_holds_the_invoice_of(
    app,
    store,
    qbo_sandbox,  # noqa: F811 - the fixture imported above
):
    """Before store0004 "Invoiced" was read from ready_to_invoice_at; the ledger's link to the
    document is what says its tax invoice exists (a PSA's link to it says nothing of that)."""
    from sqlalchemy import text

    from tests.accounting.builders import connect_qbo, make_document
    from webapp.integrations.models import ExternalLink

    in_ledger = make_document(store.org, store.customer, store.products[:1])
    on_a_ticket = make_document(store.org, store.customer, store.products[:1])
    waiting = make_document(store.org, store.customer, store.products[:1])
    ledger = connect_qbo(qbo_sandbox)
    db.session.execute(
        text(
            "INSERT INTO integration_connections (id, domain, provider, tenant_id, tenant_name,"
            " vendor_connection_id, status, token_ciphertext, last_error, created_at, updated_at)"
            " VALUES (77, 'psa', 'autotask', 't-77', 'PSA', '', 'connected', '', '',"
            " '2026-12-01 10:00:00', '2026-12-02 11:00:00')"
        )
    )
    for connection_id, document in ((ledger.id, in_ledger), (77, on_a_ticket)):
        db.session.add(
            ExternalLink(
                connection_id=connection_id,
                subject_type="sales_document",
                subject_id=document.id,
                remote_id=f"r-{document.id}",
            )
        )
    db.session.commit()
    ids = [in_ledger.id, on_a_ticket.id, waiting.id]
    db.session.close()
    downgrade(revision="harden0003")
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, invoiced_at IS NOT NULL AS invoiced FROM sales_documents")
        ).all()
    assert {row.id: bool(row.invoiced) for row in rows} == {
        ids[0]: True,
        ids[1]: False,
        ids[2]: False,
    }
