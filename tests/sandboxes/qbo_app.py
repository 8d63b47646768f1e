"""QuickBooks Online sandbox over HTTP: the Flask app (OAuth 2, entities, query, batch)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, redirect, request

from .common import (
    Fault,
    OAuthError,
    StoredResponse,
    add_query,
    install_fault_hooks,
)
from .qbo_base import ACCOUNTING_SCOPE, ENTITY_PATHS, WRITABLE, QboFault, RecordedRequest
from .qbo_query import QueryError

if TYPE_CHECKING:
    from .quickbooks import QboSandbox
from .specs import (
    QboProblem,
    missing,
    unsupported,
)

# ============================================================================================
# Flask app
# ============================================================================================


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers or {}, mimetype="application/json")


def build_app(sb: QboSandbox) -> Flask:
    app = Flask("qbo_sandbox")
    app.sandbox = sb  # type: ignore[attr-defined]

    def fault_response(fault: QboFault, headers: dict[str, str] | None = None) -> Response:
        return _json({"Fault": fault.body(), "time": sb.now_iso()}, fault.status, headers)

    def gateway_fault(status: int, retry_after: int | None = None) -> Response:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = (
                format_datetime(sb.clock.utcnow() + timedelta(seconds=retry_after), usegmt=True)
                if sb.retry_after_as_date
                else str(retry_after)
            )
        if status == 429:
            # API-NOTES 1.5: throttling is HTTP 429, ThrottleExceeded, errorCode 003001.
            problem = QboProblem(
                "003001",
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                "The request limit was reached.",
            )
        else:
            problem = QboProblem(
                "10000",
                "An application error has occurred while processing your request",
                f"System Failure Error: injected HTTP {status}",
            )
        return fault_response(QboFault([problem], status, "SystemFault"), headers)

    @app.before_request
    def gate() -> Response | None:
        path = request.path
        api = path.startswith(sb.API_PREFIX)
        realm = path[len(sb.API_PREFIX) :].split("/", 1)[0] if api else None
        g.fault = None
        g.slot = None
        if api:
            body: Any = request.get_data(as_text=True)
            if request.mimetype == "application/json":
                with contextlib.suppress(ValueError):  # keep malformed bodies as text
                    body = json.loads(body) if body else None
            sb.requests.append(
                RecordedRequest(
                    request.method, path, request.args.to_dict(), dict(request.headers), body
                )
            )
            windows = [(sb.minute_window, realm)]
            if path.endswith("/batch"):
                windows.append((sb.batch_window, realm))
            decision = sb.limiter.enter(windows, ("concurrent", sb.concurrent_requests, realm))
            if not decision.allowed:
                return gateway_fault(429, decision.retry_after)
            g.slot = realm
        fault: Fault | None = sb.faults.take(path)
        if fault is not None:
            if fault.kind == "status":
                return gateway_fault(fault.status, fault.retry_after)
            if fault.kind == "hang" and not fault.after_commit:
                sb.faults.sleep(fault.seconds)
            else:
                g.fault = fault
        if not api:
            return None
        token, why = sb.oauth.check_bearer(request.headers.get("Authorization"))
        if token is None:
            # API-NOTES 1.6: 401 means the access token expired -> refresh and retry once.
            problem = QboProblem(
                "3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", why
            )
            return fault_response(
                QboFault([problem], 401, "AuthenticationFault"),
                {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
            )
        if token.grant.data.get("realm_id") != realm or ACCOUNTING_SCOPE not in token.grant.scopes:
            problem = QboProblem(
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                f"token is not authorized for realm {realm}",
            )
            # FaultTypeEnum in IntuitRestServiceDef.xsd spells it "AuthorizatonFault" [sic].
            return fault_response(QboFault([problem], 403, "AuthorizatonFault"))
        if not any(mime == "application/json" for mime, _ in request.accept_mimetypes):
            # API-NOTES 1.2 lists "Accept: application/json"; without it QBO answers XML
            # (recalled), which our client cannot parse, so the sandbox refuses outright.
            return Response("sandbox speaks JSON only: send Accept: application/json", 406)
        minor = request.args.get("minorversion")
        if minor is not None and not minor.isdigit():
            return fault_response(QboFault([unsupported("minorversion", f"{minor!r}")]))
        return None

    install_fault_hooks(app, sb)

    # -- OAuth 2 (API-NOTES 1.2) --------------------------------------------------------
    @app.get("/.well-known/openid_configuration")
    def discovery() -> Response:
        base = request.host_url.rstrip("/")
        return _json(
            {
                "issuer": f"{base}/op/v1",
                "authorization_endpoint": f"{base}/connect/oauth2",
                "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
                "response_types_supported": ["code"],
                "scopes_supported": [ACCOUNTING_SCOPE, "openid", "profile", "email"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    @app.get("/connect/oauth2")
    def authorize() -> Any:
        args = request.args
        try:
            client = sb.oauth.check_redirect(args.get("client_id"), args.get("redirect_uri"))
        except OAuthError as exc:
            return _json(exc.body(), 400)
        redirect_uri = args["redirect_uri"]
        state = args.get("state")
        error = None
        if args.get("response_type") != "code":
            error = "unsupported_response_type"
        elif ACCOUNTING_SCOPE not in args.get("scope", "").split():
            error = "invalid_scope"
        elif not state:
            error = "invalid_request"  # Intuit requires state for CSRF protection (recalled)
        if error:
            return redirect(add_query(redirect_uri, {"error": error, "state": state or ""}))
        code = sb.oauth.issue_code(
            client, redirect_uri, args["scope"], {"realm_id": sb.authorize_realm}
        )
        # API-NOTES 1.2: the callback carries code, state and realmId.
        return redirect(
            add_query(redirect_uri, {"code": code, "state": state, "realmId": sb.authorize_realm})
        )

    @app.post("/oauth2/v1/tokens/bearer")
    def token() -> Response:
        try:
            body = sb.oauth.token(request.form.to_dict(), request.headers.get("Authorization"))
        except OAuthError as exc:
            headers = {"WWW-Authenticate": "Basic"} if exc.status == 401 else {}
            return _json(exc.body(), exc.status, headers)
        return _json(body, headers={"Cache-Control": "no-store"})

    @app.post("/v2/oauth2/tokens/revoke")
    def revoke() -> Response:
        try:
            sb.oauth.authenticate_client({}, request.headers.get("Authorization"))
        except OAuthError as exc:
            return _json(exc.body(), exc.status)
        data = request.get_json(silent=True) or request.form.to_dict()
        if not data.get("token"):
            return _json({"error": "invalid_request"}, 400)
        sb.oauth.revoke(data["token"])
        return Response("", 200)

    # -- API ----------------------------------------------------------------------------
    def idempotent(realm: str, batch: bool, handler: Callable[[], Response]) -> Response:
        request_id = request.args.get("requestid")
        if request_id is None:
            return handler()
        # API-NOTES 1.4: requestid <= 50 chars (<= 36 on batch).
        limit = 36 if batch else 50
        if len(request_id) > limit:
            return fault_response(
                QboFault([unsupported("requestid", f"longer than {limit} characters")])
            )
        with sb.idempotency.claim((realm, request_id)) as stored:
            if stored is not None:
                return Response(stored.body, stored.status, content_type=stored.content_type)
            response = handler()
            sb.idempotency.store(
                (realm, request_id),
                StoredResponse(response.status_code, response.get_data(), response.content_type),
            )
            return response

    def json_body() -> Any:
        if request.mimetype != "application/json":
            raise QboFault(
                [unsupported("Content-Type", "send Content-Type: application/json")], 415
            )
        try:
            return json.loads(request.get_data(as_text=True))
        except ValueError as exc:
            raise QboFault([unsupported("body", f"malformed JSON: {exc}")]) from exc

    @app.post("/v3/company/<realm>/<entity_path>")
    def post_entity(realm: str, entity_path: str) -> Response:
        name = ENTITY_PATHS.get(entity_path)
        if name is None or name not in WRITABLE:
            return fault_response(
                QboFault([unsupported(entity_path, "unknown entity path (paths are lowercase)")])
            )

        def handle() -> Response:
            try:
                result = sb.apply(realm, name, json_body(), request.args.get("operation"), None)
            except QboFault as fault:
                return fault_response(fault)
            return _json({name: result, "time": sb.now_iso()})

        return idempotent(realm, False, handle)

    @app.get("/v3/company/<realm>/<entity_path>/<entity_id>")
    def read_entity(realm: str, entity_path: str, entity_id: str) -> Response:
        name = ENTITY_PATHS.get(entity_path)
        if name == "CompanyInfo":
            info = {
                "Id": "1",
                "SyncToken": "0",
                "CompanyName": f"Sandbox Company {realm}",
                "Country": "US",
                "domain": "QBO",
                "sparse": False,
            }
            return _json({"CompanyInfo": info, "time": sb.now_iso()})
        found = sb.get(realm, name, entity_id) if name else None
        if found is None:
            return fault_response(
                QboFault(
                    [
                        QboProblem(
                            "610",
                            "Object Not Found",
                            f"Object Not Found : {entity_path} {entity_id}",
                        )
                    ]
                )
            )
        return _json({name: found, "time": sb.now_iso()})

    @app.route("/v3/company/<realm>/query", methods=["GET", "POST"])
    def query(realm: str) -> Response:
        text = request.args.get("query")
        if request.method == "POST" and text is None:
            text = request.get_data(as_text=True)  # Content-Type: application/text
        try:
            result = sb.query(realm, text or "")
        except QueryError as exc:
            problem = QboProblem("4000", "Error parsing query", f"QueryParserError: {exc}")
            return fault_response(QboFault([problem]))
        return _json({"QueryResponse": result, "time": sb.now_iso()})

    @app.get("/v3/company/<realm>/cdc")
    def cdc(realm: str) -> Response:
        try:
            result = sb.cdc(
                realm, request.args.get("entities", ""), request.args.get("changedSince", "")
            )
        except QboFault as fault:
            return fault_response(fault)
        return _json(result)

    @app.post("/v3/company/<realm>/batch")
    def batch(realm: str) -> Response:
        return idempotent(realm, True, lambda: run_batch(realm))

    def run_batch(realm: str) -> Response:
        try:
            body = json_body()
        except QboFault as fault:
            return fault_response(fault)
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        problems = (
            [unsupported(k, "unrecognized field") for k in (body or {}) if k != "BatchItemRequest"]
            if isinstance(body, dict)
            else []
        )
        if not isinstance(items, list) or not items:
            problems.append(missing("BatchItemRequest"))
        elif len(items) > sb.max_batch_items:
            # API-NOTES 1.4: max 30 payloads per batch (error code is a guess).
            problems.append(
                unsupported(
                    "BatchItemRequest",
                    f"{len(items)} items; at most {sb.max_batch_items} are allowed per batch",
                )
            )
        else:
            ids = [item.get("bId") if isinstance(item, dict) else None for item in items]
            if any(not isinstance(b, str) or not b for b in ids) or len(set(ids)) != len(ids):
                problems.append(unsupported("bId", "every item needs a unique string bId"))
            elif "requestid" in request.args and any(len(b) > 10 for b in ids):
                problems.append(unsupported("bId", "at most 10 characters with requestid"))
        if problems:
            return fault_response(QboFault(problems))
        with sb._lock:
            visible = {(kind, eid) for kind, rows in sb.ledgers[realm].items() for eid in rows}
        responses = [batch_item(realm, item, visible) for item in items]
        return _json({"BatchItemResponse": responses, "time": sb.now_iso()})

    def batch_item(realm: str, item: Any, visible: set[tuple[str, str]]) -> dict[str, Any]:
        bid = item.get("bId")
        names = [k for k in item if k in sb.schema.entities]
        envelope = {k: v for k, v in item.items() if k not in names}
        try:
            problems = sb.schema.validate("BatchItemRequest", envelope, "BatchItemRequest")
            if problems:
                raise QboFault(problems)
            if "Query" in item:
                return {"bId": bid, "QueryResponse": sb.query(realm, item["Query"])}
            if len(names) != 1:
                raise QboFault([missing("BatchItemRequest.<Entity>")])
            name = names[0]
            if name not in WRITABLE:
                raise QboFault([unsupported(name, "entity not supported by the sandbox")])
            operation = item.get("operation")
            if operation is None:
                raise QboFault([missing("BatchItemRequest.operation")])
            if operation not in ("create", "update", "delete"):
                # OperationEnum also lists revert/void/send/merge; the sandbox does not.
                raise QboFault([unsupported("operation", f"{operation} not supported by sandbox")])
            if operation == "update" and "Id" not in item[name]:
                raise QboFault([missing(f"{name}.Id")])
            result = sb.apply(realm, name, item[name], operation, visible)
            return {"bId": bid, name: result}
        except QboFault as fault:
            return {"bId": bid, "Fault": fault.body()}
        except QueryError as exc:
            problem = QboProblem("4000", "Error parsing query", f"QueryParserError: {exc}")
            return {"bId": bid, "Fault": QboFault([problem]).body()}

    @app.errorhandler(QboFault)
    def on_fault(fault: QboFault) -> Response:
        return fault_response(fault)

    return app
