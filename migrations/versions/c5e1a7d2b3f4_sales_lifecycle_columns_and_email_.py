"""sales lifecycle columns and email attachments

Revision ID: c5e1a7d2b3f4
Revises: bc0bdeea8509
Create Date: 2026-11-22 03:38:26.842238

"""
import warnings

from alembic import op
import sqlalchemy as sa

import webapp.models_base  # noqa: F401 (custom column types)


# revision identifiers, used by Alembic.
revision = 'c5e1a7d2b3f4'
down_revision = 'bc0bdeea8509'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows get the server defaults (nothing planned, nothing paid).
    op.create_table('outbound_email_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['email_id'], ['outbound_emails.id'], name=op.f('fk_outbound_email_attachments_email_id_outbound_emails')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_email_attachments'))
    )
    with op.batch_alter_table('outbound_email_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_email_attachments_email_id'), ['email_id'], unique=False)

    op.add_column('sales_document_lines', sa.Column('recurrence', sa.Enum('none', 'monthly', 'annual', name='recurrence', native_enum=False, length=32), nullable=False, server_default=sa.text("'none'")))
    op.add_column('sales_document_lines', sa.Column('term_months', sa.Integer(), nullable=True))

    op.add_column('sales_documents', sa.Column('hold_reason', sa.Text(), nullable=False, server_default=sa.text("''")))
    op.add_column('sales_documents', sa.Column('procurement_status', sa.Enum('pending', 'planned', 'not_needed', 'needs_attention', name='procurement_status', native_enum=False, length=32), nullable=False, server_default=sa.text("'pending'")))
    op.add_column('sales_documents', sa.Column('fulfilment_status', sa.Enum('none', 'partial', 'fulfilled', name='fulfilment_status', native_enum=False, length=32), nullable=False, server_default=sa.text("'none'")))
    op.add_column('sales_documents', sa.Column('ready_to_invoice_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True))
    op.add_column('sales_documents', sa.Column('payment_status', sa.Enum('unpaid', 'partially_paid', 'paid', name='payment_status', native_enum=False, length=32), nullable=False, server_default=sa.text("'unpaid'")))
    op.add_column('sales_documents', sa.Column('amount_paid', sa.Numeric(precision=14, scale=2), nullable=False, server_default=sa.text("'0'")))

    # ### end Alembic commands ###


def downgrade():
    # SQLite drops columns by copying the table (batch mode), which reflects the schema; the
    # expression indexes cannot be reflected there and are not touched by this revision.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
        with op.batch_alter_table('sales_documents', schema=None) as batch_op:
            batch_op.drop_column('amount_paid')
            batch_op.drop_column('payment_status')
            batch_op.drop_column('ready_to_invoice_at')
            batch_op.drop_column('fulfilment_status')
            batch_op.drop_column('procurement_status')
            batch_op.drop_column('hold_reason')

        with op.batch_alter_table('sales_document_lines', schema=None) as batch_op:
            batch_op.drop_column('term_months')
            batch_op.drop_column('recurrence')

        with op.batch_alter_table('outbound_email_attachments', schema=None) as batch_op:
            batch_op.drop_index(batch_op.f('ix_outbound_email_attachments_email_id'))

        op.drop_table('outbound_email_attachments')
