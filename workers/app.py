"""The Flask application a worker process runs jobs in."""

from __future__ import annotations

import os
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


def get_app() -> Flask:
    global _app
    if _app is None:
        from webapp import create_app
        from webapp.extensions import db

        _app = create_app()
        with _app.app_context():
            engine = db.engine
        # A forked job must not share the parent's database connections.
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return _app


@contextmanager
def job_context():
    """Run inside the caller's app context (tests, CLI) or the worker's own."""
    if has_app_context():
        yield current_app
        return
    app = get_app()
    with app.app_context():
        yield app
