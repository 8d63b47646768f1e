"""Autotask REST: zone discovery, the three auth headers, and errors classified by message.

Autotask answers most faults with HTTP 500 and a message (PSA-NOTES 1.7), so ``classify``
reads the message: a thread-limit error (``Itgenatr005``, whatever its status) is a throttle,
a permission or module error and a missing required field are permanent, the rest transient.
A 401 may mean the database moved to another zone: the zone is looked up again and the call
repeated once if it changed. HTTPS only, unless ``INTEGRATIONS_ALLOW_HTTP`` (tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import (
    AuthError,
    IntegrationError,
    NeedsReconnect,
    PermanentError,
    RateLimited,
    TransientError,
)

VENDOR = "Autotask"
# Autotask silently drops any other operator, widening the result (PSA-NOTES 1.6).
VALID_OPS = {
    "eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains",
    "exist", "notExist", "in", "notIn", "and", "or",
}  # fmt: skip


# A child reached through its parent (``/Tickets/{id}/Charges``) is its own endpoint.
CHILD_ENDPOINTS = {
    ("Quotes", "Items"): "QuoteItems",
    ("Tickets", "Charges"): "TicketCharges",
    ("Companies", "Contacts"): "Contacts",
    ("Companies", "Locations"): "CompanyLocations",
    ("TicketWebhooks", "Fields"): "TicketWebhookFields",
}


def endpoint_of(url: str) -> str:
    """The endpoint (entity) a call counts against: Autotask allows three concurrent requests
    per (tracking identifier, endpoint), metadata included (PSA-NOTES 1.9)."""
    path = urlsplit(url).path
    marker = path.lower().find("/v1.0/")
    parts = [p for p in (path[marker + 6 :] if marker >= 0 else path).split("/") if p]
    if not parts:
        return ""
    if len(parts) >= 3 and parts[1].isdigit():
        return CHILD_ENDPOINTS.get((parts[0], parts[2]), parts[2])
    return parts[0]


def _walk(filters: list[dict]):
    for item in filters:
        yield item
        yield from _walk(item.get("items") or [])


@dataclass(frozen=True)
class Credentials:
    username: str
    secret: str
    integration_code: str


@dataclass(frozen=True)
class Zone:
    api_base: str  # e.g. https://webservices5.autotask.net/atservicesrest
    name: str


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        errors = body.get("errors") or body.get("Message") or ""
        if isinstance(errors, list):
            return "; ".join(str(e) for e in errors)
        return str(errors)
    return response.text[:500]


def classify(response: requests.Response) -> IntegrationError | None:
    """The error a response means, by its message (Autotask's statuses say little)."""
    status = response.status_code
    if status < 400 or status in (401, 429):
        return None  # success, or handled by the channel (zone re-resolve, Retry-After)
    text = _message(response)
    if "Itgenatr005" in text or "Thread Threshold Exceeded" in text:
        return RateLimited(f"{VENDOR}'s limit of 3 concurrent requests was reached.", 1.0)
    if "does not have the adequate permissions" in text:
        return PermanentError(
            f"{VENDOR} refused: {text}",
            field="Permissions",
            fix="Give the API user's security level this permission (or the CRM module).",
        )
    if status == 404 and "<html" in response.text.lower():
        return PermanentError(f"{VENDOR} has no such route.", field="URL")
    if status >= 500 and not any(
        marker in text
        for marker in (
            "Missing Required Field",
            "Unable to find",
            "Conversion failed",
            "is not a valid",
        )
    ):
        return TransientError(f"{VENDOR} answered {status}: {text}", status=status)
    return PermanentError(f"{VENDOR} refused the request: {text}", vendor_detail=text)


class AutotaskClient:
    """Calls for one Autotask database; the zone is found on first use."""

    def __init__(
        self,
        credentials: Credentials,
        http: IntegrationHttp,
        *,
        zone_url: str,
        zone: Zone | None = None,
        fixed_base: str = "",
        on_zone: Callable[[Zone], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.http = http
        self.zone_url = zone_url.rstrip("/")
        self.fixed_base = fixed_base.rstrip("/")
        self.zone = zone
        self.on_zone = on_zone
        http.vendor = VENDOR
        http.classify = classify
        http.endpoint_of = endpoint_of
        http.default_headers.update(
            {
                "ApiIntegrationCode": credentials.integration_code,
                "UserName": credentials.username,
                "Secret": credentials.secret,
                "Content-Type": "application/json",
            }
        )

    # -- zone --------------------------------------------------------------------------------

    def resolve_zone(self) -> Zone:
        """Ask the global host where this database lives (ZoneInformation is not limited)."""
        if self.fixed_base:
            self.zone = Zone(self.fixed_base, "fixed by AUTOTASK_API_BASE")
            return self.zone
        try:
            response = self.http.request(
                "GET",
                f"{self.zone_url}/V1.0/ZoneInformation",
                params={"user": self.credentials.username},
                auth=False,
            )
        except TransientError as exc:
            # A blank or unknown user name answers a bare 500 (PSA-NOTES 1.7).
            raise AuthError(
                f"{VENDOR} could not find the zone of the API user "
                f"{self.credentials.username!r}: check the user name ({exc.message})."
            ) from exc
        body = response.json()
        url = str(body.get("url") or body.get("Url") or "").rstrip("/")
        if not url:
            raise AuthError(f"{VENDOR} returned no zone for {self.credentials.username!r}.")
        self.zone = Zone(url, str(body.get("zoneName") or body.get("ZoneName") or ""))
        if self.on_zone is not None:
            self.on_zone(self.zone)
        return self.zone

    # -- calls -------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json_body: Any = None, params=None):
        """Call ``/V1.0/...`` on the zone; a 401 looks the zone up again once."""
        zone = self.zone or self.resolve_zone()
        try:
            return self._call(zone, method, path, json_body, params)
        except NeedsReconnect:
            before = zone.api_base
            zone = self.resolve_zone()
            if zone.api_base == before:
                raise NeedsReconnect(
                    f"{VENDOR} refused the API user's credentials (user name, secret or "
                    "integration code)."
                ) from None
            return self._call(zone, method, path, json_body, params)

    def _call(self, zone: Zone, method, path, json_body, params) -> Any:
        response = self.http.request(
            method, f"{zone.api_base}/V1.0/{path.lstrip('/')}", json_body=json_body, params=params
        )
        if response.status_code >= 400:
            raise PermanentError(f"{VENDOR} answered {response.status_code}: {_message(response)}")
        return response.json() if response.content else {}

    def query(self, entity: str, filters: list[dict], *, limit: int = 500) -> list[dict]:
        """Every record matching ``filters`` (a ``nextPageUrl`` is POSTed with the same body:
        a GET answers 405 and large results would be cut short; PSA-NOTES 1.5)."""
        for item in _walk(filters):
            if item.get("op") not in VALID_OPS:
                raise ValueError(f"Autotask drops the unknown operator {item.get('op')!r}.")
        body = {"filter": filters, "MaxRecords": max(1, min(limit, 500))}
        found = self.request("POST", f"{entity}/query", json_body=body)
        items = list(found.get("items") or [])
        next_url = (found.get("pageDetails") or {}).get("nextPageUrl")
        while next_url and len(items) < limit:
            response = self.http.request("POST", next_url, json_body=body)
            if response.status_code >= 400:
                raise PermanentError(f"{VENDOR} answered {response.status_code} to a next page.")
            page = response.json()
            items.extend(page.get("items") or [])
            next_url = (page.get("pageDetails") or {}).get("nextPageUrl")
        return items[:limit]

    def get(self, entity: str, record_id: int) -> dict:
        return self.request("GET", f"{entity}/{record_id}").get("item") or {}

    def create(self, entity: str, record: dict) -> int:
        found = self.request("POST", entity, json_body=record)
        item_id = found.get("itemId")
        if not item_id:
            raise PermanentError(f"{VENDOR} created no {entity[:-1]} (no itemId came back).")
        return int(item_id)

    def update(self, entity: str, record: dict) -> None:
        """PATCH the collection with the id in the body (``PATCH /Entity/{id}`` is a 405)."""
        self.request("PATCH", entity, json_body=record)

    def create_child(self, parent: str, parent_id: int, child: str, record: dict) -> int:
        """POST a child through its parent (``/Quotes/{id}/Items``; PSA-NOTES 1.5)."""
        found = self.request("POST", f"{parent}/{parent_id}/{child}", json_body=record)
        item_id = found.get("itemId")
        if not item_id:
            raise PermanentError(f"{VENDOR} created no {child[:-1].lower()} (no itemId came back).")
        return int(item_id)

    def update_child(self, parent: str, parent_id: int, child: str, record: dict) -> None:
        """PATCH a child through its parent (``PATCH /QuoteItems`` is a 404; PSA-NOTES 1.5)."""
        self.request("PATCH", f"{parent}/{parent_id}/{child}", json_body=record)

    def delete_child(self, parent: str, parent_id: int, child: str, child_id: int) -> None:
        self.request("DELETE", f"{parent}/{parent_id}/{child}/{child_id}")

    def entity_information(self, entity: str) -> Mapping[str, Any]:
        return self.request("GET", f"{entity}/entityInformation").get("info") or {}

    def fields(self, entity: str) -> list[Mapping[str, Any]]:
        return self.request("GET", f"{entity}/entityInformation/fields").get("fields") or []

    def threshold(self) -> Mapping[str, Any]:
        return self.request("GET", "ThresholdInformation")
