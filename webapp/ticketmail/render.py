"""Ticket emails from the admin's templates: Jinja in a sandbox, fed plain values only.

The templates are written by an admin, but a template is code: the immutable sandbox refuses
attribute tricks (``__class__``, ``mro``...) and changes to what it is given, and the context is
built from plain dicts and strings, so no template can reach our rows, the session or the app.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from webapp.money import format_money

DEFAULT_SUBJECT = (
    "{{ event_label }}: {{ order.title }} {{ order.number }} for {{ organization.name }}"
)
DEFAULT_BODY = """{{ event_label }}: {{ order.title }} {{ order.number }}
{% if detail %}{{ detail }}
{% endif %}
Customer: {{ organization.name }}
Contact: {{ contact.name }} <{{ contact.email }}>
{%- if contact.phone %}, {{ contact.phone }}{% endif %}
Their PO: {{ order.customer_po or "—" }}
Status: {{ order.status }}
Payment: {{ order.payment_method }}

Ship to:
{{ order.ship_to }}

{% for line in order.lines -%}
{{ line.quantity }} × {{ line.description }} ({{ line.sku }}) — {{ line.amount }}
{% endfor %}
Shipping: {{ order.shipping_method }} {{ order.shipping_charge }}
Total: {{ order.total }}
{% if order.note %}
Note: {{ order.note }}
{% endif %}
Open it: {{ order.url }}
"""
MAX_TEMPLATE = 20_000
MAX_SUBJECT = 250

_env = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, trim_blocks=False, keep_trailing_newline=True
)


class TemplateRefused(ValueError):
    """A template that cannot be rendered; ``field`` names which one, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def reference(number: str) -> str:
    """The subject tag a PSA's mail parser can thread on (always in the subject)."""
    return f"[{number}]"


def _render(field: str, source: str, context: dict[str, Any]) -> str:
    if len(source) > MAX_TEMPLATE:
        raise TemplateRefused(field, f"longer than {MAX_TEMPLATE:,} characters.")
    try:
        return _env.from_string(source).render(context)
    except TemplateError as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise TemplateRefused(field, f"{exc.message or type(exc).__name__}{where}.") from None
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        # A template dividing by zero or indexing past a list fails like a bad template.
        raise TemplateRefused(field, f"{type(exc).__name__}: {exc}.") from None


def render(subject_template: str, body_template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Return the subject (one line, with the order's reference tag) and the body."""
    subject = " ".join(_render("Subject template", subject_template, context).split())
    tag = reference(context["order"]["number"])
    if tag not in subject:
        subject = f"{subject} {tag}".strip()
    if len(subject) > MAX_SUBJECT:
        subject = f"{subject[: MAX_SUBJECT - len(tag) - 2]}… {tag}"
    body = _render("Body template", body_template, context)
    if not body.strip():
        raise TemplateRefused("Body template", "it renders to nothing.")
    return subject, body


def _money(value: Decimal | None, currency: str) -> str:
    return format_money(value if value is not None else Decimal(0), currency)


def context(document, event: str, event_label: str, detail: str, url: str) -> dict[str, Any]:
    """The values a template sees, copied from the sales document into plain dicts."""
    currency = document.currency
    contact = document.contact
    address = [
        document.ship_to_name,
        document.address_line1,
        document.address_line2,
        " ".join(p for p in (document.city, document.region, document.postcode) if p),
        document.country,
    ]
    return {
        "event": event,
        "event_label": event_label,
        "detail": detail,
        "reference": reference(document.number),
        "organization": {"name": document.organization.name},
        "contact": {
            "name": contact.name if contact else "",
            "email": contact.email if contact else "",
            "phone": (contact.phone or "") if contact else "",
        },
        "order": {
            "number": document.number,
            "title": document.title,
            "status": document.status.label,
            "created": document.created_at.strftime("%d %b %Y"),
            "customer_po": document.customer_po or "",
            "payment_method": document.payment_method.label,
            "ship_to": "\n".join(p for p in address if p),
            "shipping_method": document.shipping_method_name,
            "shipping_charge": _money(document.shipping_charge, currency),
            "subtotal": _money(document.subtotal, currency),
            "tax": _money(document.tax_total, currency),
            "total": _money(document.total, currency),
            "currency": currency,
            "note": document.note or "",
            "url": url,
            "lines": [
                {
                    "position": line.position,
                    "sku": line.sku,
                    "description": line.description,
                    "quantity": line.quantity,
                    "unit_price": _money(line.unit_price, currency),
                    "amount": _money(line.line_subtotal, currency),
                }
                for line in document.lines
            ],
        },
    }
