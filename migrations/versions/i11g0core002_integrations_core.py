"""integrations core: one table of connections and one outbox for every outside system

The ledger's connections, deliveries, attempts, links, sync log and notifications become the
core's (integration_*), so a PSA or a webhook endpoint plugs into the same outbox. Rows are
copied with their ids; ledger_connections keeps only the ledger's own settings and shares its
id with integration_connections (joined-table inheritance). "ledger_id" becomes "remote_id".

Revision ID: i11g0core002
Revises: i13a0auth001
Create Date: 2026-12-07 09:14:27

"""

import warnings

import sqlalchemy as sa
from alembic import op

from webapp.models_base import UTCDateTime

revision = "i11g0core002"
down_revision = "i13a0auth001"
branch_labels = None
depends_on = None

CONNECTION_COLUMNS = (
    "provider",
    "tenant_id",
    "tenant_name",
    "vendor_connection_id",
    "status",
    "token_ciphertext",
    "access_expires_at",
    "refresh_expires_at",
    "last_refreshed_at",
    "last_sync_at",
    "last_error",
    "last_error_at",
    "connected_by_id",
    "created_at",
    "updated_at",
)
# (new table, old table, [(new column, old column)]) — same ids on both sides.
COPIES = [
    (
        "integration_deliveries",
        "ledger_deliveries",
        [
            "id",
            "connection_id",
            "kind",
            "subject_type",
            "subject_id",
            "status",
            "idempotency_key",
            "generation",
            ("remote_id", "ledger_id"),
            ("remote_number", "ledger_number"),
            "attempts",
            "maybe_sent",
            "next_attempt_at",
            "last_error",
            "error_field",
            "error_fix",
            "confirmed_at",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "integration_delivery_dependencies",
        "ledger_delivery_dependencies",
        ["delivery_id", "depends_on_id"],
    ),
    (
        "integration_delivery_attempts",
        "ledger_delivery_attempts",
        [
            "id",
            "delivery_id",
            "outcome",
            "started_at",
            "duration_ms",
            "http_status",
            "request_excerpt",
            "response_excerpt",
            "error",
        ],
    ),
    (
        "integration_links",
        "ledger_links",
        [
            "id",
            "connection_id",
            "subject_type",
            "subject_id",
            ("remote_id", "ledger_id"),
            ("remote_number", "ledger_number"),
            ("remote_url", "ledger_url"),
            "version",
            "created_at",
        ],
    ),
    (
        "integration_log",
        "ledger_sync_log",
        [
            "id",
            "connection_id",
            "direction",
            "kind",
            "subject_type",
            "subject_id",
            "delivery_id",
            "ok",
            "message",
            ("remote_id", "ledger_id"),
            "created_at",
        ],
    ),
    (
        "integration_notifications",
        "accounting_notifications",
        [
            "id",
            "connection_id",
            "delivery_id",
            "status",
            "title",
            "cause",
            "message",
            "field",
            "fix",
            "created_at",
            "resolved_at",
        ],
    ),
]
WITH_IDS = ["integration_connections"] + [new for new, _old, cols in COPIES if "id" in cols]


def _copy(target: str, source: str, pairs, *, forward: bool) -> None:
    pairs = [p if isinstance(p, tuple) else (p, p) for p in pairs]
    into = [new if forward else old for new, old in pairs]
    take = [old if forward else new for new, old in pairs]
    op.execute(f"INSERT INTO {target} ({', '.join(into)}) SELECT {', '.join(take)} FROM {source}")


def _reset_sequences(tables) -> None:
    """Explicit ids were inserted: the next id PostgreSQL hands out must follow them."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def _generic_columns():
    return [
        sa.Column("provider", sa.String(length=32), nullable=False, server_default=""),
        sa.Column("tenant_id", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("tenant_name", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("vendor_connection_id", sa.String(length=100), nullable=False, server_default=""),
        sa.Column("status", sa.String(length=32), nullable=False, server_default="connected"),
        sa.Column("token_ciphertext", sa.Text(), nullable=False, server_default=""),
        sa.Column("access_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_refreshed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("last_error_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("connected_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True),
    ]


def upgrade():
    op.create_table(
        "integration_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("tenant_name", sa.String(length=200), nullable=False),
        sa.Column("vendor_connection_id", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "connected",
                "needs_reconnect",
                "disconnected",
                name="connection_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("token_ciphertext", sa.Text(), nullable=False),
        sa.Column("access_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_refreshed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("connected_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connected_by_id"],
            ["users.id"],
            name=op.f("fk_integration_connections_connected_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_connections")),
        sa.UniqueConstraint(
            "provider", "tenant_id", name=op.f("uq_integration_connections_provider_tenant_id")
        ),
    )
    op.create_table(
        "integration_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
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
                "cancelled",
                name="delivery_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("remote_number", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("maybe_sent", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("error_field", sa.String(length=200), nullable=False),
        sa.Column("error_fix", sa.Text(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["integration_connections.id"],
            name=op.f("fk_integration_deliveries_connection_id_integration_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_deliveries")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_integration_deliveries_idempotency_key")
        ),
    )
    with op.batch_alter_table("integration_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integration_deliveries_connection_status", ["connection_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_integration_deliveries_subject", ["subject_type", "subject_id"], unique=False
        )

    op.create_table(
        "integration_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("remote_number", sa.String(length=100), nullable=False),
        sa.Column("remote_url", sa.String(length=500), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["integration_connections.id"],
            name=op.f("fk_integration_links_connection_id_integration_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_links")),
        sa.UniqueConstraint(
            "connection_id",
            "subject_type",
            "subject_id",
            name=op.f("uq_integration_links_connection_id_subject_type_subject_id"),
        ),
    )
    op.create_table(
        "integration_delivery_attempts",
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
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("request_excerpt", sa.Text(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["integration_deliveries.id"],
            name=op.f("fk_integration_delivery_attempts_delivery_id_integration_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_delivery_attempts")),
    )
    with op.batch_alter_table("integration_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integration_delivery_attempts_delivery_id"),
            ["delivery_id"],
            unique=False,
        )

    op.create_table(
        "integration_delivery_dependencies",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("depends_on_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["integration_deliveries.id"],
            name=op.f("fk_integration_delivery_dependencies_delivery_id_integration_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["integration_deliveries.id"],
            name=op.f("fk_integration_delivery_dependencies_depends_on_id_integration_deliveries"),
        ),
        sa.PrimaryKeyConstraint(
            "delivery_id", "depends_on_id", name=op.f("pk_integration_delivery_dependencies")
        ),
    )
    op.create_table(
        "integration_log",
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
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["integration_connections.id"],
            name=op.f("fk_integration_log_connection_id_integration_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["integration_deliveries.id"],
            name=op.f("fk_integration_log_delivery_id_integration_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_log")),
    )
    with op.batch_alter_table("integration_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integration_log_connection_created", ["connection_id", "id"], unique=False
        )

    op.create_table(
        "integration_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "resolved", name="notification_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("cause", sa.String(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["integration_connections.id"],
            name=op.f("fk_integration_notifications_connection_id_integration_connections"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["integration_deliveries.id"],
            name=op.f("fk_integration_notifications_delivery_id_integration_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_notifications")),
    )
    with op.batch_alter_table("integration_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integration_notifications_delivery_id"), ["delivery_id"], unique=False
        )

    op.execute(
        f"INSERT INTO integration_connections (id, domain, {', '.join(CONNECTION_COLUMNS)}) "
        f"SELECT id, 'ledger', {', '.join(CONNECTION_COLUMNS)} FROM ledger_connections"
    )
    for new, old, pairs in COPIES:
        _copy(new, old, pairs, forward=True)
    _reset_sequences(WITH_IDS)
    for _new, old, _pairs in reversed(COPIES):
        op.drop_table(old)
    if op.get_bind().dialect.name == "postgresql":
        # Its id now comes from integration_connections.
        op.execute("ALTER TABLE ledger_connections ALTER COLUMN id DROP DEFAULT")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("ledger_connections", schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f("uq_ledger_connections_provider_tenant_id"), type_="unique"
            )
            batch_op.drop_constraint(
                batch_op.f("fk_ledger_connections_connected_by_id_users"), type_="foreignkey"
            )
            batch_op.create_foreign_key(
                batch_op.f("fk_ledger_connections_id_integration_connections"),
                "integration_connections",
                ["id"],
                ["id"],
            )
            batch_op.drop_column("last_error_at")
            batch_op.drop_column("refresh_expires_at")
            batch_op.drop_column("last_sync_at")
            batch_op.drop_column("vendor_connection_id")
            batch_op.drop_column("updated_at")
            batch_op.drop_column("last_refreshed_at")
            batch_op.drop_column("status")
            batch_op.drop_column("created_at")
            batch_op.drop_column("tenant_id")
            batch_op.drop_column("connected_by_id")
            batch_op.drop_column("token_ciphertext")
            batch_op.drop_column("access_expires_at")
            batch_op.drop_column("provider")
            batch_op.drop_column("tenant_name")
            batch_op.drop_column("last_error")


def downgrade():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        # Back to one ledger table: the generic columns return, filled from the core's rows.
        with op.batch_alter_table("ledger_connections") as batch_op:
            batch_op.drop_constraint(
                "fk_ledger_connections_id_integration_connections", type_="foreignkey"
            )
            for column in _generic_columns():
                batch_op.add_column(column)
        for name in CONNECTION_COLUMNS:
            op.execute(
                f"UPDATE ledger_connections SET {name} = (SELECT c.{name} FROM integration_connections c "
                "WHERE c.id = ledger_connections.id)"
            )
        with op.batch_alter_table("ledger_connections") as batch_op:
            batch_op.create_foreign_key(
                "fk_ledger_connections_connected_by_id_users", "users", ["connected_by_id"], ["id"]
            )
            batch_op.create_unique_constraint(
                "uq_ledger_connections_provider_tenant_id", ["provider", "tenant_id"]
            )
        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                "CREATE SEQUENCE IF NOT EXISTS ledger_connections_id_seq OWNED BY ledger_connections.id"
            )
            op.execute(
                "ALTER TABLE ledger_connections ALTER COLUMN id SET DEFAULT nextval('ledger_connections_id_seq')"
            )
            _reset_sequences(["ledger_connections"])
    op.create_table(
        "ledger_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("ledger_id", sa.String(length=100), nullable=False),
        sa.Column("ledger_number", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("maybe_sent", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("error_field", sa.String(length=200), nullable=False),
        sa.Column("error_fix", sa.Text(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["ledger_connections.id"],
            name=op.f("fk_ledger_deliveries_connection_id_ledger_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_deliveries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_deliveries_idempotency_key")),
    )
    with op.batch_alter_table("ledger_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_deliveries_subject"), ["subject_type", "subject_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_deliveries_connection_status"),
            ["connection_id", "status"],
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
        "ledger_delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
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
    with op.batch_alter_table("ledger_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_delivery_attempts_delivery_id"), ["delivery_id"], unique=False
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
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
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
        "ledger_sync_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("ledger_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
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
    with op.batch_alter_table("ledger_sync_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_sync_log_connection_created"),
            ["connection_id", "id"],
            unique=False,
        )

    op.create_table(
        "accounting_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cause", sa.String(length=50), server_default=sa.text("('')"), nullable=False),
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
    with op.batch_alter_table("accounting_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_accounting_notifications_delivery_id"), ["delivery_id"], unique=False
        )

    for new, old, pairs in COPIES:
        _copy(old, new, pairs, forward=False)
    _reset_sequences([old for _new, old, cols in COPIES if "id" in cols])
    with op.batch_alter_table("integration_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_notifications_delivery_id"))

    op.drop_table("integration_notifications")
    with op.batch_alter_table("integration_log", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_log_connection_created")

    op.drop_table("integration_log")
    op.drop_table("integration_delivery_dependencies")
    with op.batch_alter_table("integration_delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integration_delivery_attempts_delivery_id"))

    op.drop_table("integration_delivery_attempts")
    op.drop_table("integration_links")
    with op.batch_alter_table("integration_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_deliveries_subject")
        batch_op.drop_index("ix_integration_deliveries_connection_status")

    op.drop_table("integration_deliveries")
    op.drop_table("integration_connections")
