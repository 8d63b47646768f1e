"""Every admin setting: its type, default and validation, in one place."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from webapp.parsing import InputRefused, bounded_decimal, whole_number


class DocumentKind(enum.StrEnum):
    """How a sales document is presented: decided by the *Display document as* setting."""

    SALES_ORDER = "sales_order"
    TAX_INVOICE = "tax_invoice"

    @property
    def title(self) -> str:
        return {"sales_order": "Sales Order", "tax_invoice": "Tax Invoice"}[self.value]

    @property
    def prefix(self) -> str:
        return {"sales_order": "SO", "tax_invoice": "INV"}[self.value]


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
        return bounded_decimal(
            value, places=3, minimum=Decimal(0), maximum=Decimal(100), what="a percentage"
        )
    except InputRefused as refused:
        raise InvalidSetting(str(refused)) from None


# --- purchasing parsers ---
def _choice(*choices: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = str(value).strip()
        if text not in choices:
            raise InvalidSetting(f"must be one of {', '.join(choices)}")
        return text

    return parse


def _flag(value: object) -> bool:
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"", "0", "false", "no", "off"}:
        return False
    raise InvalidSetting("must be on or off")


def _optional_email(value: object) -> str:
    text = str(value).strip()
    if text and (len(text) > 254 or text.count("@") != 1 or "." not in text.partition("@")[2]):
        raise InvalidSetting("must be an email address, or empty")
    return text


def _text(max_length: int, *, multiline: bool = False) -> Callable[[object], str]:
    """Free text (a name, an address), stripped; one line unless ``multiline``."""

    def parse(value: object) -> str:
        text = str(value).replace("\r\n", "\n").strip()
        if not multiline:
            text = " ".join(text.split())
        if len(text) > max_length:
            raise InvalidSetting(f"must be at most {max_length} characters")
        if "\x00" in text:
            raise InvalidSetting("must not hold a NUL character")
        return text

    return parse


def _int_between(low: int, high: int) -> Callable[[object], int]:
    def parse(value: object) -> int:
        number = whole_number(value, minimum=low, maximum=high)
        if number is None:
            raise InvalidSetting(f"must be a whole number from {low} to {high}")
        return number

    return parse


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
        # --- the seller, as a tax invoice names it ---
        SettingSpec("seller_legal_name", "Seller's legal name", "", _text(200)),
        SettingSpec("seller_tax_number", "Business / tax number (ABN, VAT, EIN…)", "", _text(60)),
        SettingSpec("seller_address", "Seller's address", "", _text(500, multiline=True)),
        SettingSpec(
            "payment_details",
            "Payment details (bank, account, how to pay)",
            "",
            _text(1000, multiline=True),
        ),
        SettingSpec(
            "customer_payment_terms_days",
            "Customer payment terms (days after the invoice date)",
            30,
            _int_between(0, 365),
        ),
        # --- quoting ---
        SettingSpec(
            # The margin guard holds a quote's sales document when costs rose below this.
            "quote_margin_floor_pct",
            "Margin floor for accepted quotes (%)",
            Decimal("10"),
            _percent,
            str,
        ),
        # --- purchasing ---
        # "supplier": POs are emailed to the supplier and marked issued at once;
        # "suggestions": POs wait as drafts for the purchasing officer to review and issue.
        SettingSpec(
            "purchasing_issue_mode",
            "Purchase orders",
            "suggestions",
            _choice("supplier", "suggestions"),
        ),
        SettingSpec(
            "purchasing_merge_drafts",
            "Merge demand into one draft PO per supplier",
            True,
            _flag,
            lambda on: "on" if on else "off",
        ),
        SettingSpec(
            "purchasing_allow_split",
            "Split a line across suppliers when one has too little stock",
            True,
            _flag,
            lambda on: "on" if on else "off",
        ),
        SettingSpec("purchasing_officer_email", "Purchasing officer email", "", _optional_email),
        SettingSpec(
            "supplier_payment_terms_days",
            "Supplier payment terms (days after invoice date)",
            30,
            _int_between(0, 365),
        ),
        # --- accounting ---
    ]
}
