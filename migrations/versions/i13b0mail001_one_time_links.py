"""outbound emails: one-time links are not stored (link kind and reference; old links redacted)

Revision ID: i13b0mail001
Revises: i11f0lists001
Create Date: 2026-12-07 06:30:00

"""

import re
import warnings

import sqlalchemy as sa
from alembic import op
from itsdangerous import URLSafeTimedSerializer

revision = "i13b0mail001"
down_revision = "i11f0lists001"
branch_labels = None
depends_on = None

REDACTED = "[link removed — re-issued on resend]"  # webapp.mail.links.REDACTED at this revision
# An invitation (/invite/<token>) or quote approval (/q/<token>) link as emails wrote them.
LINK = re.compile(r"https?://[^\s\"'<>]*?/(invite|q)/([A-Za-z0-9_.\-]+)")


def _reference(kind: str, token: str) -> tuple[str, str]:
    if kind == "invite":
        payload = URLSafeTimedSerializer("-", salt="invitation").loads_unsafe(token)[1]
        return ("invitation", str(payload["uid"])) if isinstance(payload, dict) else ("", "")
    payload = URLSafeTimedSerializer("-", salt="quote-approval-link").loads_unsafe(token)[1]
    if isinstance(payload, dict) and {"q", "v", "r"} <= payload.keys():
        return "quote-approval", f"{payload['q']}:{payload['v']}:{payload['r']}"
    return "", ""


def upgrade():
    # ADD COLUMN works on SQLite as it is (no table copy needed).
    op.add_column(
        "outbound_emails",
        sa.Column("link_kind", sa.String(50), nullable=False, server_default=""),
    )
    op.add_column(
        "outbound_emails",
        sa.Column("link_ref", sa.String(100), nullable=False, server_default=""),
    )
    # Emails written before this revision hold live single-use links: redact them, and keep
    # what the link was for (read from the token's payload) so a resend can issue a new one.
    emails = sa.table(
        "outbound_emails",
        sa.column("id", sa.Integer),
        sa.column("text_body", sa.Text),
        sa.column("html_body", sa.Text),
        sa.column("link_kind", sa.String),
        sa.column("link_ref", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(emails.c.id, emails.c.text_body, emails.c.html_body))
    for row in rows.all():
        found = LINK.search(row.text_body or "") or LINK.search(row.html_body or "")
        if found is None:
            continue
        kind, ref = _reference(found.group(1), found.group(2))
        connection.execute(
            emails.update()
            .where(emails.c.id == row.id)
            .values(
                text_body=LINK.sub(REDACTED, row.text_body or ""),
                html_body=LINK.sub(REDACTED, row.html_body or ""),
                link_kind=kind,
                link_ref=ref,
            )
        )


def downgrade():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table("outbound_emails") as batch:
            batch.drop_column("link_ref")
            batch.drop_column("link_kind")
