"""Xero sandbox over HTTP: the Flask app (OAuth 2, /connections, the accounting API)."""

from __future__ import annotations

import contextlib
import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, redirect, request

from .common import (
    Fault,
    OAuthError,
    StoredResponse,
    add_query,
    install_fault_hooks,
)
from .xero_base import (
    API_PREFIX,
    COLLECTIONS,
    MAX_BODY_BYTES,
    Collection,
    RecordedRequest,
    Tenant,
    XeroApiError,
    problem,
    validation_error,
)

if TYPE_CHECKING:
    from .xero import XeroSandbox

# ============================================================================================
# Flask app
# ============================================================================================


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers or {}, mimetype="application/json")


def _bool_arg(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("false", "0", "no")


def build_app(sb: XeroSandbox) -> Flask:
    app = Flask("xero_sandbox")
    app.sandbox = sb  # type: ignore[attr-defined]

    def rate_headers() -> dict[str, str]:
        remaining = g.get("remaining") or {}
        names = {
            "day": "X-DayLimit-Remaining",
            "minute": "X-MinLimit-Remaining",
            "appminute": "X-AppMinLimit-Remaining",
        }
        return {names[k]: str(v) for k, v in remaining.items() if k in names}

    def too_many(problem_name: str, retry_after: int) -> Response:
        # API-NOTES 2.5: 429 + Retry-After + X-Rate-Limit-Problem. Values are lowercase
        # ("minute", "day", ...) as third-party reports quote them; compare case-insensitively.
        headers = {
            "Retry-After": str(retry_after),
            "X-Rate-Limit-Problem": problem_name,
            **rate_headers(),
        }
        return Response("", 429, headers, mimetype="text/plain")

    @app.errorhandler(XeroApiError)
    def on_error(exc: XeroApiError) -> Response:
        return _json(exc.body, exc.status, exc.headers)

    @app.before_request
    def gate() -> Response | None:
        path = request.path
        api = path.startswith(API_PREFIX)
        identity_api = path.lower().startswith("/connections")
        g.fault = None
        g.slot = None
        if api or identity_api:
            body: Any = request.get_data(as_text=True)
            if request.mimetype == "application/json" and body:
                with contextlib.suppress(ValueError):  # keep malformed bodies as text
                    body = json.loads(body)
            sb.requests.append(
                RecordedRequest(
                    request.method, path, request.args.to_dict(), dict(request.headers), body
                )
            )
            token, why = sb.oauth.check_bearer(request.headers.get("Authorization"))
            if token is None:
                detail = "TokenExpired: token expired" if why == "token expired" else why
                err = problem(401, "Unauthorized", detail)
                err.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                raise err
            g.token = token
        if api:
            # API-NOTES 2.1: the xero-tenant-id header is required on every accounting call.
            tenant_id = request.headers.get("xero-tenant-id")
            if not tenant_id:
                raise problem(400, "Bad Request", "xero-tenant-id header is required")
            if tenant_id not in sb.tenants or not sb.connected(g.token.grant.grant_id, tenant_id):
                raise problem(403, "Forbidden", "AuthenticationUnsuccessful")
            decision = sb.limiter.enter(
                [
                    (sb.minute_window, tenant_id),
                    (sb.day_window, tenant_id),
                    (sb.app_minute_window, "app"),
                ],
                ("concurrent", sb.concurrent_limit, tenant_id),
            )
            g.remaining = decision.remaining
            if not decision.allowed:
                assert decision.problem is not None
                return too_many(decision.problem, decision.retry_after)
            g.slot = tenant_id
        fault: Fault | None = sb.faults.take(path)
        if fault is not None:
            if fault.kind == "status":
                if fault.status == 429:
                    return too_many("minute", fault.retry_after or 1)
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                return _json(
                    {
                        "Type": None,
                        "Title": "Internal Server Error",
                        "Status": fault.status,
                        "Detail": "injected fault",
                    },
                    fault.status,
                    headers,
                )
            if fault.kind == "hang" and not fault.after_commit:
                sb.faults.sleep(fault.seconds)
            else:
                g.fault = fault
        if api and not any(m == "application/json" for m, _ in request.accept_mimetypes):
            # Xero answers XML unless Accept: application/json (recalled); our client
            # cannot parse XML, so the sandbox refuses outright.
            return Response("sandbox speaks JSON only: send Accept: application/json", 406)
        return None

    def add_rate_headers(response: Response) -> None:
        if g.get("slot") is not None:
            response.headers.update(rate_headers())

    install_fault_hooks(app, sb, before_fault=add_rate_headers)

    # -- OAuth 2 (API-NOTES 2.2; xero-identity.yaml) ------------------------------------
    @app.get("/identity/connect/authorize")
    def authorize() -> Any:
        args = request.args
        try:
            client = sb.oauth.check_redirect(args.get("client_id"), args.get("redirect_uri"))
        except OAuthError as exc:
            return _json(exc.body(), 400)  # Xero shows an error page, it never redirects here
        redirect_uri = args["redirect_uri"]
        state = args.get("state", "")
        scope = args.get("scope", "")
        error = None
        if args.get("response_type") != "code":
            error = "unsupported_response_type"
        elif not scope.strip():
            error = "invalid_scope"
        elif args.get("code_challenge") and args.get("code_challenge_method", "plain") not in (
            "S256",
            "plain",
        ):
            error = "invalid_request"
        if error:
            return redirect(add_query(redirect_uri, {"error": error, "state": state}))
        auth_event = str(uuid.uuid4())
        code = sb.oauth.issue_code(
            client,
            redirect_uri,
            scope,
            {"auth_event_id": auth_event},
            args.get("code_challenge"),
            args.get("code_challenge_method", "plain"),
        )
        return redirect(add_query(redirect_uri, {"code": code, "state": state}))

    @app.post("/connect/token")
    def token() -> Response:
        try:
            body = sb.oauth.token(request.form.to_dict(), request.headers.get("Authorization"))
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        if request.form.get("grant_type") == "authorization_code":
            # Consent connects the user's organisations to this grant (GET /connections).
            access, _ = sb.oauth.check_bearer(f"Bearer {body['access_token']}")
            assert access is not None
            sb._connect(access.grant.grant_id, access.grant.data["auth_event_id"], None)
        return _json(body, headers={"Cache-Control": "no-store"})

    @app.post("/connect/revocation")
    def revoke() -> Response:
        try:
            sb.oauth.authenticate_client(
                request.form.to_dict(), request.headers.get("Authorization")
            )
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        sb.oauth.revoke(request.form.get("token", ""))
        return Response("", 200)

    @app.get("/connections")
    @app.get("/Connections")
    def list_connections() -> Response:
        grant = g.token.grant
        event = request.args.get("authEventId")
        with sb._lock:
            rows = [
                {
                    "id": c.id,
                    "authEventId": c.auth_event_id,
                    "tenantId": c.tenant_id,
                    "tenantType": sb.tenants[c.tenant_id].tenant_type,
                    "tenantName": sb.tenants[c.tenant_id].name,
                    "createdDateUtc": datetime.fromtimestamp(c.created, UTC)
                    .replace(tzinfo=None)
                    .isoformat(timespec="microseconds"),
                    "updatedDateUtc": datetime.fromtimestamp(c.created, UTC)
                    .replace(tzinfo=None)
                    .isoformat(timespec="microseconds"),
                }
                for c in sb.connections.values()
                if c.grant_id == grant.grant_id and (event is None or c.auth_event_id == event)
            ]
        return _json(rows)

    @app.delete("/connections/<conn_id>")
    @app.delete("/Connections/<conn_id>")
    def delete_connection(conn_id: str) -> Response:
        with sb._lock:
            conn = sb.connections.get(conn_id)
            if conn is None or conn.grant_id != g.token.grant.grant_id:
                return Response("", 404)
            del sb.connections[conn_id]
        return Response("", 204)

    # -- accounting API -----------------------------------------------------------------
    def collection(name: str, write: bool) -> Collection:
        coll = COLLECTIONS.get(name.lower())
        if coll is None or (write and not coll.writable):
            raise XeroApiError(
                404,
                {"Type": "NotFoundException", "Message": f"The resource {name} is not supported"},
            )
        if sb.enforce_scopes:
            granted = g.token.grant.scopes
            ok = any(s in granted for s in coll.scopes) or (
                not write and any(f"{s}.read" in granted for s in coll.scopes)
            )
            if not ok:
                raise problem(
                    403,
                    "Forbidden",
                    "AuthorizationUnsuccessful: missing scope " + " or ".join(coll.scopes),
                )
        return coll

    @app.get(f"{API_PREFIX}Organisation")
    def get_organisation() -> Response:
        tenant = sb.tenants[request.headers["xero-tenant-id"]]
        return _json(sb.envelope("Organisations", [copy.deepcopy(tenant.organisation)]))

    @app.get(f"{API_PREFIX}<name>")
    @app.get(f"{API_PREFIX}<name>/<item_id>")
    def get_collection(name: str, item_id: str | None = None) -> Response:
        coll = collection(name, write=False)
        return _json(sb.read(sb.tenants[request.headers["xero-tenant-id"]], coll, item_id))

    @app.put(f"{API_PREFIX}CreditNotes/<credit_note_id>/Allocations")
    def allocate(credit_note_id: str) -> Response:
        collection("CreditNotes", write=True)
        tenant = sb.tenants[request.headers["xero-tenant-id"]]

        def handle() -> Response:
            try:
                body = json.loads(request.get_data())
            except ValueError as exc:
                raise XeroApiError(
                    400,
                    {
                        "ErrorNumber": 14,
                        "Type": "PostDataInvalidException",
                        "Message": f"JSON for post data was invalid: {exc}",
                    },
                ) from exc
            return _json(sb.allocate_credit_note(tenant, credit_note_id, body))

        return idempotent(tenant, handle)

    def idempotent(tenant: Tenant, handle: Callable[[], Response]) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handle()
        if len(key) > 128:
            raise validation_error(
                [
                    {
                        "ValidationErrors": [
                            {"Message": "Idempotency-Key must be at most 128 characters"}
                        ]
                    }
                ]
            )
        with sb.idempotency.claim((tenant.tenant_id, key)) as stored:
            if stored is not None:
                return Response(stored.body, stored.status, content_type=stored.content_type)
            try:
                response = handle()
            except XeroApiError as exc:
                response = _json(exc.body, exc.status, exc.headers)
            sb.idempotency.store(
                (tenant.tenant_id, key),
                StoredResponse(response.status_code, response.get_data(), response.content_type),
            )
            return response

    @app.route(f"{API_PREFIX}<name>", methods=["PUT", "POST"])
    @app.route(f"{API_PREFIX}<name>/<item_id>", methods=["POST"])
    def write_collection(name: str, item_id: str | None = None) -> Response:
        coll = collection(name, write=True)
        tenant = sb.tenants[request.headers["xero-tenant-id"]]
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handle_write(tenant, coll, item_id)
        if len(key) > 128:
            # API-NOTES 2.4: Idempotency-Key is at most 128 characters.
            raise validation_error(
                [
                    {
                        "ValidationErrors": [
                            {"Message": "Idempotency-Key must be at most 128 characters"}
                        ]
                    }
                ]
            )
        with sb.idempotency.claim((tenant.tenant_id, key)) as stored:
            if stored is not None:
                return Response(stored.body, stored.status, content_type=stored.content_type)
            try:
                response = handle_write(tenant, coll, item_id)
            except XeroApiError as exc:
                response = _json(exc.body, exc.status, exc.headers)
            sb.idempotency.store(
                (tenant.tenant_id, key),
                StoredResponse(response.status_code, response.get_data(), response.content_type),
            )
            return response

    def handle_write(tenant: Tenant, coll: Collection, item_id: str | None) -> Response:
        raw = request.get_data()
        if len(raw) > MAX_BODY_BYTES:
            return Response("Request Entity Too Large", 413)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            # Unparseable JSON is a PostDataInvalidException, ErrorNumber 14 (recalled).
            raise XeroApiError(
                400,
                {
                    "ErrorNumber": 14,
                    "Type": "PostDataInvalidException",
                    "Message": f"JSON for post data was invalid: {exc}",
                },
            ) from exc
        # API-NOTES 2.4: summarizeErrors defaults to true (whole request 400 on any error),
        # although the spec's parameter schema says default false.
        summarize = _bool_arg(request.args.get("summarizeErrors"), True)
        unitdp = int(request.args.get("unitdp", "2") or 2)
        return _json(sb.write(tenant, coll, request.method, body, item_id, summarize, unitdp))

    return app
