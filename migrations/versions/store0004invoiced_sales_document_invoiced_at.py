"""sales documents: when the tax invoice came to exist (invoiced_at), apart from when every
line was in (ready_to_invoice_at), so that My orders shows Shipped before Invoiced

Revision ID: store0004invoiced
Revises: harden0003
Create Date: 2026-12-08 01:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "store0004invoiced"
down_revision = "harden0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "sales_documents", sa.Column("invoiced_at", sa.DateTime(timezone=True), nullable=True)
    )
    # A document a ledger already holds the invoice of was invoiced when the ledger took it.
    documents = sa.table(
        "sales_documents", sa.column("id", sa.Integer), sa.column("invoiced_at", sa.DateTime)
    )
    links = sa.table(
        "integration_links",
        sa.column("connection_id", sa.Integer),
        sa.column("subject_type", sa.String),
        sa.column("subject_id", sa.Integer),
        sa.column("created_at", sa.DateTime),
    )
    ledgers = sa.table("ledger_connections", sa.column("id", sa.Integer))
    first_link = (
        sa.select(sa.func.min(links.c.created_at))
        .where(
            links.c.subject_type == "sales_document",
            links.c.subject_id == documents.c.id,
            links.c.connection_id.in_(sa.select(ledgers.c.id)),
        )
        .scalar_subquery()
    )
    op.execute(documents.update().values(invoiced_at=first_link))


def downgrade():
    # A plain drop (SQLite 3.35+): a batch copy would reflect the related tables.
    op.drop_column("sales_documents", "invoiced_at")
