"""The storefront app plus two pages that bound what any page of it can reach under the
same gunicorn: a signed-in page that only says "ok" (session, sign-in check, extensions),
and a page of the category page's size with no work at all behind it (response size)."""

from flask_login import login_required

from webapp import create_app

app = create_app()
_PAGE = "x" * 50_000  # about the size of a category page of 48 products


@app.get("/__bench__/signed-in")
@login_required
def signed_in_only():
    return "ok"


@app.get("/__bench__/page-size")
def page_size_only():
    return _PAGE
