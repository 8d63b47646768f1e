"""`Idempotency-Key` on every POST and PATCH: Stripe's storage rules, the IETF draft's codes.

draft-ietf-httpapi-idempotency-key-header: a missing key is 400, the same key with another
body is 422, a retry while the first request still runs is 409 — all problem+json. As Stripe
does, the first response is kept for 24 hours per API key and replayed; a request refused by
validation (4xx other than 409/412) is not kept, so the client can fix it and retry the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from flask import Response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.api.models import ENCRYPTED_BODY, IdempotencyRecord
from webapp.api.operations import IDEMPOTENCY_TTL
from webapp.api.problems import problem
from webapp.api.security import current_key
from webapp.extensions import db
from webapp.integrations.secrets import UndecryptableSecret, decrypt, encrypt
from webapp.models_base import utcnow

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "description": "A unique value per operation (a UUID is best), 1–255 printable ASCII "
    "characters. Retries with the same key and body get the first response for 24 h.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
}


def _fingerprint() -> str:
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        body = raw.hex()
    text = f"{request.method} {request.full_path.rstrip('?')}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _key_from_header() -> str:
    key = request.headers.get(HEADER)
    if key is None or not key.strip():
        raise problem(400, f"Send an {HEADER} header with this request.", pointer=None)
    if len(key) > MAX_LENGTH:
        raise problem(400, f"The {HEADER} is longer than {MAX_LENGTH} characters.")
    if not all(" " <= ch <= "~" for ch in key):
        raise problem(400, f"The {HEADER} must be printable ASCII.")
    return key


def _existing(key_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == key_id, IdempotencyRecord.key == key
        )
    )


def _replay_or_refuse(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise problem(
            422,
            f"This {HEADER} was used for a different request; use a new key.",
            errors=[{"header": HEADER, "detail": "reused with another body"}],
        )
    if record.response_status is None:
        raise problem(409, f"A request with this {HEADER} is still being processed; retry.")
    body = record.response_body
    if body.startswith(ENCRYPTED_BODY):
        try:
            body = decrypt(body[len(ENCRYPTED_BODY) :]).decode()
        except UndecryptableSecret:
            # The key it was kept under was retired (ENCRYPTION_KEYS) within its 24 hours.
            raise problem(
                422,
                f"The first answer to this {HEADER} can no longer be read; use a new key.",
                errors=[{"header": HEADER, "detail": "kept answer unreadable"}],
            ) from None
    response = Response(body, status=record.response_status)
    for name, value in record.response_headers.items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(key: str, fingerprint: str) -> IdempotencyRecord | Response:
    api_key = current_key()
    record = _existing(api_key.id, key)
    if record is not None and record.created_at <= utcnow() - IDEMPOTENCY_TTL:
        db.session.delete(record)  # kept its 24 hours: the key is free again
        db.session.flush()
        record = None
    if record is not None:
        return _replay_or_refuse(record, fingerprint)
    record = IdempotencyRecord(api_key_id=api_key.id, key=key, fingerprint=fingerprint)
    db.session.add(record)
    try:
        db.session.commit()  # visible at once: a concurrent retry finds it running
    except IntegrityError:
        db.session.rollback()
        other = _existing(api_key.id, key)
        if other is None:
            raise problem(409, f"A request with this {HEADER} is still being processed.") from None
        return _replay_or_refuse(other, fingerprint)
    return record


def _release(record_id: int) -> None:
    db.session.rollback()
    record = db.session.get(IdempotencyRecord, record_id)
    if record is not None:
        db.session.delete(record)
        db.session.commit()


def idempotent(view: Callable | None = None, *, sensitive: bool = False) -> Callable:
    """Run the view once per (API key, Idempotency-Key); replay its response afterwards.

    `sensitive`: the response holds a secret shown once (a webhook signing secret), so the
    copy kept for replays is encrypted like every other stored secret."""
    if view is None:
        return lambda inner: idempotent(inner, sensitive=sensitive)

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = _key_from_header()
        claimed = _claim(key, _fingerprint())
        if isinstance(claimed, Response):
            return claimed
        record_id = claimed.id
        try:
            response = view(*args, **kwargs)
        except Exception:
            _release(record_id)  # refused or failed: nothing was done, the key may be retried
            raise
        if not isinstance(response, Response):
            from flask import make_response

            response = make_response(response)
        status = response.status_code
        if 400 <= status < 500 and status not in (409, 412):
            _release(record_id)
            return response
        record = db.session.get(IdempotencyRecord, record_id)
        record.response_status = status
        body = response.get_data(as_text=True)
        record.response_body = ENCRYPTED_BODY + encrypt(body.encode()) if sensitive else body
        record.response_headers = {
            name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers
        }
        db.session.commit()
        return response

    return wrapper
