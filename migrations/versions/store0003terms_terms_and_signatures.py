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
    with op.batch_alter_table("quote_decisions") as batch:
        batch.drop_column("signature_png")
        batch.drop_column("signature_text")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("payment_terms_days")
