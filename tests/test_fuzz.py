"""Hostile input on every route: no 5xx, and a refused write changes nothing.

Every rule of the URL map is tried, anonymously and as each role, with hostile strings and
numbers (Hypothesis) in its path, its query string and the fields of the forms that post to
it (read from the pages themselves, so a new form is fuzzed without listing it here). The
data are a small store with an order, a sent quote, a purchase order and its receipt, so that
the ids in paths reach real records.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.factories import login
from webapp.extensions import db

# What people and scripts type: numbers out of range or in other scripts, dates that do not
# exist, markup, control characters, very long text, template and formula syntax.
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "-0",
    "1e30",
    "1E+400",
    "NaN",
    "Infinity",
    "-Infinity",
    "9" * 29,
    "0.00004",
    "1,5",
    "12.345.678",
    "١٢٣",
    "９９",
    str(2**63),
    str(-(2**31) - 1),
    "9999-12-31",
    "0000-00-00",
    "2026-02-30",
    "31/12/2026",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "a\x00b",
    "line\nbreak",
    "\r\n\r\n",
    "x" * 5000,
    "{{ 7*7 }}",
    '=HYPERLINK("http://x")',
    "__CSRF_TOKEN__",
    "../../etc/passwd",
    "%00",
    "🙂" * 10,
    "true",
    "[]",
    "{}",
    "on",
    "https://evil.example/",
    "//evil.example",
]
hostile = st.sampled_from(HOSTILE) | st.text(max_size=40)
# Path ids: real records (1-3), none, negatives are not routed, and beyond the integer.
ids = st.sampled_from([1, 2, 3, 0, 999999, 2**31 + 7, 2**63 + 1])
QUERY_NAMES = [
    "q", "page", "sort", "status", "next", "block", "connection", "date_from", "date_to",
    "kind", "supplier", "organization", "category", "cursor", "per_page",
]  # fmt: skip
SKIP = {
    "static",
    "reports_admin.static",  # files on disk, Flask's own handler
    "auth.logout",  # would end the session the next requests use
}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))  # more: FUZZ_EXAMPLES=50 make test


@pytest.fixture
def scene(store, app):
    """The store, plus an order, a sent quote and a received purchase order (ids 1)."""
    from tests.accounting.builders import make_document, make_receipt
    from tests.quotes.conftest import build_quote, send

    make_document(store.org, store.customer, store.products[:2])
    make_receipt(store.supplier, store.products[:1], invoice_number="FUZZ-1")
    quote = build_quote(store)
    send(quote)
    db.session.commit()
    return store


def _fingerprint() -> dict[str, int]:
    """Row counts of every table: a refused request must leave them as they were."""
    counts = {}
    for table in db.metadata.sorted_tables:
        if table.name in ("queued_jobs", "outbound_emails", "login_attempts", "security_events"):
            continue  # bookkeeping a refused request may legitimately write (a refusal's event)
        counts[table.name] = db.session.execute(select(func.count()).select_from(table)).scalar()
    return counts


_FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.I)
_FORM = re.compile(r'<form\b[^>]*\baction="([^"]+)"[^>]*>(.*?)</form>', re.I | re.S)
_HX_POST = re.compile(r'\bhx-post="([^"]+)"', re.I)


def _forms(client, app) -> dict[str, set[str]]:
    """Map each path that forms post to onto the field names they send (read from pages)."""
    fields: dict[str, set[str]] = defaultdict(set)
    for rule in app.url_map.iter_rules():
        ints = all(type(c).__name__.endswith("IntConverter") for c in rule._converters.values())
        if "GET" not in rule.methods or not ints or rule.endpoint in SKIP:
            continue
        url = rule.build({a: 1 for a in rule.arguments}, append_unknown=False)[1]
        page = client.get(url)
        if page.status_code != 200 or not page.mimetype.startswith("text/html"):
            continue
        html = page.get_data(as_text=True)
        for action, body in _FORM.findall(html):
            fields[action.split("?")[0]].update(
                n for n in _FIELD.findall(body) if n != "csrf_token"
            )
        for action in _HX_POST.findall(html):
            fields[action.split("?")[0]].update({"quantity", "product_id", "value"})
    return fields


def _path(rule, drawn: dict) -> str | None:
    try:
        return rule.build(drawn, append_unknown=False)[1]
    except Exception:  # noqa: BLE001 - e.g. a hostile string a converter does not route
        return None


def _fuzz_rule(client, rule, fields: set[str], failures: list[str]) -> None:
    args = {}
    for name, converter in rule._converters.items():
        args[name] = ids if type(converter).__name__.endswith("IntConverter") else hostile
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    form_names = sorted(fields) or ["name", "quantity", "price", "note"]

    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(
        path=st.fixed_dictionaries(args),
        query=st.dictionaries(st.sampled_from(QUERY_NAMES), hostile, max_size=3),
        form=st.fixed_dictionaries({n: hostile for n in form_names}),
        method=st.sampled_from(methods),
    )
    def attempt(path, query, form, method):
        url = _path(rule, path)
        if url is None:
            return
        sent = form if method != "GET" else query
        before = after = None
        try:
            if method == "GET":
                response = client.get(url, query_string=query)
            else:
                before = _fingerprint()
                response = client.open(url, method=method, data=form, query_string=query)
                db.session.rollback()
                after = _fingerprint()
        except Exception as exc:  # noqa: BLE001 - TESTING re-raises what would be a 500
            db.session.rollback()
            failures.append(
                f"{method} {url} {sent!r:.300} raised {type(exc).__name__}: {exc!s:.300}"
            )
            return
        if response.status_code >= 500:
            failures.append(f"{method} {url} {sent!r:.300} -> {response.status_code}")
        elif before is not None and 400 <= response.status_code < 500 and before != after:
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            failures.append(f"{method} {url} refused with {response.status_code} "
                            f"but changed {changed}")  # fmt: skip

    attempt()


@pytest.mark.parametrize("role", ["anonymous", "customer", "sales", "purchasing", "admin"])
def test_hostile_input_on_every_route_gives_no_server_error(app, client, scene, role):
    admin = app.test_client()
    login(admin, scene.admin)
    fields = _forms(admin, app)
    if role != "anonymous":
        login(client, getattr(scene, role))
    failures: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIP or rule.endpoint.startswith("__test__"):
            continue
        _fuzz_rule(client, rule, fields.get(re.sub(r"<[^>]+>", "1", rule.rule), set()), failures)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])
