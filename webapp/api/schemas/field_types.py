"""The field types the schemas share: amounts out as strings, amounts and feed text in."""

from __future__ import annotations

import re

from marshmallow import ValidationError, fields, validate


def Amount(**kwargs) -> fields.Decimal:  # noqa: N802 - reads as a field type
    """A Decimal amount as a JSON string ("1234.50"), never a float."""
    return fields.Decimal(
        as_string=True,
        metadata={"type": "string", "format": "decimal", "example": "1234.50"},
        **kwargs,
    )


def Nullable(field_cls, **kwargs):  # noqa: N802
    return field_cls(allow_none=True, **kwargs)


def Status(enum_cls):  # noqa: N802
    return fields.Enum(enum_cls, by_value=True)


TEXT = validate.Length(max=500)
MAX_AMOUNT = 10**9


def _amount_in_range(value) -> None:
    # A plain function, not validate.Range: apispec would print the bounds as strings.
    if not 0 <= value <= MAX_AMOUNT:
        raise ValidationError(f"Must be from 0 to {MAX_AMOUNT:,}.")
    if value.as_tuple().exponent < -4:
        raise ValidationError("At most 4 decimal places.")


_PLAIN_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")


class _AmountIn(fields.Decimal):
    """A Decimal field that takes text only as ASCII digits and a point: Decimal() itself
    reads "١٢٣" and "９９" as 123 and 99, and "1e3" as 1000 (issue 13)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not _PLAIN_AMOUNT.fullmatch(value.strip()):
            raise ValidationError('Write the amount with the digits 0-9 and a ".", e.g. "99.50".')
        return super()._deserialize(value, attr, data, **kwargs)


def MoneyIn(description: str = "", **kwargs) -> fields.Decimal:  # noqa: N802
    """An amount in a request: a string or number of at most 4 decimals, 0 to 1e9."""
    metadata = {
        "type": "string",
        "format": "decimal",
        "pattern": r"^[0-9]{1,10}(\.[0-9]{1,4})?$",
        "example": "99.50",
    }
    if description:
        metadata["description"] = description
    return _AmountIn(
        places=None, allow_nan=False, validate=_amount_in_range, metadata=metadata, **kwargs
    )


class FeedText(fields.String):
    """A feed field: text, or a number sent as JSON (written as the feed would write it)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


def feed_field(description: str = "", **kwargs) -> FeedText:
    metadata = {"description": description} if description else {}
    return FeedText(validate=validate.Length(max=5000), metadata=metadata, **kwargs)
