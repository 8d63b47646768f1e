"""What every Xero push shares: ``where`` look-ups, one PUT per batch, results and links."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from webapp.accounting.interfaces import DeliveryKind, PushResult
from webapp.accounting.xero import reads
from webapp.accounting.xero.client import ElementResult, XeroClient, idempotency_key
from webapp.accounting.xero.errors import explain
from webapp.integrations.http import excerpt
from webapp.integrations.interfaces import PermanentError

# A `where` filter travels in the query string; keep each look-up URL well under the 2,000-ish
# characters proxies accept, splitting a batch's look-up into several calls if needed.
WHERE_MAX_CHARS = 1500

# Xero's web app (deep links shown on our documents); paths as Xero's UI uses them (recalled).
DEFAULT_APP_URL = "https://go.xero.com"


def quote(value: str) -> str:
    """Return a string literal for Xero's ``where`` (C# syntax: backslash-escaped quotes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def where_chunks(conditions: Sequence[str], limit: int = WHERE_MAX_CHARS) -> list[str]:
    """Join conditions with OR into as few ``where`` strings as fit in ``limit`` each."""
    chunks: list[str] = []
    current = ""
    for condition in conditions:
        candidate = f"{current} OR {condition}" if current else condition
        if current and len(candidate) > limit:
            chunks.append(current)
            current = condition
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def first(records: Iterable[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> Any:
    """Return the first record passing ``test``, or None."""
    return next((r for r in records if test(r)), None)


def pick(
    key: str,
    found: Mapping[str, PushResult],
    created: Mapping[str, PushResult],
    twins: Mapping[str, str],
) -> PushResult:
    """Return an item's result: found, created, or the result of the twin that created it."""
    if key in found:
        return found[key]
    if key in twins:
        twin = created[twins[key]]
        return PushResult(
            key=key,
            remote_id=twin.remote_id,
            remote_number=twin.remote_number,
            remote_url=twin.remote_url,
            error=twin.error,
            found_existing=True,
        )
    return created[key]


def updated_at(record: Mapping[str, Any]) -> datetime | None:
    """Return a record's ``UpdatedDateUTC`` (Xero's ``/Date(ms)/`` form) as a datetime."""
    match = reads.MSDATE.fullmatch(str(record.get("UpdatedDateUTC") or ""))
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    return None


def record_url(app_url: str, kind: DeliveryKind, remote_id: str) -> str:
    """Return the Xero web link for a record."""
    if not remote_id:
        return ""
    base = (app_url or DEFAULT_APP_URL).rstrip("/")
    return {
        DeliveryKind.INVOICE: f"{base}/AccountsReceivable/View.aspx?InvoiceID={remote_id}",
        DeliveryKind.BILL: f"{base}/AccountsPayable/View.aspx?InvoiceID={remote_id}",
        # The credit note that cancelled an invoice (Xero's UI path, recalled).
        DeliveryKind.INVOICE_VOID: (
            f"{base}/AccountsReceivable/ViewCreditNote.aspx?creditNoteID={remote_id}"
        ),
        DeliveryKind.CUSTOMER: f"{base}/Contacts/View/{remote_id}",
        DeliveryKind.SUPPLIER: f"{base}/Contacts/View/{remote_id}",
        DeliveryKind.ITEM: f"{base}/Accounts/Inventory/{remote_id}",
    }.get(kind, "")


class Records:
    """Look up and create the records of one Xero organisation, answering ``PushResult``s."""

    def __init__(self, client: XeroClient, app_url: str) -> None:
        self.client = client
        self.app_url = app_url

    def url(self, kind: DeliveryKind, remote_id: str) -> str:
        return record_url(self.app_url, kind, remote_id)

    def lookup(self, collection: str, conditions: Sequence[str]) -> list[dict[str, Any]]:
        """GET the records matching any of ``conditions`` (OR), in as few calls as fit."""
        rows: list[dict[str, Any]] = []
        for where in where_chunks(conditions):
            rows += self.client.get(collection, params={"where": where})
        return rows

    def create(
        self,
        collection: str,
        kind: DeliveryKind,
        pending: Sequence[tuple[Any, dict[str, Any]]],
        *,
        id_field: str,
        number_field: str,
        subject: Callable[[Any], str],
        unitdp: int | None = None,
    ) -> dict[str, PushResult]:
        """PUT the elements of ``pending`` ((data, element) pairs) in one call."""
        if not pending:
            return {}
        key = idempotency_key([data.key for data, _ in pending])
        try:
            results = self.client.save(
                collection,
                [element for _, element in pending],
                key=key,
                subject=f"{kind.label.lower()} batch",
                unitdp=unitdp,
            )
        except PermanentError as error:
            # The whole request was refused: every element carries the reason.
            return {
                data.key: PushResult(
                    key=data.key, error=error, request_excerpt=excerpt(element, 2000)
                )
                for data, element in pending
            }
        out = {}
        for (data, element), result in zip(pending, results, strict=True):
            out[data.key] = self._result(
                kind, data, element, result, id_field, number_field, subject
            )
        return out

    def _result(
        self,
        kind: DeliveryKind,
        data: Any,
        element: dict[str, Any],
        result: ElementResult,
        id_field: str,
        number_field: str,
        subject: Callable[[Any], str],
    ) -> PushResult:
        if not result.ok:
            return PushResult(
                key=data.key,
                error=explain(result.errors, subject(data)),
                request_excerpt=excerpt(element, 2000),
                response_excerpt=excerpt({"ValidationErrors": result.errors}, 2000),
            )
        record = result.record or {}
        remote_id = str(record.get(id_field, ""))
        return PushResult(
            key=data.key,
            remote_id=remote_id,
            remote_number=str(record.get(number_field) or ""),
            remote_url=self.url(kind, remote_id),
            request_excerpt=excerpt(element, 2000),
            response_excerpt=excerpt(record, 2000),
        )

    def found(
        self, kind: DeliveryKind, data: Any, record: dict[str, Any], id_field: str, number: str
    ) -> PushResult:
        """Answer ``data`` with a record a look-up found (sent before, or made in Xero)."""
        remote_id = str(record.get(id_field, ""))
        return PushResult(
            key=data.key,
            remote_id=remote_id,
            remote_number=str(record.get(number) or ""),
            remote_url=self.url(kind, remote_id),
            found_existing=True,
            response_excerpt=excerpt(record, 2000),
        )
