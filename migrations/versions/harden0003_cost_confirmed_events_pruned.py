"""quote lines: whether a cost of zero or less was confirmed (an unconfirmed one stops
sending); security events: indexed on created_at for the nightly prune

Revision ID: harden0003
Revises: store0003terms
Create Date: 2026-12-08 00:30:00

"""

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from alembic import op

revision = "harden0003"
down_revision = "store0003terms"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "quote_lines",
        sa.Column("cost_confirmed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    lines = sa.table(
        "quote_lines",
        sa.column("id", sa.Integer),
        sa.column("product_id", sa.Integer),
        sa.column("unit_cost", sa.Numeric(14, 4)),
        sa.column("cost_confirmed", sa.Boolean),
    )
    # Free-text lines were refused a cost of zero or less unless confirmed (or left blank:
    # our own labour); catalog lines took the best cost unchecked, and stay unconfirmed
    # unless the timeline records a confirmation of the cost they have now.
    op.execute(lines.update().where(lines.c.product_id.is_(None)).values(cost_confirmed=True))
    # Our own services (no supplier offer, not goods) cost us nothing, as building.catalog_cost
    # says for the lines added from now on.
    products = sa.table(
        "products",
        sa.column("id", sa.Integer),
        sa.column("best_cost", sa.Numeric(14, 4)),
        sa.column("product_type", sa.String),
    )
    own_services = sa.select(products.c.id).where(
        products.c.best_cost.is_(None),
        products.c.product_type.not_in(["physical", "non_physical"]),
    )
    op.execute(
        lines.update().where(lines.c.product_id.in_(own_services)).values(cost_confirmed=True)
    )
    events = sa.table(
        "quote_events", sa.column("type", sa.String), sa.column("data", sa.JSON)
    )
    bind = op.get_bind()
    confirmed = {}
    for (data,) in bind.execute(
        sa.select(events.c.data).where(events.c.type == "line.cost_confirmed")
    ):
        if isinstance(data, dict) and isinstance(data.get("line_id"), int):
            try:
                confirmed[data["line_id"]] = Decimal(str(data.get("unit_cost")))
            except InvalidOperation:
                continue
    if confirmed:
        rows = bind.execute(
            sa.select(lines.c.id, lines.c.unit_cost).where(lines.c.id.in_(list(confirmed)))
        )
        ids = [
            row.id
            for row in rows
            if row.unit_cost is not None
            and Decimal(row.unit_cost) <= 0
            and confirmed[row.id] == Decimal(row.unit_cost)
        ]
        if ids:
            op.execute(lines.update().where(lines.c.id.in_(ids)).values(cost_confirmed=True))
    op.create_index(
        op.f("ix_security_events_created_at"), "security_events", ["created_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_security_events_created_at"), table_name="security_events")
    # A plain drop (SQLite 3.35+): a batch copy would reflect the related tables.
    op.drop_column("quote_lines", "cost_confirmed")
