from __future__ import annotations

# The browser tests here drive the admin with the same headless Chromium as tests/browser.
from tests.browser.conftest import chromium, new_page  # noqa: E402, F401
