"""Who may open what: decorators for staff roles and for customers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from webapp.auth.models import Role


def staff_required(*roles: Role) -> Callable:
    """Allow signed-in staff; with `roles`, only those roles (admins always pass)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.is_staff:
                abort(404)  # customers must not learn the admin exists
            if roles and current_user.role is not Role.ADMIN and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def customer_required(view: Callable) -> Callable:
    """Allow signed-in contacts of a client organization."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.organization_id is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
