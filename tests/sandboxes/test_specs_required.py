"""Without ../shared/specs a user's clone skips the sandbox tests; CI (CI=true) fails them."""

from __future__ import annotations

import pytest

from tests.sandboxes import specs


@pytest.fixture
def no_specs(monkeypatch, tmp_path):
    monkeypatch.setenv("SHARED_SPECS_DIR", str(tmp_path))  # an empty directory: no specs


def test_a_missing_spec_skips_outside_ci(monkeypatch, no_specs):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="specs not found"):
        specs.require_specs()


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_a_missing_spec_fails_in_ci(monkeypatch, no_specs, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true: a missing spec is a failure"):
        specs.require_specs()


def test_present_specs_are_found_in_ci(monkeypatch):
    if specs.specs_dir() is None:
        pytest.skip(specs.SKIP_REASON)
    monkeypatch.setenv("CI", "true")
    assert specs.require_specs() == specs.specs_dir()
