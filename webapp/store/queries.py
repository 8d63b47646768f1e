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

# The badge count is cached per user and dropped after a commit that changed their cart; a
# change whose owner cannot be told (a bulk UPDATE) moves the epoch and drops them all.
_EPOCH_KEY = "cart-count:epoch"
_COUNT_SECONDS = 300
_CHANGED_KEY = "cart_count_changed"  # session.info: user ids (or None: anyone) changed


def _count_key(user_id: int) -> str:
    return f"cart-count:user:{user_id}"


def cart_badge_count() -> int:
    """Items in the signed-in customer's cart (0 for staff and visitors)."""
    if not current_user.is_authenticated or current_user.organization_id is None:
        return 0
    user_id = current_user.id
    if _changed_in_this_transaction(user_id):
        return _count(user_id)  # read our own uncommitted change, as the query always did
    epoch = int(request_cache.get(_EPOCH_KEY) or 0)
    count = _current_count(request_cache.get(_count_key(user_id)), epoch)
    if count is not None:
        return count
    count = _count(user_id)
    jobs.redis_conn().set(_count_key(user_id), f"{epoch}:{count}", ex=_COUNT_SECONDS)
    request_cache.remember(_count_key(user_id), f"{epoch}:{count}")
    return count


def count_in(
    values: Mapping[str, bytes | None], user_id: int, organization_id: int | None
) -> int | None:
    """The badge count among values read for a request (None: not cached or out of date)."""
    if organization_id is None:
        return 0  # staff: no cart
    return _current_count(values.get(_count_key(user_id)), int(values.get(_EPOCH_KEY) or 0))


def _current_count(cached: bytes | None, epoch: int) -> int | None:
    if cached is None:
        return None
    cached_epoch, _, count = cached.decode().partition(":")
    return int(count) if int(cached_epoch) == epoch else None


@request_cache.provides("cart-count:")
def _keys(user_id: int | None) -> list[str]:
    return [_EPOCH_KEY] if user_id is None else [_count_key(user_id), _EPOCH_KEY]


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
    redis = jobs.redis_conn()
    if None in user_ids:
        redis.incr(_EPOCH_KEY)
    keys = [_count_key(user_id) for user_id in user_ids if user_id is not None]
    if keys:
        redis.delete(*keys)
    request_cache.forget(_EPOCH_KEY, *keys)


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
