"""ledger connections, mappings and the sync outbox (placeholder: filled in by the accounting work)

Revision ID: f4c6e8a0b2c3
Revises: e3b5d7f9a1b2
Create Date: 2026-11-22 04:00:00

"""
from alembic import op
import sqlalchemy as sa

import webapp.models_base  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'f4c6e8a0b2c3'
down_revision = 'e3b5d7f9a1b2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
