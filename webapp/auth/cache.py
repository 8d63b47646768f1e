"""The signed-in user between requests, from Redis: a cached page then needs no database.

A snapshot of the user's row and of their organization's is kept under the user id together
with the versions it was read at: the user's own version, which every committed change to
that user bumps (a sign-in, a new role, deactivation), and the identity epoch, which every
committed change to an organization or price group bumps, and any ORM bulk UPDATE/DELETE of
users (whose rows cannot be told). So a change counts from the next request, in every
process, while one customer signing in leaves everyone else's snapshot alone. A short
expiry covers changes made behind the ORM's back (raw SQL).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from flask import Flask
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from webapp import jobs, request_cache
from webapp.auth.models import User
from webapp.extensions import db
from webapp.local_cache import local_cache, peek
from webapp.organizations.models import Organization, PriceGroup

_EPOCH_KEY = "identity:epoch"
_SNAPSHOT_SECONDS = 300
# Never copied to Redis: loaded from the database on the rare page that needs it.
_PRIVATE = frozenset({"password_hash"})
_WATCHED = (User, Organization, PriceGroup)
_CHANGED_USERS = "identity_changed_users"  # session.info: ids of users changed, not committed


def _snapshot_key(user_id: int) -> str:
    return f"identity:user:{user_id}"


def _version_key(user_id: int) -> str:
    return f"identity:user-version:{user_id}"


@request_cache.provides("identity:")
def _keys(user_id: int | None) -> list[str]:
    if user_id is None:
        return [_EPOCH_KEY]
    return [_snapshot_key(user_id), _EPOCH_KEY, _version_key(user_id)]


def _versions(get: Callable[[str], bytes | None], user_id: int) -> tuple[int, int]:
    return int(get(_EPOCH_KEY) or 0), int(get(_version_key(user_id)) or 0)


def load_user(user_id: int) -> User | None:
    """Return the user (with their organization) from the snapshot, or from the database."""
    found = db.session.identity_map.get(identity_key(User, user_id))
    if found is not None:
        return found
    # One round trip for this and for whatever else the page will check in Redis.
    request_cache.prefetch(user_id)
    raw = request_cache.get(_snapshot_key(user_id))
    epoch, version = _versions(request_cache.get, user_id)
    if raw is not None:
        snapshot = _decoded(raw)
        if (snapshot["epoch"], snapshot.get("version")) == (epoch, version):
            return _restore(snapshot)
    # Read after the versions: a change committed meanwhile moves them past those stored here.
    user = db.session.scalar(
        select(User).options(joinedload(User.organization)).where(User.id == user_id)
    )
    if user is not None:
        snapshot = {
            "epoch": epoch,
            "version": version,
            "user": _dump(user),
            "organization": _dump(user.organization) if user.organization else None,
        }
        raw = json.dumps(snapshot)
        jobs.redis_conn().set(_snapshot_key(user_id), raw, ex=_SNAPSHOT_SECONDS)
        request_cache.remember(_snapshot_key(user_id), raw)
        _decoded(raw.encode())  # as the next request will find it
    return user


def _dump(row) -> dict:
    values = {}
    for attr in inspect(type(row)).column_attrs:
        if attr.key in _PRIVATE:
            continue
        value = getattr(row, attr.key)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Decimal):
            value = str(value)
        values[attr.key] = value
    return values


def _load(cls, values: dict):
    """Rebuild a row as if just loaded by a query: persistent, unmodified, in the session."""
    found = db.session.identity_map.get(identity_key(cls, values["id"]))
    if found is not None:
        return found
    # As the ORM's own loading does: fill the instance's dict directly, without the
    # attribute events of the constructor (several times slower). Columns absent from the
    # snapshot stay unloaded: read from the database if touched.
    row = inspect(cls).class_manager.new_instance()
    row.__dict__.update(values)  # the values are immutable: shared between requests
    make_transient_to_detached(row)
    db.session.add(row)
    return row


_converters: dict = {}


def _column_types(mapper) -> list[tuple[str, Callable | None]]:
    """Each column attribute with the conversion of its JSON value back (None: as is)."""
    found = _converters.get(mapper)
    if found is None:
        found = []
        for attr in mapper.column_attrs:
            python_type = attr.columns[0].type.python_type
            if python_type is datetime:
                convert = datetime.fromisoformat
            elif issubclass(python_type, enum.Enum | Decimal):
                convert = python_type
            elif python_type in (int, str, bool):
                convert = None
            else:  # a mutable value (JSON) would be shared between requests
                raise TypeError(
                    f"{mapper.class_.__name__}.{attr.key}: no snapshot for {python_type}"
                )
            found.append((attr.key, convert))
        _converters[mapper] = found
    return found


def _typed(cls, values: dict) -> dict:
    typed = {}
    for key, convert in _column_types(inspect(cls)):
        if key in values:
            value = values[key]
            typed[key] = value if value is None or convert is None else convert(value)
    return typed


def snapshot_in(app: Flask, values: Mapping[str, bytes | None], user_id: int) -> dict | None:
    """The user's current snapshot among values read for a request, if this process has
    decoded it already (no app context): {"user": {column: value}, "organization": ...}."""
    raw = values.get(_snapshot_key(user_id))
    if raw is None:
        return None
    snapshot = peek(app, "identity_snapshots", raw)
    if snapshot is None or (snapshot["epoch"], snapshot.get("version")) != _versions(
        values.get, user_id
    ):
        return None
    return snapshot


def _decoded(raw: bytes) -> dict:
    """The snapshot in `raw` with its values typed, decoded once per process."""
    snapshots = local_cache("identity_snapshots", 1024)
    snapshot = snapshots.get(raw)
    if snapshot is None:
        snapshot = json.loads(raw)
        snapshot["user"] = _typed(User, snapshot["user"])
        if snapshot["organization"] is not None:
            snapshot["organization"] = _typed(Organization, snapshot["organization"])
        snapshots.put(raw, snapshot)
    return snapshot


def _restore(snapshot: dict) -> User:
    user = _load(User, snapshot["user"])
    organization = None
    if snapshot["organization"] is not None:
        organization = _load(Organization, snapshot["organization"])
    # As a joined load would: loaded, unmodified, and held by the user (the identity map
    # alone keeps rows only weakly).
    set_committed_value(user, "organization", organization)
    return user


def bump_epoch() -> None:
    jobs.redis_conn().incr(_EPOCH_KEY)
    request_cache.forget(_EPOCH_KEY)


def _bump_changed_users() -> None:
    user_ids = db.session.info.pop(_CHANGED_USERS, set())
    if user_ids:
        keys = [_version_key(user_id) for user_id in sorted(user_ids)]
        with jobs.redis_conn().pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incr(key)
            pipe.execute()
        request_cache.forget(*keys)


@event.listens_for(Session, "after_flush")
def _identity_rows_flushed(session: Session, _context) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(row, _WATCHED) or (row in session.dirty and not session.is_modified(row)):
            continue
        if isinstance(row, User):
            session.info.setdefault(_CHANGED_USERS, set()).add(row.id)
            jobs.call_after_commit(_bump_changed_users)
        else:
            jobs.call_after_commit(bump_epoch)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED_USERS, None)


@event.listens_for(Session, "do_orm_execute")
def _identity_rows_bulk_changed(state) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in _WATCHED for mapper in state.all_mappers
    ):
        jobs.call_after_commit(bump_epoch)
