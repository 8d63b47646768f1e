"""case-insensitive organization names; pricing rule scope unique with NULL as any

Revision ID: bc0bdeea8509
Revises: 2a6b454d5c1b
Create Date: 2026-11-22 01:10:21.232538

"""
from alembic import op
import sqlalchemy as sa

import webapp.models_base  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'bc0bdeea8509'
down_revision = '2a6b454d5c1b'
branch_labels = None
depends_on = None


def upgrade():
    # Expression indexes: autogenerate cannot see them, so they are written out by hand.
    with op.batch_alter_table('pricing_rules', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_pricing_rules_price_group_id_category_id_brand_id'), type_='unique')
    op.create_index(
        'uq_pricing_rules_scope',
        'pricing_rules',
        [
            sa.text('coalesce(price_group_id, 0)'),
            sa.text('coalesce(category_id, 0)'),
            sa.text('coalesce(brand_id, 0)'),
        ],
        unique=True,
    )
    op.create_index(
        'uq_organizations_name_lower', 'organizations', [sa.text('lower(name)')], unique=True
    )


def downgrade():
    op.drop_index('uq_organizations_name_lower', table_name='organizations')
    op.drop_index('uq_pricing_rules_scope', table_name='pricing_rules')
    with op.batch_alter_table('pricing_rules', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_pricing_rules_price_group_id_category_id_brand_id'), ['price_group_id', 'category_id', 'brand_id'])

