"""Render a Jinja template to PDF with WeasyPrint (quotes, purchase orders)."""

from __future__ import annotations

from flask import current_app, render_template


def render_pdf(template: str, **context) -> bytes:
    """Render `template` (an HTML page meant for print) and return the PDF bytes."""
    from weasyprint import HTML  # imported on use: it loads Pango, which takes a moment

    html = render_template(template, **context)
    # base_url lets the template use relative static paths; nothing is fetched over the network.
    return HTML(string=html, base_url=current_app.static_folder).write_pdf()
