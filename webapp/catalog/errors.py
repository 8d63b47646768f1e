"""The refusal every staff catalog write raises."""

from __future__ import annotations


class CatalogError(ValueError):
    """A refused catalog change; the message is for people, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
