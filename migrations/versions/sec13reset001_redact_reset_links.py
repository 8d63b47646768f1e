"""outbound emails: password-reset links are not stored either (redact those already stored)

Revision ID: sec13reset001
Revises: desk0001
Create Date: 2026-12-07 09:30:00

"""

import re

import sqlalchemy as sa
from alembic import op
from itsdangerous import URLSafeTimedSerializer

revision = "sec13reset001"
down_revision = "desk0001"
branch_labels = None
depends_on = None

REDACTED = "[link removed — re-issued on resend]"  # webapp.mail.links.REDACTED at this revision
# A password reset link (/password/reset/<token>) as emails wrote it before this revision.
LINK = re.compile(r"https?://[^\s\"'<>]*?/password/reset/([A-Za-z0-9_.\-]+)")


def _reference(token: str) -> str:
    payload = URLSafeTimedSerializer("-", salt="password-reset").loads_unsafe(token)[1]
    if isinstance(payload, dict) and {"uid", "state"} <= payload.keys():
        return f"{payload['uid']}:{payload['state']}"
    return ""


def upgrade():
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
        ref = _reference(found.group(1))
        connection.execute(
            emails.update()
            .where(emails.c.id == row.id)
            .values(
                text_body=LINK.sub(REDACTED, row.text_body or ""),
                html_body=LINK.sub(REDACTED, row.html_body or ""),
                link_kind="password-reset" if ref else "",
                link_ref=ref,
            )
        )


def downgrade():
    pass  # a redacted link cannot be restored, and the stored bodies stay valid
