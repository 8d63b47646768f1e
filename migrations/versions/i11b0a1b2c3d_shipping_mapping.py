"""shipping income gets its own account mapping, seeded from the old freight mapping

Shipping charged on invoices used the "freight" account until shipping (income) and
supplier freight (cost) were split; each connection keeps posting shipping where it did.

Revision ID: i11b0a1b2c3d
Revises: f4c6e8a0b2c3
Create Date: 2026-12-06 13:45:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "i11b0a1b2c3d"
down_revision = "f4c6e8a0b2c3"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "INSERT INTO ledger_account_mappings "
        "(connection_id, purpose, ledger_account_id, ledger_account_name) "
        "SELECT f.connection_id, 'shipping', f.ledger_account_id, f.ledger_account_name "
        "FROM ledger_account_mappings f WHERE f.purpose = 'freight' AND NOT EXISTS ("
        "SELECT 1 FROM ledger_account_mappings s "
        "WHERE s.connection_id = f.connection_id AND s.purpose = 'shipping')"
    )


def downgrade():
    op.execute("DELETE FROM ledger_account_mappings WHERE purpose = 'shipping'")
