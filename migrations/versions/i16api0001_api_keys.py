"""API keys and stored idempotent responses

Revision ID: i16api0001
Revises: sec13remember1
Create Date: 2026-12-07 09:30:00

"""

import sqlalchemy as sa
from alembic import op

import webapp.models_base

revision = "i16api0001"
down_revision = "sec13remember1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", webapp.models_base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_api_keys_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "api_idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("response_headers", sa.JSON(), nullable=False),
        sa.Column("created_at", webapp.models_base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_api_idempotency_records_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency_records")),
        sa.UniqueConstraint(
            "api_key_id", "key", name=op.f("uq_api_idempotency_records_api_key_id_key")
        ),
    )
    op.create_index(
        "ix_api_idempotency_records_created_at",
        "api_idempotency_records",
        ["created_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_api_idempotency_records_created_at", table_name="api_idempotency_records")
    op.drop_table("api_idempotency_records")
    op.drop_table("api_keys")
