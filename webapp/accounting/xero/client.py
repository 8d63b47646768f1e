"""HTTP to Xero: tenant header, Idempotency-Key, batched writes, error bodies -> typed errors.

Bearer token, refresh on 401, the rate limiter and 429/5xx/timeouts are handled by the core's
``IntegrationHttp`` (webapp.integrations.http); this module adds what is Xero's own (API-NOTES 2):
the ``xero-tenant-id`` header on every accounting call, ``Idempotency-Key`` on writes (at most
128 characters), many elements per PUT/POST with ``summarizeErrors=false`` so one bad element
does not sink the batch, and Xero's error bodies read into PermanentError / NeedsReconnect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import requests

from webapp.accounting.xero.errors import explain
from webapp.integrations.http import IntegrationHttp, excerpt
from webapp.integrations.interfaces import (
    NeedsReconnect,
    PermanentError,
)

IDEMPOTENCY_KEY_MAX = 128  # xero_accounting.yaml #/components/parameters/idempotencyKey
PAGE_SIZE = 100  # API-NOTES 2.1: 100 records per page by default


def idempotency_key(keys: Iterable[str], prefix: str = "msp") -> str:
    """Return one Idempotency-Key for a batch, derived from its deliveries' keys.

    The same deliveries (in any order) give the same key, so a retry after a lost response
    is replayed by Xero instead of creating the documents again. A single key that fits is
    used as is (readable in Xero's logs); otherwise a SHA-256 of the sorted keys.
    """
    ordered = sorted(set(keys))
    if len(ordered) == 1 and len(ordered[0]) + len(prefix) + 1 <= IDEMPOTENCY_KEY_MAX:
        return f"{prefix}-{ordered[0]}"
    digest = hashlib.sha256("\n".join(ordered).encode()).hexdigest()
    return f"{prefix}-batch-{len(ordered)}-{digest}"


@dataclass
class ElementResult:
    """One element of a batched write: the saved record, or Xero's messages about it."""

    index: int
    record: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)
    sent: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.errors


def _messages(element: Mapping[str, Any]) -> list[str]:
    return [
        str(error.get("Message", ""))
        for error in element.get("ValidationErrors") or []
        if isinstance(error, Mapping)
    ]


def _is_error_element(element: Mapping[str, Any]) -> bool:
    # The flag's name differs per schema (Invoice.HasErrors, Contact.HasValidationErrors).
    return bool(
        element.get("HasErrors")
        or element.get("HasValidationErrors")
        or element.get("StatusAttributeString") == "ERROR"
        or _messages(element)
    )


class XeroClient:
    """Calls on one Xero organisation (tenant) through the connection's ``IntegrationHttp``."""

    def __init__(self, http: IntegrationHttp, api_base: str, tenant_id: str) -> None:
        self.http = http
        self.api_base = api_base.rstrip("/")
        self.tenant_id = tenant_id

    # -- plumbing -------------------------------------------------------------------------
    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {"xero-tenant-id": self.tenant_id, "Accept": "application/json", **(extra or {})}

    def _url(self, path: str) -> str:
        return f"{self.api_base}/{path.lstrip('/')}"

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _raise_for(self, response: requests.Response, subject: str) -> None:
        """Turn a 4xx (401/429 and 5xx are the core's) into a typed error."""
        status = response.status_code
        if status < 400:
            return
        body = self._json(response)
        detail = excerpt(body if body is not None else response.text, 500)
        if status == 403:
            # "AuthenticationUnsuccessful": the organisation was disconnected from our app;
            # "AuthorizationUnsuccessful": the grant lacks a scope. Both need a new consent.
            raise NeedsReconnect(
                f"Xero refused access to the organisation ({detail}). Connect Xero again."
            )
        if status == 400 and isinstance(body, Mapping):
            if body.get("Type") == "ValidationException":
                messages = [m for element in body.get("Elements") or [] for m in _messages(element)]
                error = explain(messages or [str(body.get("Message", ""))], subject)
                raise error
            raise PermanentError(
                f"Xero could not read our request for the {subject}: "
                f"{body.get('Message') or body.get('Detail') or detail}",
                field="",
                fix="This is a fault in our Xero integration; report it with the request "
                "shown in View.",
                vendor_code=str(body.get("Type") or status),
                vendor_detail=detail,
            )
        if status == 413:
            raise PermanentError(
                f"The {subject} is larger than Xero accepts in one request (3.5 MB).",
                field="",
                fix="Remove attachments or split the document, then press Retry.",
                vendor_code="413",
            )
        raise PermanentError(
            f"Xero answered {status} for the {subject}: {detail}",
            field="",
            fix="Check the record in Xero, then press Retry.",
            vendor_code=str(status),
            vendor_detail=detail,
        )

    # -- reads ----------------------------------------------------------------------------
    def get(
        self,
        collection: str,
        *,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Return the rows of ``GET /<collection>`` (one page when ``params`` has ``page``)."""
        extra = {}
        if modified_since is not None:
            stamp = modified_since if modified_since.tzinfo else modified_since.replace(tzinfo=UTC)
            extra["If-Modified-Since"] = format_datetime(stamp.astimezone(UTC), usegmt=True)
        response = self.http.request(
            "GET", self._url(collection), params=params, headers=self._headers(extra)
        )
        if response.status_code == 304:
            return []
        self._raise_for(response, collection.lower())
        body = self._json(response) or {}
        rows = body.get(collection.split("/")[0]) or []
        return [row for row in rows if isinstance(row, dict)]

    def organisation(self) -> dict[str, Any]:
        """Return the connected organisation (``GET /Organisation``: {"Organisations": [..]})."""
        response = self.http.request("GET", self._url("Organisation"), headers=self._headers({}))
        self._raise_for(response, "organisation")
        rows = (self._json(response) or {}).get("Organisations") or [{}]
        return rows[0] if isinstance(rows[0], dict) else {}

    def get_all(
        self,
        collection: str,
        *,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
        max_pages: int = 1000,
    ) -> list[dict[str, Any]]:
        """Return every row of a paged collection (Invoices, Contacts, Payments...)."""
        rows: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            batch = self.get(
                collection,
                params={**(params or {}), "page": page, "pageSize": PAGE_SIZE},
                modified_since=modified_since,
            )
            rows += batch
            if len(batch) < PAGE_SIZE:
                break
        return rows

    # -- writes ---------------------------------------------------------------------------
    def save(
        self,
        collection: str,
        elements: Sequence[dict[str, Any]],
        *,
        key: str,
        method: str = "PUT",
        subject: str = "document",
        unitdp: int | None = None,
    ) -> list[ElementResult]:
        """Create (PUT) or create-or-update (POST) ``elements`` in one call.

        ``summarizeErrors=false`` makes Xero answer 200 with a result per element, in input
        order (API-NOTES 2.4), so each rejection is returned for its own element. A 400 for
        the whole request raises PermanentError; 401/429/5xx/timeouts raise in IntegrationHttp.
        """
        if not elements:
            return []
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"Idempotency-Key longer than {IDEMPOTENCY_KEY_MAX}: {key!r}")
        params: dict[str, Any] = {"summarizeErrors": "false"}
        if unitdp:
            params["unitdp"] = unitdp
        response = self.http.request(
            method,
            self._url(collection),
            params=params,
            json_body={collection: list(elements)},
            headers=self._headers({"Idempotency-Key": key}),
        )
        self._raise_for(response, subject)
        body = self._json(response) or {}
        rows = body.get(collection)
        if not isinstance(rows, list) or len(rows) != len(elements):
            raise PermanentError(
                f"Xero answered the {subject} batch with {len(rows or [])} results for "
                f"{len(elements)} elements.",
                fix="Check the records in Xero; the next try looks them up before creating.",
                vendor_detail=excerpt(body, 500),
            )
        results = []
        for index, (sent, row) in enumerate(zip(elements, rows, strict=True)):
            if _is_error_element(row):
                results.append(ElementResult(index, None, _messages(row) or ["rejected"], sent))
            else:
                results.append(ElementResult(index, row, [], sent))
        return results

    def put(self, path: str, body: dict[str, Any], *, key: str, subject: str) -> dict[str, Any]:
        """PUT one body to a sub-resource (``CreditNotes/{id}/Allocations``); return the body."""
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"Idempotency-Key longer than {IDEMPOTENCY_KEY_MAX}: {key!r}")
        response = self.http.request(
            "PUT",
            self._url(path),
            json_body=body,
            headers=self._headers({"Idempotency-Key": key}),
        )
        self._raise_for(response, subject)
        return self._json(response) or {}

    # -- identity (xero-identity.yaml) ----------------------------------------------------
    def connections(self, connections_url: str) -> list[dict[str, Any]]:
        """Return ``GET /connections``: the organisations this grant reaches."""
        response = self.http.request("GET", connections_url, headers={"Accept": "application/json"})
        self._raise_for(response, "connections")
        body = self._json(response)
        return [row for row in body or [] if isinstance(row, dict)]

    def delete_connection(self, connections_url: str, connection_id: str) -> bool:
        """``DELETE /connections/{id}``; return False when it was already gone (404)."""
        response = self.http.request(
            "DELETE", f"{connections_url.rstrip('/')}/{connection_id}", headers={}
        )
        if response.status_code == 404:
            return False
        self._raise_for(response, "connection")
        return True

    def revoke_token(self, revoke_url: str, token: str, client_id: str, secret: str) -> None:
        """Revoke a refresh token at Xero's identity server (RFC 7009, client Basic auth)."""
        response = self.http.request(
            "POST",
            revoke_url,
            data={"token": token},
            auth=False,
            basic_auth=(client_id, secret),
            headers={},
        )
        if response.status_code == 400:
            return  # invalid_grant / invalid_token: already revoked, nothing left to do
        self._raise_for(response, "token revocation")
