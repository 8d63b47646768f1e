"""quotes: an edit revision, so a builder edit drawn from an older page is refused

Revision ID: desk0001
Revises: store0001img
Create Date: 2026-12-07 09:30:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "desk0001"
down_revision = "store0001img"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "quotes", sa.Column("revision", sa.Integer(), nullable=False, server_default="1")
    )


def downgrade():
    # SQLite copies the table; reflecting it warns about an expression index elsewhere.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("quotes") as batch:
            batch.drop_column("revision")
