"""ConnectWise PSA (Manage) REST: codebase discovery, API member auth, conditions, paging, PATCH.

Facts from shared/specs/API-NOTES.md §4 and PSA-NOTES.md §2 ("PN 2.x"):
- the codebase comes from ``https://{site}/login/companyinfo/{company}`` and moves on upgrades:
  a 404 fetches it again and repeats the call once (PN 2.1; on cloud a 404 may also be bad keys);
- ``Authorization: Basic base64(company+public:private)`` plus a ``clientId`` header on every
  call, and the API version pinned in ``Accept`` (PN 2.2);
- conditions quote strings in double quotes and datetimes in [brackets] (PN 2.4): build them
  with ``condition`` only;
- bulk pulls page forward-only (``pagination-type: forward-only``, next ``pageId`` from the
  ``Link`` header, no ``orderBy``; PN 2.4);
- PATCH replaces whole top-level values only (a path inside an object answers a false 200;
  ``customFields`` goes whole) and every PATCH is read back and compared (PN 2.3);
- 429 + Retry-After is the core channel's (``IntegrationHttp``) under the connection's budget;
  a refusal names ConnectWise's field (``ErrorResponseMessage.errors[].field``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from webapp.integrations.egress import EgressRefused
from webapp.integrations.http import IntegrationHttp
from webapp.integrations.interfaces import (
    AuthError,
    IntegrationError,
    NeedsReconnect,
    PermanentError,
    TransientError,
)

VENDOR = "ConnectWise"
DEFAULT_VERSION = "2026.1"
MAX_PAGE = 1000  # PN 2.4


@dataclass(frozen=True)
class Credentials:
    company_id: str
    public_key: str
    private_key: str
    client_id: str

    def authorization(self) -> str:
        raw = f"{self.company_id}+{self.public_key}:{self.private_key}".encode()
        return "Basic " + base64.b64encode(raw).decode()


class NotFound(PermanentError):
    """ConnectWise answered 404 on the current codebase (after looking the codebase up again)."""


def site_root(site: str) -> str:
    """The site's root URL: a bare host is HTTPS (``na.myconnectwise.net``)."""
    site = site.strip().rstrip("/")
    return site if re.match(r"^https?://", site, re.I) else f"https://{site}"


def api_host(site: str, fixed: str = "") -> str:
    """Where ``/{codebase}apis/3.0`` lives: cloud sites need the ``api-`` prefix (PN 2.1)."""
    if fixed:
        return fixed.rstrip("/")
    root = site_root(site)
    scheme, _, host = root.partition("://")
    if host.endswith("myconnectwise.net") and not host.startswith("api-"):
        host = f"api-{host}"
    return f"{scheme}://{host}"


# -- conditions (PN 2.4) ----------------------------------------------------------------------

OPERATORS = {"=", "!=", "<", "<=", ">", ">=", "contains", "like", "in", "not in"}


def literal(value: Any) -> str:
    """One value as ConnectWise's conditions read it (strings double-quoted, dates bracketed)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "null"
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return f"[{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}]"
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(literal(v) for v in value) + ")"
    text = str(value).replace('"', '""').replace("[", "[[]")
    return f'"{text}"'


def condition(field: str, op: str, value: Any) -> str:
    """``field op value`` with the value quoted; refuses an operator ConnectWise lacks."""
    if op not in OPERATORS:
        raise ValueError(f"ConnectWise conditions have no operator {op!r}.")
    if not re.fullmatch(r"[A-Za-z_][\w/]*", field):
        raise ValueError(f"Not a ConnectWise field path: {field!r}.")
    return f"{field} {op} {literal(value)}"


def all_of(*parts: str) -> str:
    return " and ".join(f"({p})" if " or " in p else p for p in parts if p)


# -- errors -----------------------------------------------------------------------------------


def _error(response: requests.Response) -> tuple[str, str]:
    """ConnectWise's message and the field it names (``ErrorResponseMessage``)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300], ""
    if not isinstance(body, dict):
        return response.text[:300], ""
    message = str(body.get("message") or body.get("code") or "")
    fields = []
    details = []
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            if item.get("field"):
                fields.append(str(item["field"]))
            if item.get("message"):
                details.append(str(item["message"]))
    if details:
        message = f"{message}: {'; '.join(details)}" if message else "; ".join(details)
    return message, ", ".join(fields)


def classify(response: requests.Response) -> IntegrationError | None:
    """The error a response means; 401 / 429 / 5xx are the channel's, 404 the client's."""
    status = response.status_code
    if status < 400 or status in (401, 404, 429) or status >= 500:
        return None
    message, field = _error(response)
    if status == 403:
        return PermanentError(
            f"{VENDOR} refused: {message}",
            field=field or "Security role",
            fix="Give the API member's security role this permission, then press Retry.",
        )
    if status == 409:
        return PermanentError(f"{VENDOR} says the record is in use: {message}", field=field)
    return PermanentError(
        f"{VENDOR} refused the request: {message}",
        field=field,
        fix=f"Correct {field} and press Retry." if field else "",
        vendor_detail=message,
    )


def next_page_id(response: requests.Response) -> str | None:
    """The ``pageId`` of the ``rel="next"`` link, if any (forward-only paging)."""
    link = response.headers.get("Link", "")
    for part in link.split(","):
        if 'rel="next"' in part:
            found = re.search(r"[?&]pageId=(\d+)", part)
            if found:
                return found.group(1)
    return None


class ConnectWiseClient:
    """Calls for one ConnectWise company; the codebase is found on first use."""

    def __init__(
        self,
        credentials: Credentials,
        http: IntegrationHttp,
        *,
        site: str,
        api_base: str = "",
        codebase: str = "",
        version: str = DEFAULT_VERSION,
        on_codebase: Callable[[str, str], None] | None = None,
    ) -> None:
        self.credentials = credentials
        self.http = http
        self.site = site
        self.host = api_host(site, api_base)
        self.codebase = codebase
        self.on_codebase = on_codebase
        http.vendor = VENDOR
        http.classify = classify
        http.default_headers.update(
            {
                "Authorization": credentials.authorization(),
                "clientId": credentials.client_id,
                "Accept": f"application/vnd.connectwise.com+json; version={version}",
                "Content-Type": "application/json",
            }
        )

    @property
    def api_root(self) -> str:
        return f"{self.host}/{self.codebase}apis/3.0"

    # -- codebase --------------------------------------------------------------------------

    def discover(self) -> str:
        """Ask the site which codebase the company runs (``/login/companyinfo``; PN 2.1)."""
        url = f"{site_root(self.site)}/login/companyinfo/{self.credentials.company_id}"
        try:
            response = self.http.request("GET", url, auth=False)
        except EgressRefused as exc:
            raise AuthError(f"{VENDOR} site {self.site!r} is not called: {exc.message}") from None
        except TransientError as exc:
            raise AuthError(f"{VENDOR} site {self.site!r} did not answer: {exc.message}") from exc
        info = response.json() if response.status_code < 400 and response.content else {}
        codebase = str(info.get("Codebase") or "") if isinstance(info, dict) else ""
        if not codebase:
            raise AuthError(
                f"{VENDOR} does not know the company {self.credentials.company_id!r} on "
                f"{self.site!r}: check the site and the company id."
            )
        self.codebase = codebase if codebase.endswith("/") else f"{codebase}/"
        if self.on_codebase is not None:
            self.on_codebase(self.codebase, self.api_root)
        return self.codebase

    # -- calls -----------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, json_body: Any = None, params=None, headers=None
    ) -> requests.Response:
        """Call ``{api_root}/{path}``; a 404 looks the codebase up again and repeats once."""
        if not self.codebase:
            self.discover()
        response = self._send(method, path, json_body, params, headers)
        if response.status_code == 404:
            before = self.codebase
            self.discover()
            if self.codebase != before:
                response = self._send(method, path, json_body, params, headers)
        if response.status_code == 404:
            message, _ = _error(response)
            raise NotFound(
                f"{VENDOR} answered 404 for {path.split('?')[0]}: {message} (on cloud a 404 "
                "can also mean the API member's keys were refused).",
                field="Record",
                fix="Check the record still exists and the API member's keys, then Retry.",
            )
        return response

    def _send(self, method, path, json_body, params, headers) -> requests.Response:
        try:
            return self.http.request(
                method,
                f"{self.api_root}/{path.lstrip('/')}",
                json_body=json_body,
                params=params,
                headers=headers,
            )
        except NeedsReconnect:
            raise NeedsReconnect(
                f"{VENDOR} refused the client id (401): register it at "
                "developer.connectwise.com and enter it again."
            ) from None
        except EgressRefused as exc:
            raise PermanentError(
                f"Not sent to {VENDOR}: {exc.message}",
                field="Site",
                fix="Connect again with your ConnectWise host name (Settings › PSA › ConnectWise).",
            ) from None

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params or None)
        return response.json() if response.content else None

    def find(self, path: str, conditions: str, *, page_size: int = 25) -> list[dict]:
        """Records matching ``conditions`` (built with ``condition``), first page only."""
        return list(self.get(path, conditions=conditions, pageSize=page_size) or [])

    def each(self, path: str, conditions: str = "", *, page_size: int = MAX_PAGE) -> Iterator[dict]:
        """Every record, paging forward-only (by id; no ``orderBy``) for bulk pulls."""
        params: dict[str, Any] = {"pageSize": max(1, min(page_size, MAX_PAGE))}
        if conditions:
            params["conditions"] = conditions
        while True:
            response = self.request(
                "GET", path, params=params, headers={"pagination-type": "forward-only"}
            )
            yield from response.json() or []
            page_id = next_page_id(response)
            if page_id is None:
                return
            params = {**params, "pageId": page_id}

    def create(self, path: str, record: dict) -> dict:
        return self.request("POST", path, json_body=record).json()

    def post(self, path: str, body: dict) -> dict:
        response = self.request("POST", path, json_body=body)
        return response.json() if response.content else {}

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def patch(self, path: str, values: dict[str, Any]) -> dict:
        """Replace whole top-level values (objects and ``customFields`` whole), read back.

        Raises PermanentError naming each field ConnectWise did not keep (a false 200).
        """
        operations = []
        for name, value in values.items():
            if "/" in name:
                raise ValueError(f"PATCH whole values only, not {name!r} (PN 2.3).")
            operations.append({"op": "replace", "path": name, "value": value})
        self.request("PATCH", path, json_body=operations)
        stored = self.get(path) or {}
        lost = [name for name, value in values.items() if not same(value, stored.get(name))]
        if lost:
            raise PermanentError(
                f"{VENDOR} answered the update but did not keep {', '.join(lost)}.",
                field=", ".join(lost),
                fix="Check the values chosen in Settings › PSA › ConnectWise, then Retry.",
            )
        return stored


def same(sent: Any, stored: Any) -> bool:
    """Whether ConnectWise kept a value: references by id, numbers by value."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return False
        if "id" in sent:
            return stored.get("id") == sent["id"]
        return all(same(v, stored.get(k)) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(stored, list) and len(sent) == len(stored)
    if isinstance(sent, (int, float, Decimal)) and not isinstance(sent, bool):
        try:
            return stored is not None and abs(Decimal(str(stored)) - Decimal(str(sent))) < 0.005
        except ArithmeticError:
            return False
    return sent == stored
