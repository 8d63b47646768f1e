"""Store reads used by templates on every page."""

from __future__ import annotations

from collections.abc import Mapping

from flask_login import current_user
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from webapp import jobs, request_cache
from webapp.extensions import db
from webapp.store.models import Cart, CartLine

# The badge count is cached per user with the versions it was counted at: the user's cart
# version, moved by every commit that changed their cart, and the epoch, moved by a change
# whose owner cannot be told (a bulk UPDATE). A count read before a change and written after
# it carries the old version, so it is never taken for the current one.
_EPOCH_KEY = "cart-count:epoch"
_COUNT_SECONDS = 300
_CHANGED_KEY = "cart_count_changed"  # session.info: user ids (or None: anyone) changed


def _count_key(user_id: int) -> str:
    return f"cart-count:user:{user_id}"


def _version_key(user_id: int) -> str:
    return f"cart-count:version:{user_id}"


def _versions(get, user_id: int) -> str:
    return f"{int(get(_EPOCH_KEY) or 0)}:{int(get(_version_key(user_id)) or 0)}"


def cart_badge_count() -> int:
    """Items in the signed-in customer's cart (0 for staff and visitors)."""
    if not current_user.is_authenticated or current_user.organization_id is None:
        return 0
    user_id = current_user.id
    if _changed_in_this_transaction(user_id):
        return _count(user_id)  # read our own uncommitted change, as the query always did
    # The versions are read before the count (with the request's other keys).
    versions = _versions(request_cache.get, user_id)
    count = _current_count(request_cache.get(_count_key(user_id)), versions)
    if count is not None:
        return count
    count = _count(user_id)
    jobs.redis_conn().set(_count_key(user_id), f"{versions}:{count}", ex=_COUNT_SECONDS)
    request_cache.remember(_count_key(user_id), f"{versions}:{count}")
    return count


def count_in(
    values: Mapping[str, bytes | None], user_id: int, organization_id: int | None
) -> int | None:
    """The badge count among values read for a request (None: not cached or out of date)."""
    if organization_id is None:
        return 0  # staff: no cart
    return _current_count(values.get(_count_key(user_id)), _versions(values.get, user_id))


def _current_count(cached: bytes | None, versions: str) -> int | None:
    if cached is None:
        return None
    counted_at, _, count = cached.decode().rpartition(":")
    return int(count) if counted_at == versions else None


@request_cache.provides("cart-count:")
def _keys(user_id: int | None) -> list[str]:
    if user_id is None:
        return [_EPOCH_KEY]
    return [_count_key(user_id), _EPOCH_KEY, _version_key(user_id)]


def _count(user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(CartLine.quantity), 0))
            .join(Cart, Cart.id == CartLine.cart_id)
            .where(Cart.user_id == user_id)
        )
        or 0
    )


def _changed_in_this_transaction(user_id: int) -> bool:
    session = db.session()
    changed = session.info.get(_CHANGED_KEY)
    if changed is not None and (None in changed or user_id in changed):
        return True
    return any(
        isinstance(row, Cart | CartLine) for row in (*session.new, *session.dirty, *session.deleted)
    )


def _forget(user_ids: frozenset[int | None]) -> None:
    keys = [_version_key(user_id) for user_id in user_ids if user_id is not None]
    if None in user_ids:
        keys.append(_EPOCH_KEY)
    with jobs.redis_conn().pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.incr(key)
        pipe.execute()
    request_cache.forget(*keys)


def _note_changed(session: Session, user_ids: set[int | None]) -> None:
    changed = session.info.setdefault(_CHANGED_KEY, set())
    changed |= user_ids


@event.listens_for(Session, "after_flush")
def _carts_flushed(session: Session, _context) -> None:
    owners: set[int | None] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, Cart):
            owners.add(row.user_id)
        elif isinstance(row, CartLine):
            cart = session.identity_map.get(identity_key(Cart, row.cart_id))
            owners.add(cart.user_id if cart is not None else None)
    if owners:
        _note_changed(session, owners)


@event.listens_for(Session, "do_orm_execute")
def _carts_bulk_changed(state) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in (Cart, CartLine) for mapper in state.all_mappers
    ):
        _note_changed(state.session, {None})


@event.listens_for(Session, "after_commit")
def _drop_changed_counts(session: Session) -> None:
    changed = session.info.pop(_CHANGED_KEY, None)
    if changed:
        _forget(frozenset(changed))


@event.listens_for(Session, "after_rollback")
def _keep_counts(session: Session) -> None:
    session.info.pop(_CHANGED_KEY, None)
