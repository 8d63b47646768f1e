"""The base of every refused quote action (operations and the builder's version check)."""

from __future__ import annotations


class QuoteError(Exception):
    """A refused quote action; `message` is for people, `status` the HTTP status."""

    status = 422

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
