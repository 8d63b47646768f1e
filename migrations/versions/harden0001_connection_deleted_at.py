"""integration connections: deleted_at marks a removed one (was a 'deleted-' tenant prefix);
ledger tax mappings: a tax rate on purchases (bills) beside the one on sales;
purchase order lines: a zero cost staff confirmed

Revision ID: harden0001
Revises: i16api0001
Create Date: 2026-12-07 12:00:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

import webapp.models_base

revision = "harden0001"
down_revision = "i16api0001"
branch_labels = None
depends_on = None

connections = sa.table(
    "integration_connections",
    sa.column("id", sa.Integer),
    sa.column("tenant_id", sa.String),
    sa.column("updated_at", webapp.models_base.UTCDateTime(timezone=True)),
    sa.column("deleted_at", webapp.models_base.UTCDateTime(timezone=True)),
)


def upgrade():
    op.add_column(
        "integration_connections",
        sa.Column("deleted_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    )
    # Existing mappings start without a purchase rate: the connection shows "needs mapping"
    # until an admin chooses one (a bill must not go out with the sales rate).
    op.add_column(
        "ledger_tax_mappings",
        sa.Column("purchase_tax_id", sa.String(length=100), nullable=False, server_default=""),
    )
    op.add_column(
        "ledger_tax_mappings",
        sa.Column("purchase_tax_name", sa.String(length=200), nullable=False, server_default=""),
    )
    op.add_column(
        "purchase_order_lines",
        sa.Column(
            "zero_cost_confirmed", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    bind = op.get_bind()
    marked = bind.execute(
        sa.select(connections.c.id, connections.c.tenant_id, connections.c.updated_at).where(
            connections.c.tenant_id.like("deleted-%")
        )
    ).all()
    for row_id, tenant_id, updated_at in marked:
        # "deleted-<id>-<tenant>": the tenant id it had before (cut to 100 characters then).
        original = tenant_id.removeprefix(f"deleted-{row_id}-")
        bind.execute(
            connections.update()
            .where(connections.c.id == row_id)
            .values(tenant_id=original, deleted_at=updated_at)
        )


def downgrade():
    bind = op.get_bind()
    deleted = bind.execute(
        sa.select(connections.c.id, connections.c.tenant_id).where(
            connections.c.deleted_at.is_not(None)
        )
    ).all()
    for row_id, tenant_id in deleted:
        bind.execute(
            connections.update()
            .where(connections.c.id == row_id)
            .values(tenant_id=f"deleted-{row_id}-{tenant_id}"[:100])
        )
    # SQLite copies the table; reflecting it warns about an expression index elsewhere.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("purchase_order_lines") as batch:
            batch.drop_column("zero_cost_confirmed")
        with op.batch_alter_table("ledger_tax_mappings") as batch:
            batch.drop_column("purchase_tax_name")
            batch.drop_column("purchase_tax_id")
        with op.batch_alter_table("integration_connections") as batch:
            batch.drop_column("deleted_at")
