"""Every admin setting: its type, default and validation, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from webapp.sales.models import DocumentKind


class InvalidSetting(ValueError):
    """A value that the setting does not accept; the message is for people."""


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    default: object
    parse: Callable[[object], object]
    dump: Callable[[object], object] = lambda value: value


def _document_kind(value: object) -> DocumentKind:
    try:
        return DocumentKind(value)
    except ValueError:
        choices = ", ".join(kind.value for kind in DocumentKind)
        raise InvalidSetting(f"must be one of {choices}") from None


def _percent(value: object) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidSetting("must be a number") from None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        raise InvalidSetting("must be between 0 and 100")
    return number.quantize(Decimal("0.001"))


SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in [
        SettingSpec(
            "display_document_as",
            "Display document as",
            DocumentKind.SALES_ORDER,
            _document_kind,
            lambda kind: kind.value,
        ),
        SettingSpec(
            "card_surcharge_pct", "Card payment surcharge (%)", Decimal("1.5"), _percent, str
        ),
        SettingSpec("default_markup_pct", "Default markup (%)", Decimal("15"), _percent, str),
        # --- quoting ---
        # --- purchasing ---
        # --- accounting ---
    ]
}
