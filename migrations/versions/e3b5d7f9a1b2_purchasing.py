"""purchase orders, receipts, own stock and bid prices

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
    op.create_table('bid_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('unit_cost > 0', name=op.f('ck_bid_prices_unit_cost_positive')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_bid_prices_organization_id_organizations')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_bid_prices_product_id_products')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_bid_prices_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_prices'))
    )
    op.create_index('ix_bid_prices_lookup', 'bid_prices', ['product_id', 'organization_id', 'supplier_id'], unique=False)
    op.create_table('stock_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity_on_hand', sa.Integer(), nullable=False),
    sa.Column('quantity_allocated', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('location', sa.String(length=100), nullable=False),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity_allocated >= 0 AND quantity_allocated <= quantity_on_hand', name=op.f('ck_stock_items_allocated_within_on_hand')),
    sa.CheckConstraint('quantity_on_hand >= 0', name=op.f('ck_stock_items_on_hand_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_items_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_items')),
    sa.UniqueConstraint('product_id', name=op.f('uq_stock_items_product_id'))
    )
    op.create_table('purchase_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'issued', 'partially_received', 'received', 'cancelled', name='purchase_order_status', native_enum=False, length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('freight', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('planning_method', sa.String(length=20), nullable=False),
    sa.Column('attention', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('issued_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('issued_to', sa.String(length=254), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', webapp.models_base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_purchase_orders_created_by_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_purchase_orders_issued_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_purchase_orders_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_purchase_orders_number'))
    )
    op.create_index('ix_purchase_orders_supplier_status', 'purchase_orders', ['supplier_id', 'status'], unique=False)
    op.create_table('purchase_order_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_purchase_order_events_actor_id_users')),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_purchase_order_events_purchase_order_id_purchase_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order_events'))
    )
    op.create_index(op.f('ix_purchase_order_events_purchase_order_id'), 'purchase_order_events', ['purchase_order_id'], unique=False)
    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('supplier_invoice_number', sa.String(length=100), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('freight', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('received_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_receipts_purchase_order_id_purchase_orders')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_receipts_received_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_receipts_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('supplier_id', 'supplier_invoice_number', name=op.f('uq_receipts_supplier_id_supplier_invoice_number'))
    )
    op.create_index('ix_receipts_due_date', 'receipts', ['due_date'], unique=False)
    op.create_index(op.f('ix_receipts_purchase_order_id'), 'receipts', ['purchase_order_id'], unique=False)
    op.create_table('purchase_order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('supplier_sku', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('quantity_received', sa.Integer(), nullable=False),
    sa.Column('bid_used', sa.Boolean(), nullable=False),
    sa.Column('backorder', sa.Boolean(), nullable=False),
    sa.Column('eta_days', sa.Integer(), nullable=True),
    sa.Column('overridden', sa.Boolean(), nullable=False),
    sa.Column('sales_document_id', sa.Integer(), nullable=True),
    sa.Column('sales_document_line_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.JSON(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_order_lines_quantity_positive')),
    sa.CheckConstraint('quantity_received <= quantity', name=op.f('ck_purchase_order_lines_received_within_ordered')),
    sa.CheckConstraint('quantity_received >= 0', name=op.f('ck_purchase_order_lines_quantity_received_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_purchase_order_lines_product_id_products')),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_purchase_order_lines_purchase_order_id_purchase_orders')),
    sa.ForeignKeyConstraint(['sales_document_id'], ['sales_documents.id'], name=op.f('fk_purchase_order_lines_sales_document_id_sales_documents')),
    sa.ForeignKeyConstraint(['sales_document_line_id'], ['sales_document_lines.id'], name=op.f('fk_purchase_order_lines_sales_document_line_id_sales_document_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order_lines'))
    )
    op.create_index(op.f('ix_purchase_order_lines_product_id'), 'purchase_order_lines', ['product_id'], unique=False)
    op.create_index(op.f('ix_purchase_order_lines_purchase_order_id'), 'purchase_order_lines', ['purchase_order_id'], unique=False)
    op.create_index(op.f('ix_purchase_order_lines_sales_document_id'), 'purchase_order_lines', ['sales_document_id'], unique=False)
    op.create_index(op.f('ix_purchase_order_lines_sales_document_line_id'), 'purchase_order_lines', ['sales_document_line_id'], unique=False)
    op.create_table('stock_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stock_item_id', sa.Integer(), nullable=False),
    sa.Column('sales_document_id', sa.Integer(), nullable=False),
    sa.Column('sales_document_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('created_at', webapp.models_base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_stock_allocations_quantity_positive')),
    sa.ForeignKeyConstraint(['sales_document_id'], ['sales_documents.id'], name=op.f('fk_stock_allocations_sales_document_id_sales_documents')),
    sa.ForeignKeyConstraint(['sales_document_line_id'], ['sales_document_lines.id'], name=op.f('fk_stock_allocations_sales_document_line_id_sales_document_lines')),
    sa.ForeignKeyConstraint(['stock_item_id'], ['stock_items.id'], name=op.f('fk_stock_allocations_stock_item_id_stock_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_allocations'))
    )
    op.create_index(op.f('ix_stock_allocations_sales_document_id'), 'stock_allocations', ['sales_document_id'], unique=False)
    op.create_index(op.f('ix_stock_allocations_sales_document_line_id'), 'stock_allocations', ['sales_document_line_id'], unique=False)
    op.create_index(op.f('ix_stock_allocations_stock_item_id'), 'stock_allocations', ['stock_item_id'], unique=False)
    op.create_table('receipt_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('line_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('serial_numbers', sa.JSON(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_receipt_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['purchase_order_line_id'], ['purchase_order_lines.id'], name=op.f('fk_receipt_lines_purchase_order_line_id_purchase_order_lines')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_receipt_lines_receipt_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_lines'))
    )
    op.create_index(op.f('ix_receipt_lines_purchase_order_line_id'), 'receipt_lines', ['purchase_order_line_id'], unique=False)
    op.create_index(op.f('ix_receipt_lines_receipt_id'), 'receipt_lines', ['receipt_id'], unique=False)


def downgrade():
    # Dropping a table drops its indexes too.
    op.drop_table('receipt_lines')
    op.drop_table('stock_allocations')
    op.drop_table('purchase_order_lines')
    op.drop_table('receipts')
    op.drop_table('purchase_order_events')
    op.drop_table('purchase_orders')
    op.drop_table('stock_items')
    op.drop_table('bid_prices')
