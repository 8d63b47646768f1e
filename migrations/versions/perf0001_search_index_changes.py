"""Search index changes: the log every node's search index catches up from

Revision ID: perf0001
Revises: store0002track
Create Date: 2026-12-07 12:20:00

"""

import sqlalchemy as sa
from alembic import op

import webapp.models_base

revision = "perf0001"
down_revision = "store0002track"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_index_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_index_changes")),
    )
    op.create_index(
        op.f("ix_search_index_changes_created_at"),
        "search_index_changes",
        ["created_at"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_search_index_changes_created_at"), table_name="search_index_changes")
    op.drop_table("search_index_changes")
