"""organizations: their own payment terms (empty = the settings' default);
quote acceptances: the approver's signature (typed or drawn), with its time and address

Revision ID: store0003terms
Revises: harden0002
Create Date: 2026-12-07 16:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "store0003terms"
down_revision = "harden0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("organizations", sa.Column("payment_terms_days", sa.Integer(), nullable=True))
    op.add_column(
        "quote_decisions",
        sa.Column("signature_text", sa.String(200), nullable=False, server_default=""),
    )
    op.add_column("quote_decisions", sa.Column("signature_png", sa.LargeBinary(), nullable=True))


def downgrade():
    # Plain drops (SQLite 3.35+ has DROP COLUMN): a batch copy reflects the related tables,
    # and the organizations' expression index (lower(name)) cannot be reflected.
    op.drop_column("quote_decisions", "signature_png")
    op.drop_column("quote_decisions", "signature_text")
    op.drop_column("organizations", "payment_terms_days")
