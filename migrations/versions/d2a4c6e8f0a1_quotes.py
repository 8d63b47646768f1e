"""quotes, templates and approval rules (placeholder: filled in by the quotes work)

Revision ID: d2a4c6e8f0a1
Revises: c5e1a7d2b3f4
Create Date: 2026-11-22 04:00:00

"""
from alembic import op
import sqlalchemy as sa

import webapp.models_base  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'd2a4c6e8f0a1'
down_revision = 'c5e1a7d2b3f4'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
