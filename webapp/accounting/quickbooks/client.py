"""QuickBooks Online v3 HTTP: entity create, query, /batch, fault parsing (auth + HTTP only)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from webapp.integrations.http import IntegrationHttp, excerpt
from webapp.integrations.interfaces import (
    PermanentError,
    TransientError,
)

# Every call pins minor version 75: from 2025-08-01 Intuit serves 75 whatever is asked
# (https://blogs.intuit.com/2025/01/21/changes-to-our-accounting-api-that-may-impact-your-application).
MINOR_VERSION = "75"
# /batch takes at most 30 items (API-NOTES 1.4); requestid <= 36 chars on /batch, bId <= 10.
MAX_BATCH = 30


def request_id(keys: Iterable[str]) -> str:
    """Derive one /batch requestid (<= 36 chars) from the deliveries' keys, order-free."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    return f"msp{digest[:33]}"


def quote(value: str) -> str:
    """Quote a literal for the QBO query language (backslash escapes a quote)."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


# Plain words for the Fault codes we meet (Intuit's error-code list; codes recalled).
_PLAIN = {
    "6240": (
        "A record with this name already exists in QuickBooks.",
        "Rename one of them, or make the existing QuickBooks record active again.",
    ),
    "6140": (
        "QuickBooks already has a transaction with this number.",
        "Choose the ledger's numbering under Settings > Integrations, or renumber the "
        "existing QuickBooks transaction.",
    ),
    "2500": (
        "QuickBooks does not know a record this refers to.",
        "Check the account, tax and item choices under Settings > Integrations.",
    ),
    "6070": (
        "A line amount is not quantity × unit price.",
        "Correct the line on our document, then press Retry.",
    ),
    "6210": (
        "The books are closed for this date in QuickBooks.",
        "Reopen the period in QuickBooks (or change the closing date), then press Retry.",
    ),
    "2020": ("A required value is missing.", "Fill it in on our record, then press Retry."),
    "2010": ("QuickBooks does not accept a value we sent.", "Correct it, then press Retry."),
    "2050": (
        "A value is too long or has characters QuickBooks refuses.",
        "Shorten it (names: at most 100 characters, no ':'), then press Retry.",
    ),
}


def fault_error(fault: Mapping[str, Any]) -> PermanentError:
    """Turn a QBO ``Fault`` object into a PermanentError in plain words."""
    errors = fault.get("Error") or [{}]
    first = errors[0]
    code = str(first.get("code", ""))
    plain, fix = _PLAIN.get(code, (first.get("Message") or "QuickBooks rejected it.", ""))
    detail = "; ".join(str(e.get("Detail") or e.get("Message") or "") for e in errors)
    return PermanentError(
        f"{plain} ({detail})" if detail else plain,
        field=str(first.get("element") or ""),
        fix=fix or "Correct the record, then press Retry.",
        vendor_code=code,
        vendor_detail=detail,
    )


class QboClient:
    """Calls against one realm."""

    def __init__(self, http: IntegrationHttp, api_base: str, realm_id: str) -> None:
        self.http = http
        self.base = f"{api_base.rstrip('/')}/v3/company/{realm_id}"

    def _json(self, response) -> dict[str, Any]:
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(
                f"QuickBooks answered {response.status_code} with a body we cannot read.",
                status=response.status_code,
                outcome_unknown=True,
            ) from exc

    def _check(self, response) -> dict[str, Any]:
        body = self._json(response)
        if response.status_code >= 400 or "Fault" in body:
            fault = body.get("Fault") or {}
            if response.status_code == 403:
                from webapp.integrations.interfaces import NeedsReconnect

                raise NeedsReconnect("QuickBooks says this app may not use the company (403).")
            raise fault_error(fault)
        return body

    def query(self, statement: str) -> dict[str, Any]:
        """Run one query statement; return the QueryResponse object."""
        response = self.http.request(
            "GET",
            f"{self.base}/query",
            params={"query": statement, "minorversion": MINOR_VERSION},
        )
        return self._check(response).get("QueryResponse") or {}

    def query_all(self, entity: str, where: str = "", page: int = 1000) -> list[dict[str, Any]]:
        """Page through a query (STARTPOSITION/MAXRESULTS; at most 1000 a page)."""
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            clause = f" where {where}" if where else ""
            found = self.query(
                f"select * from {entity}{clause} startposition {start} maxresults {page}"
            ).get(entity, [])
            rows += found
            if len(found) < page:
                return rows
            start += page

    def changed_since(self, entity: str, since: datetime) -> list[dict[str, Any]]:
        """Return what Change Data Capture reports created, updated or deleted since ``since``.

        ``GET /cdc?entities=..&changedSince=..`` (IntuitRestServiceDef.xsd ``CDCQuery``); a
        deleted one is a stub with ``status: "Deleted"`` (``EntityStatusEnum``) and its Id.
        """
        response = self.http.request(
            "GET",
            f"{self.base}/cdc",
            params={
                "entities": entity,
                "changedSince": since.isoformat(timespec="seconds"),
                "minorversion": MINOR_VERSION,
            },
        )
        rows: list[dict[str, Any]] = []
        for block in self._check(response).get("CDCResponse") or []:
            for found in block.get("QueryResponse") or []:
                rows += found.get(entity) or []
        return rows

    def get(self, path: str) -> dict[str, Any]:
        response = self.http.request(
            "GET", f"{self.base}/{path}", params={"minorversion": MINOR_VERSION}
        )
        return self._check(response)

    def post(self, path: str, body: dict[str, Any], *, requestid: str, **params: str) -> dict:
        """POST one entity operation (e.g. ``invoice`` with ``operation=void``)."""
        response = self.http.request(
            "POST",
            f"{self.base}/{path}",
            params={**params, "requestid": requestid, "minorversion": MINOR_VERSION},
            json_body=body,
            headers={"Content-Type": "application/json"},
        )
        return self._check(response)

    def batch(self, items: list[dict[str, Any]], requestid: str) -> tuple[list[dict], str, str]:
        """POST /batch; return the BatchItemResponse list and request/response excerpts."""
        body = {"BatchItemRequest": items}
        response = self.http.request(
            "POST",
            f"{self.base}/batch",
            params={"requestid": requestid, "minorversion": MINOR_VERSION},
            json_body=body,
            headers={"Content-Type": "application/json"},
            batch=True,
        )
        data = self._check(response)
        return data.get("BatchItemResponse") or [], excerpt(body), excerpt(response.text)

    def revoke(self, revoke_url: str, token: str, client_id: str, client_secret: str) -> None:
        response = self.http.request(
            "POST",
            revoke_url,
            json_body={"token": token},
            headers={"Content-Type": "application/json"},
            auth=False,
            basic_auth=(client_id, client_secret),
        )
        if response.status_code >= 400 and response.status_code != 400:
            raise TransientError(f"QuickBooks revoke answered {response.status_code}.")
