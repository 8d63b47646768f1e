"""Read and change admin settings."""

from __future__ import annotations

from webapp.auth.models import User
from webapp.extensions import db
from webapp.models_base import utcnow
from webapp.settings.models import Setting
from webapp.settings.registry import SETTINGS, InvalidSetting


def get_setting(key: str):
    """Return a setting's typed value, or its default when never set."""
    spec = SETTINGS[key]
    row = db.session.get(Setting, key)
    return spec.default if row is None else spec.parse(row.value)


def setting_row(key: str) -> Setting | None:
    return db.session.get(Setting, key)


def set_setting(key: str, raw_value: object, actor: User) -> object:
    """Validate and store a setting, recording who changed it and when."""
    spec = SETTINGS.get(key)
    if spec is None:
        raise InvalidSetting(f"unknown setting {key!r}")
    value = spec.parse(raw_value)
    row = db.session.get(Setting, key) or Setting(key=key)
    row.value = spec.dump(value)
    row.updated_by = actor
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.flush()
    return value
