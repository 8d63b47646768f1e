"""Who may open what: decorators for staff roles and for customers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from webapp.auth.models import Role
from webapp.security import log_event


def current_actor():
    """The signed-in user itself (not the proxy), as operations take their acting user."""
    return current_user._get_current_object()


def _refuse(status: int, reason: str) -> None:
    log_event(
        "access.denied",
        level=logging.WARNING,
        user_id=current_user.id,
        role=current_user.role.value,
        reason=reason,
    )
    abort(status)


def staff_required(*roles: Role) -> Callable:
    """Allow signed-in staff; with `roles`, only those roles (admins always pass)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.is_staff:
                _refuse(404, "staff_only")  # customers must not learn the admin exists
            if roles and current_user.role is not Role.ADMIN and current_user.role not in roles:
                _refuse(403, "role")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def customer_required(view: Callable) -> Callable:
    """Allow signed-in contacts of a client organization."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.organization_id is None:
            _refuse(403, "customers_only")
        return view(*args, **kwargs)

    return wrapped
