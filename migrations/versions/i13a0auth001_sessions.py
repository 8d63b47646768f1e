"""auth: a per-user session token, part of every session and remember-me cookie

Revision ID: i13a0auth001
Revises: i13b0mail001
Create Date: 2026-12-07 06:00:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "i13a0auth001"
down_revision = "i13b0mail001"
branch_labels = None
depends_on = None


def upgrade():
    # ADD COLUMN works on SQLite as it is; NOT NULL needs a default there, which the loop
    # below replaces by a random token per user (cookies issued before this carry no token,
    # so everyone signs in again once).
    op.add_column(
        "users",
        sa.Column("session_token", sa.String(64), nullable=False, server_default=""),
    )
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    connection = op.get_bind()
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(session_token=secrets.token_urlsafe(32))
        )
    if connection.dialect.name != "sqlite":  # SQLite cannot drop a default without a copy
        op.alter_column("users", "session_token", server_default=None)


def downgrade():
    op.drop_column("users", "session_token")
