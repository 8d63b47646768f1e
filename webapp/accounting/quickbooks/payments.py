"""Read QuickBooks customer payments: changed ones by query, deleted ones by Change Data Capture.

A query never returns a deleted payment; Change Data Capture does, within two limits on
Intuit's CDC page: "CDC operations can track changes within the last 30 days" and "Server
responses can handle a maximum of 1,000 objects"
(https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture).
When either limit may have hidden a deletion, every payment we count is read again by id
and one QuickBooks no longer has is deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

from webapp.accounting.interfaces import LedgerPayment
from webapp.accounting.quickbooks import mapping
from webapp.accounting.quickbooks.client import QboClient, quote
from webapp.models_base import utcnow

CDC_LOOK_BACK = timedelta(days=30)
CDC_MAX_OBJECTS = 1000
# CDC is asked from the last read less this margin (clock skew, a read that overlapped a
# delete); Intuit suggests short periods so that the answer stays under its cap.
CDC_OVERLAP = timedelta(hours=1)
# Length of one re-read statement, URL-encoded: with the host and path the GET stays within
# 2,000 characters, the safe URL length the notes give (PSA-NOTES 2.4; API-NOTES names no
# QuickBooks query limit).
LOOKUP_QUERY_MAX = 1500


class PaymentReader:
    """The payment reads of one QuickBooks company."""

    def __init__(self, client: QboClient) -> None:
        self.client = client

    def fetch(
        self,
        since: datetime,
        until: datetime | None = None,
        *,
        last_read: datetime | None = None,
        counted: Sequence[str] = (),
    ) -> list[LedgerPayment]:
        """Return the parts of payments changed in the window and of payments deleted since.

        ``last_read`` is when the previous read ended (None: never); ``counted`` the ids of
        the payments whose parts count on our documents now.
        """
        where = f"MetaData.LastUpdatedTime >= {quote(since.isoformat(timespec='seconds'))}"
        if until is not None:
            where += (
                f" and MetaData.LastUpdatedTime <= {quote(until.isoformat(timespec='seconds'))}"
            )
        rows = {str(r["Id"]): r for r in self.client.query_all("Payment", where)}
        out: list[LedgerPayment] = []
        for row in rows.values():
            out += mapping.payments(row)
        horizon = utcnow() - CDC_LOOK_BACK + timedelta(minutes=1)
        wanted = _aware(since) if last_read is None else _aware(last_read) - CDC_OVERLAP
        changed = self.client.changed_since("Payment", max(wanted, horizon))
        deleted = set()
        for row in changed:
            if row.get("status") != "Deleted":
                continue
            stamp = (row.get("MetaData") or {}).get("LastUpdatedTime")
            if until is not None and stamp and datetime.fromisoformat(stamp) > _aware(until):
                continue
            deleted.add(str(row["Id"]))
            out += mapping.payments(row)
        # Never read, read before CDC's 30 days, or an answer at its cap: a deletion may be
        # missing from it.
        complete = last_read is not None and wanted >= horizon and len(changed) < CDC_MAX_OBJECTS
        if not complete:
            out += self.read_again(sorted(set(counted) - rows.keys() - deleted, key=_id_order))
        return out

    def read_again(self, ids: Sequence[str]) -> list[LedgerPayment]:
        """Read these payments by id (``select * from Payment where Id in (...)``).

        One QuickBooks no longer has was deleted: it is a ``deleted`` LedgerPayment.
        """
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            where = f"Id in ({', '.join(quote(i) for i in chunk)})"
            for row in self.client.query_all("Payment", where):
                found[str(row["Id"])] = row
        out: list[LedgerPayment] = []
        for payment_id in ids:
            row = found.get(payment_id)
            out += mapping.payments(row) if row else [mapping.deleted_payment(payment_id)]
        return out


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    """Split ids so that each statement, URL-encoded, stays within LOOKUP_QUERY_MAX."""
    fixed = len(quote_plus("select * from Payment where Id in () startposition 1 maxresults 1000"))
    chunk: list[str] = []
    size = fixed
    for payment_id in ids:
        extra = len(quote_plus(f"{quote(payment_id)}, "))
        if chunk and size + extra > LOOKUP_QUERY_MAX:
            yield chunk
            chunk, size = [], fixed
        chunk.append(payment_id)
        size += extra
    if chunk:
        yield chunk


def _id_order(payment_id: str) -> tuple[int, str]:
    return (int(payment_id), "") if payment_id.isdigit() else (1 << 62, payment_id)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
