"""ledger connections, mappings, record links and the sync outbox

Revision ID: f4c6e8a0b2c3
Revises: e3b5d7f9a1b2
Create Date: 2026-11-22 04:00:00

"""

import sqlalchemy as sa
from alembic import op

import webapp.models_base  # noqa: F401 (custom column types)

# revision identifiers, used by Alembic.
revision = "f4c6e8a0b2c3"
down_revision = "e3b5d7f9a1b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ledger_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "provider",
            sa.Enum("qbo", "xero", name="ledger_provider", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("tenant_name", sa.String(length=200), nullable=False),
        sa.Column("vendor_connection_id", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "connected",
                "needs_reconnect",
                "disconnected",
                name="ledger_connection_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("token_ciphertext", sa.Text(), nullable=False),
        sa.Column(
            "access_expires_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "refresh_expires_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_refreshed_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_sync_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "payments_synced_until", webapp.models_base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("connected_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "bill_status",
            sa.Enum(
                "draft",
                "submitted",
                "authorized",
                name="ledger_bill_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "invoice_status",
            sa.Enum(
                "draft",
                "submitted",
                "authorized",
                name="ledger_invoice_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "numbering",
            sa.Enum("ours", "ledger", name="ledger_numbering", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("push_bills", sa.Boolean(), nullable=False),
        sa.Column("push_invoices", sa.Boolean(), nullable=False),
        sa.Column("push_purchase_orders", sa.Boolean(), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connected_by_id"],
            ["users.id"],
            name=op.f("fk_ledger_connections_connected_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_connections")),
        sa.UniqueConstraint(
            "provider", "tenant_id", name=op.f("uq_ledger_connections_provider_tenant_id")
        ),
    )
    op.create_table(
        "ledger_account_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "income",
                "expense",
                "freight",
                "surcharge",
                "payables",
                name="account_purpose",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("ledger_account_id", sa.String(length=100), nullable=False),
        sa.Column("ledger_account_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_ledger_account_mappings_connection_id_ledger_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_account_mappings")),
        sa.UniqueConstraint(
            "connection_id",
            "purpose",
            name=op.f("uq_ledger_account_mappings_connection_id_purpose"),
        ),
    )
    op.create_table(
        "ledger_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "customer",
                "item",
                "supplier",
                "invoice",
                "bill",
                "purchase_order",
                name="delivery_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "waiting",
                "sent",
                "confirmed",
                "failed",
                name="delivery_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ledger_id", sa.String(length=100), nullable=False),
        sa.Column("ledger_number", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("maybe_sent", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("error_field", sa.String(length=200), nullable=False),
        sa.Column("error_fix", sa.Text(), nullable=False),
        sa.Column("confirmed_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_ledger_deliveries_connection_id_ledger_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_deliveries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_deliveries_idempotency_key")),
    )
    op.create_index(
        "ix_ledger_deliveries_connection_status",
        "ledger_deliveries",
        ["connection_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_deliveries_subject",
        "ledger_deliveries",
        ["subject_type", "subject_id"],
        unique=False,
    )
    op.create_table(
        "ledger_imported_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("ledger_payment_id", sa.String(length=200), nullable=False),
        sa.Column("invoice_ledger_id", sa.String(length=100), nullable=False),
        sa.Column("sales_document_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_ledger_imported_payments_connection_id_ledger_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["sales_document_id"],
            ["sales_documents.id"],
            name=op.f("fk_ledger_imported_payments_sales_document_id_sales_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_imported_payments")),
        sa.UniqueConstraint(
            "connection_id",
            "ledger_payment_id",
            name=op.f("uq_ledger_imported_payments_connection_id_ledger_payment_id"),
        ),
    )
    op.create_index(
        op.f("ix_ledger_imported_payments_sales_document_id"),
        "ledger_imported_payments",
        ["sales_document_id"],
        unique=False,
    )
    op.create_table(
        "ledger_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("ledger_id", sa.String(length=100), nullable=False),
        sa.Column("ledger_number", sa.String(length=100), nullable=False),
        sa.Column("ledger_url", sa.String(length=500), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_ledger_links_connection_id_ledger_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_links")),
        sa.UniqueConstraint(
            "connection_id",
            "subject_type",
            "subject_id",
            name=op.f("uq_ledger_links_connection_id_subject_type_subject_id"),
        ),
    )
    op.create_table(
        "ledger_tax_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("tax_code", sa.String(length=20), nullable=False),
        sa.Column("ledger_tax_id", sa.String(length=100), nullable=False),
        sa.Column("ledger_tax_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_ledger_tax_mappings_connection_id_ledger_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_tax_mappings")),
        sa.UniqueConstraint(
            "connection_id", "tax_code", name=op.f("uq_ledger_tax_mappings_connection_id_tax_code")
        ),
    )
    op.create_table(
        "accounting_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "resolved",
                name="accounting_notification_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_accounting_notifications_connection_id_ledger_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["ledger_deliveries.id"],
            name=op.f("fk_accounting_notifications_delivery_id_ledger_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_notifications")),
    )
    op.create_index(
        op.f("ix_accounting_notifications_delivery_id"),
        "accounting_notifications",
        ["delivery_id"],
        unique=False,
    )
    op.create_table(
        "ledger_delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "started",
                "succeeded",
                "transient",
                "rejected",
                "reconnect",
                name="attempt_outcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("request_excerpt", sa.Text(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["ledger_deliveries.id"],
            name=op.f("fk_ledger_delivery_attempts_delivery_id_ledger_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_delivery_attempts")),
    )
    op.create_index(
        op.f("ix_ledger_delivery_attempts_delivery_id"),
        "ledger_delivery_attempts",
        ["delivery_id"],
        unique=False,
    )
    op.create_table(
        "ledger_delivery_dependencies",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["ledger_deliveries.id"],
            name=op.f("fk_ledger_delivery_dependencies_delivery_id_ledger_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["ledger_deliveries.id"],
            name=op.f("fk_ledger_delivery_dependencies_depends_on_id_ledger_deliveries"),
        ),
        sa.PrimaryKeyConstraint(
            "delivery_id", "depends_on_id", name=op.f("pk_ledger_delivery_dependencies")
        ),
    )
    op.create_table(
        "ledger_sync_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column(
            "direction",
            sa.Enum("push", "pull", name="sync_direction", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("ledger_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_ledger_sync_log_connection_id_ledger_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["ledger_deliveries.id"],
            name=op.f("fk_ledger_sync_log_delivery_id_ledger_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_sync_log")),
    )
    op.create_index(
        "ix_ledger_sync_log_connection_created",
        "ledger_sync_log",
        ["connection_id", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_ledger_sync_log_connection_created", table_name="ledger_sync_log")
    op.drop_table("ledger_sync_log")
    op.drop_table("ledger_delivery_dependencies")
    op.drop_index(
        op.f("ix_ledger_delivery_attempts_delivery_id"), table_name="ledger_delivery_attempts"
    )
    op.drop_table("ledger_delivery_attempts")
    op.drop_index(
        op.f("ix_accounting_notifications_delivery_id"), table_name="accounting_notifications"
    )
    op.drop_table("accounting_notifications")
    op.drop_table("ledger_tax_mappings")
    op.drop_table("ledger_links")
    op.drop_index(
        op.f("ix_ledger_imported_payments_sales_document_id"), table_name="ledger_imported_payments"
    )
    op.drop_table("ledger_imported_payments")
    op.drop_index("ix_ledger_deliveries_subject", table_name="ledger_deliveries")
    op.drop_index("ix_ledger_deliveries_connection_status", table_name="ledger_deliveries")
    op.drop_table("ledger_deliveries")
    op.drop_table("ledger_account_mappings")
    op.drop_table("ledger_connections")
