"""quotes, their versions and decisions, templates and approval rules

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
    op.create_table('quote_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('expiry_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_quote_templates_name'))
    )
    op.create_table('quote_template_sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('choose_one', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['quote_templates.id'], name=op.f('fk_quote_template_sections_template_id_quote_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_template_sections'))
    )
    op.create_index(op.f('ix_quote_template_sections_template_id'), 'quote_template_sections', ['template_id'], unique=False)
    op.create_table('quote_template_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('product_type', sa.Enum('physical', 'non_physical', 'service', 'recurring_service', 'labour', 'bundle', name='product_type', native_enum=False, length=32), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('optional', sa.Boolean(), nullable=False),
    sa.Column('qty_editable', sa.Boolean(), nullable=False),
    sa.Column('min_qty', sa.Integer(), nullable=True),
    sa.Column('max_qty', sa.Integer(), nullable=True),
    sa.Column('recurrence', sa.Enum('none', 'monthly', 'annual', name='recurrence', native_enum=False, length=32), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quote_template_lines_product_id_products')),
    sa.ForeignKeyConstraint(['section_id'], ['quote_template_sections.id'], name=op.f('fk_quote_template_lines_section_id_quote_template_sections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_template_lines'))
    )
    op.create_index(op.f('ix_quote_template_lines_section_id'), 'quote_template_lines', ['section_id'], unique=False)
    op.create_table('quote_approval_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('total_above', 'line_discount_above', 'line_margin_below', 'total_margin_below', 'user_always', name='approval_rule', native_enum=False, length=32), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quote_approval_rules_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_approval_rules'))
    )
    op.create_table('quotes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('draft', 'pending_internal_approval', 'approved_internally', 'sent', 'won', 'lost', 'expired', 'cancelled', name='quote_status', native_enum=False, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('admin', 'store', name='quote_source', native_enum=False, length=32), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('request_note', sa.Text(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payment_method', sa.Enum('on_account', 'card', name='payment_method', native_enum=False, length=32), nullable=False),
    sa.Column('surcharge_pct', sa.Numeric(precision=7, scale=3), nullable=False),
    sa.Column('shipping_label', sa.String(length=100), nullable=False),
    sa.Column('shipping_charge', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('approval_reasons', sa.JSON(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_hash', sa.String(length=64), nullable=False),
    sa.Column('sent_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lost_reason', sa.Text(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_quotes_approved_by_id_users')),
    sa.ForeignKeyConstraint(['document_id'], ['sales_documents.id'], name=op.f('fk_quotes_document_id_sales_documents')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_quotes_organization_id_organizations')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_quotes_owner_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_quotes_requested_by_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['quote_templates.id'], name=op.f('fk_quotes_template_id_quote_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quotes')),
    sa.UniqueConstraint('number', name=op.f('uq_quotes_number'))
    )
    op.create_index(op.f('ix_quotes_organization_id'), 'quotes', ['organization_id'], unique=False)
    op.create_index('ix_quotes_status_expires', 'quotes', ['status', 'expires_on'], unique=False)
    op.create_table('quote_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_quote_events_actor_id_users')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_events_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_events'))
    )
    op.create_index(op.f('ix_quote_events_quote_id'), 'quote_events', ['quote_id'], unique=False)
    op.create_table('quote_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_recipients_quote_id_quotes')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quote_recipients_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_recipients')),
    sa.UniqueConstraint('quote_id', 'user_id', name=op.f('uq_quote_recipients_quote_id_user_id'))
    )
    op.create_table('quote_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('due_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_quote_reminders_created_by_id_users')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_reminders_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_reminders'))
    )
    op.create_index(op.f('ix_quote_reminders_due_at'), 'quote_reminders', ['due_at'], unique=False)
    op.create_index(op.f('ix_quote_reminders_quote_id'), 'quote_reminders', ['quote_id'], unique=False)
    op.create_table('quote_sections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('choose_one', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_sections_quote_id_quotes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_sections'))
    )
    op.create_index(op.f('ix_quote_sections_quote_id'), 'quote_sections', ['quote_id'], unique=False)
    op.create_table('quote_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('sent_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('superseded_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_versions_quote_id_quotes')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_quote_versions_sent_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_versions')),
    sa.UniqueConstraint('quote_id', 'number', name=op.f('uq_quote_versions_quote_id_number'))
    )
    op.create_table('quote_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('viewed_on', sa.Date(), nullable=False),
    sa.Column('viewed_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_views_quote_id_quotes')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_quote_views_recipient_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_views')),
    sa.UniqueConstraint('quote_id', 'recipient_id', 'viewed_on', name=op.f('uq_quote_views_quote_id_recipient_id_viewed_on'))
    )
    op.create_table('quote_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('accepted', 'declined', name='decision_outcome', native_enum=False, length=32), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('customer_po', sa.String(length=100), nullable=False),
    sa.Column('terms_accepted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('selection', sa.JSON(), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('decided_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['sales_documents.id'], name=op.f('fk_quote_decisions_document_id_sales_documents')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_decisions_quote_id_quotes')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_quote_decisions_recipient_id_users')),
    sa.ForeignKeyConstraint(['version_id'], ['quote_versions.id'], name=op.f('fk_quote_decisions_version_id_quote_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_decisions')),
    sa.UniqueConstraint('version_id', name=op.f('uq_quote_decisions_version_id'))
    )
    op.create_index(op.f('ix_quote_decisions_quote_id'), 'quote_decisions', ['quote_id'], unique=False)
    op.create_table('quote_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('list_price', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('tax_code_id', sa.Integer(), nullable=True),
    sa.Column('product_type', sa.Enum('physical', 'non_physical', 'service', 'recurring_service', 'labour', 'bundle', name='product_type', native_enum=False, length=32), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('optional', sa.Boolean(), nullable=False),
    sa.Column('qty_editable', sa.Boolean(), nullable=False),
    sa.Column('min_qty', sa.Integer(), nullable=True),
    sa.Column('max_qty', sa.Integer(), nullable=True),
    sa.Column('recurrence', sa.Enum('none', 'monthly', 'annual', name='recurrence', native_enum=False, length=32), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_quote_lines_product_id_products')),
    sa.ForeignKeyConstraint(['quote_id'], ['quotes.id'], name=op.f('fk_quote_lines_quote_id_quotes')),
    sa.ForeignKeyConstraint(['section_id'], ['quote_sections.id'], name=op.f('fk_quote_lines_section_id_quote_sections')),
    sa.ForeignKeyConstraint(['tax_code_id'], ['tax_codes.id'], name=op.f('fk_quote_lines_tax_code_id_tax_codes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_lines'))
    )
    op.create_index(op.f('ix_quote_lines_quote_id'), 'quote_lines', ['quote_id'], unique=False)
    op.create_index(op.f('ix_quote_lines_section_id'), 'quote_lines', ['section_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_quote_lines_section_id'), table_name='quote_lines')
    op.drop_index(op.f('ix_quote_lines_quote_id'), table_name='quote_lines')
    op.drop_table('quote_lines')
    op.drop_index(op.f('ix_quote_decisions_quote_id'), table_name='quote_decisions')
    op.drop_table('quote_decisions')
    op.drop_table('quote_views')
    op.drop_table('quote_versions')
    op.drop_index(op.f('ix_quote_sections_quote_id'), table_name='quote_sections')
    op.drop_table('quote_sections')
    op.drop_index(op.f('ix_quote_reminders_quote_id'), table_name='quote_reminders')
    op.drop_index(op.f('ix_quote_reminders_due_at'), table_name='quote_reminders')
    op.drop_table('quote_reminders')
    op.drop_table('quote_recipients')
    op.drop_index(op.f('ix_quote_events_quote_id'), table_name='quote_events')
    op.drop_table('quote_events')
    op.drop_index('ix_quotes_status_expires', table_name='quotes')
    op.drop_index(op.f('ix_quotes_organization_id'), table_name='quotes')
    op.drop_table('quotes')
    op.drop_table('quote_approval_rules')
    op.drop_index(op.f('ix_quote_template_lines_section_id'), table_name='quote_template_lines')
    op.drop_table('quote_template_lines')
    op.drop_index(op.f('ix_quote_template_sections_template_id'), table_name='quote_template_sections')
    op.drop_table('quote_template_sections')
    op.drop_table('quote_templates')
