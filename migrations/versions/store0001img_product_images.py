"""catalog: product pictures — the feed's image address, and pictures staff upload

Revision ID: store0001img
Revises: i14a0psa001
Create Date: 2026-12-07 09:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "store0001img"
down_revision = "i14a0psa001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "products",
        sa.Column("image_url", sa.String(1000), nullable=False, server_default=""),
    )
    op.create_table(
        "product_images",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_images_product_id_products")
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product_images")),
    )


def downgrade():
    op.drop_table("product_images")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("image_url")
