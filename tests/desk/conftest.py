"""The sales desk's browser test drives the admin with tests/browser's Chromium."""

from tests.browser.conftest import chromium, new_page, shop  # noqa: F401
