"""Rotated OAuth tokens are committed in their own transaction, never in the caller's.

A refresh spends the stored refresh token at the vendor (API-NOTES 1.2 / 2.2): the new one
must be durable whatever the calling job does next. So the refresh runs inside ``stored``: a
second database connection that locks the connection's row first, reads the committed tokens,
and commits only the token columns of that row by primary key. The caller's session is never
flushed or committed by it; its in-memory connection gets the committed values without being
marked dirty (a later flush cannot write older ones back).

Where the lock cannot be had, nothing is spent: ``TokenStoreBusy`` (a TransientError) is raised
before the vendor is called and the job is retried. On SQLite that is the case when the calling
session already holds the database's single write lock (it wrote and did not commit): a second
writer would wait on its own caller. The jobs refresh before their first write (the outbox
commits before every vendor call). On PostgreSQL only a caller that has itself updated the
connection's row blocks the lock (``lock_timeout``, below); any other write is fine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from webapp.extensions import db
from webapp.integrations.interfaces import TokenSet, TransientError
from webapp.integrations.models import Connection
from webapp.integrations.secrets import read_tokens, write_tokens

TOKEN_COLUMNS = ("token_ciphertext", "access_expires_at", "refresh_expires_at", "last_refreshed_at")
# How long a refresh waits for the connection's row on PostgreSQL (SQLite: its busy_timeout).
LOCK_TIMEOUT_MS = 5000


class TokenStoreBusy(TransientError):
    """The connection's row cannot be locked for a refresh now; nothing was spent."""


@dataclass
class StoredTokens:
    """The committed tokens of one connection, read and written on the refresh's own connection."""

    label: str
    values: dict[str, Any]
    _write: Any = field(repr=False)

    def read(self) -> TokenSet:
        return read_tokens(SimpleNamespace(label=self.label, **self.values))

    def write(self, tokens: TokenSet) -> None:
        holder = SimpleNamespace(label=self.label, **self.values)
        write_tokens(holder, tokens)
        self.values = {name: getattr(holder, name) for name in TOKEN_COLUMNS}
        self._write(self.values)


def _holds_sqlite_write_lock(session: Session) -> bool:
    if not session.in_transaction():
        return False
    # pysqlite opens its transaction at the first write (or an explicit BEGIN): from then on
    # this connection holds, or will need, SQLite's one write lock until it commits.
    return bool(session.connection().connection.dbapi_connection.in_transaction)


@contextmanager
def stored(connection: Connection) -> Iterator[StoredTokens]:
    """Lock ``connection``'s row on a second connection; commit what is written on exit.

    An exception inside rolls the refresh's transaction back (nothing written) and is re-raised.
    On success the committed token values are set on ``connection`` as loaded, not changed."""
    session = object_session(connection) or db.session
    engine = session.get_bind()
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and _holds_sqlite_write_lock(session):
        raise TokenStoreBusy(
            f"{connection.label}: the access token expired while this job held uncommitted "
            "writes (SQLite allows one writer); the job is retried and refreshes first."
        )
    table = Connection.__table__
    columns = [table.c[name] for name in TOKEN_COLUMNS]
    with engine.connect() as conn:
        try:
            if sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, before the vendor
            else:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
            # FOR NO KEY UPDATE on PostgreSQL: the caller's inserts that reference the row
            # (its log, its deliveries) take KEY SHARE locks and must not block a refresh.
            row = conn.execute(
                select(*columns).where(table.c.id == connection.id).with_for_update(key_share=True)
            ).one()
        except OperationalError as exc:
            raise TokenStoreBusy(
                f"{connection.label}: its stored tokens are locked by another transaction; "
                "the refresh is retried."
            ) from exc

        def write(values: dict[str, Any]) -> None:
            conn.execute(update(table).where(table.c.id == connection.id).values(**values))

        tokens = StoredTokens(connection.label, dict(row._mapping), write)
        yield tokens
        conn.commit()
    for name, value in tokens.values.items():
        set_committed_value(connection, name, value)
