"""Browser fixtures: Debian's headless Chromium, driven by Playwright, against `live_server`.

The browser talks to the same `app` the test holds, served by a thread, with its own
database sessions: commit setup before driving the page, and expire the test's session
before reading what the browser did (`steps.reload_from_db`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask

from tests.browser.steps import sign_in
from tests.conftest import isolated
from tests.factories import Store
from webapp.auth.models import User
from webapp.extensions import db
from webapp.store.models import ShippingMethod

# Milliseconds. A broken page should fail in seconds, not wait for pytest to be killed.
DEFAULT_TIMEOUT_MS = 10_000
# Chromium's own launch can be slow on a cold CI machine; this is only for the launch.
LAUNCH_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often have a 64 MB /dev/shm, which crashes renderers; use /tmp instead.
    "--disable-dev-shm-usage",
]
NOT_INSTALLED = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"

# Chromium's console text for anything the Content-Security-Policy refused.
CSP_VIOLATION = "Content Security Policy"

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def chromium_executable() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Keep each phase's report on the item, so fixtures can tell whether the test failed.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="package")
def chromium():
    """One headless Chromium for the browser tests; each page gets its own context."""
    executable = chromium_executable()
    if executable is None:
        if os.environ.get("CI"):
            # In CI a skip would hide the whole browser suite; .ci/run must install it.
            pytest.fail(NOT_INSTALLED)
        pytest.skip(NOT_INSTALLED)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        # launch() starts Chromium on a fresh temporary profile (--user-data-dir) of its
        # own and deletes it on close; Playwright refuses a --user-data-dir in `args`.
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            timeout=LAUNCH_TIMEOUT_MS,
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_server, request) -> Iterator[Callable]:
    """Open pages in fresh browser contexts (own cookies), signed in as `user` if given."""
    # Uncaught JavaScript errors and 5xx responses fail the test: htmx would otherwise hide
    # a server error behind a toast. A failed test leaves each page's screenshot and HTML
    # under test-results/.
    opened = []
    problems: list[str] = []

    def open_page(user: User | None = None):
        context = chromium.new_context(
            base_url=live_server,
            viewport={"width": 1280, "height": 900},
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        page = context.new_page()
        name = f"{len(opened) + 1}-{user.email if user else 'visitor'}"
        page.on("pageerror", lambda error: problems.append(f"{name}: JavaScript error: {error}"))
        # Whatever the Content-Security-Policy blocks is a broken page (a style, a script
        # or an htmx eval that silently does nothing): Chromium reports it on the console.
        page.on(
            "console",
            lambda message: (
                problems.append(f"{name}: CSP violation: {message.text}")
                if CSP_VIOLATION in message.text
                else None
            ),
        )
        page.on(
            "response",
            lambda response: (
                problems.append(f"{name}: {response.status} from {response.url}")
                if response.status >= 500
                else None
            ),
        )
        opened.append((name, page))
        if user is not None:
            sign_in(page, user.email)
        return page

    yield open_page

    reports = request.node.stash.get(_REPORTS, {})
    failed = any(report.failed for report in reports.values())
    if failed or problems:
        _save_artifacts(request, opened, problems)
    for _name, page in opened:
        page.context.close()
    if problems and not failed:
        pytest.fail("The browser saw errors:\n" + "\n".join(problems))


def _save_artifacts(request, opened, problems: list[str]) -> None:
    from playwright.sync_api import Error as PlaywrightError

    folder = (
        Path(request.config.rootpath)
        / "test-results"
        / re.sub(r"[^\w.-]+", "-", request.node.nodeid).strip("-")
    )
    folder.mkdir(parents=True, exist_ok=True)
    for name, page in opened:
        try:
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            (folder / f"{name}.html").write_text(f"<!-- {page.url} -->\n{page.content()}")
        except PlaywrightError as error:  # a crashed page still leaves the others' artifacts
            (folder / f"{name}.error.txt").write_text(str(error))
    if problems:
        (folder / "problems.txt").write_text("\n".join(problems) + "\n")
    print(f"browser artifacts saved in {folder}")


def _reindex(app: Flask) -> int:
    from webapp.catalog.operations import reindex

    with app.app_context():
        return reindex()


@pytest.fixture
def shop(app, store) -> Store:
    """The `store` scene with a second shipping method and a named admin, and searchable."""
    db.session.add(ShippingMethod(name="Express", charge=Decimal("40.00"), position=2))
    store.admin.name = "Ada Admin"
    db.session.commit()
    # In its own session: reindex() expunges what it reads, which would detach the scene.
    assert isolated(_reindex, app) == len(store.products)
    return store
