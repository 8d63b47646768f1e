"""ConnectWise: the site a PSA connection signs in to

Revision ID: cw0001site
Revises: perf0001
Create Date: 2026-12-07 12:05:00

"""

import warnings

import sqlalchemy as sa
from alembic import op

revision = "cw0001site"
down_revision = "perf0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "psa_connections",
        sa.Column("site", sa.String(length=200), nullable=False, server_default=""),
    )


def downgrade():
    # SQLite copies the table; reflecting it warns about an expression index elsewhere.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("psa_connections") as batch:
            batch.drop_column("site")
