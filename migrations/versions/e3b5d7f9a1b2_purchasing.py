"""purchase orders, receipts and stock (placeholder: filled in by the purchasing work)

Revision ID: e3b5d7f9a1b2
Revises: d2a4c6e8f0a1
Create Date: 2026-11-22 04:00:00

"""
from alembic import op
import sqlalchemy as sa

import webapp.models_base  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'e3b5d7f9a1b2'
down_revision = 'd2a4c6e8f0a1'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
