"""Two app instances (separate instance folders, so separate search indexes) over one database
and one Redis: what an import on one commits, the other finds (issue 12, several machines)."""

from pathlib import Path

import pytest
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from tests.conftest import CsrfClient, _make_app, isolated
from tests.factories import (
    PASSWORD,
    make_brand,
    make_category,
    make_organization,
    make_product,
    make_supplier,
    make_user,
)
from webapp.catalog import feeds, search, search_sync
from webapp.catalog.models import SearchIndexChange
from webapp.extensions import db

HEADER = "sku,mpn,brand,name,category,cost,stock,eta_days\n"


@pytest.fixture
def other_node(_schema, redis_url, tmp_path, smtp_server, app):
    node = _make_app(_schema, redis_url, tmp_path / "other-node", smtp_server[0])
    node.add_url_rule("/__test__/csrf", "test_csrf", lambda: generate_csrf())
    node.test_client_class = CsrfClient
    yield node

    def dispose():
        with node.app_context():
            db.engine.dispose()

    isolated(dispose)


def _import(supplier, tmp_path: Path, rows: str, name: str):
    path = tmp_path / name
    path.write_text(HEADER + rows)
    run = feeds.create_run(supplier, path, path.name, actor_id=None)
    db.session.commit()
    return feeds.execute(run.id)


def _search_page(node, user, text: str) -> str:
    """A signed-in customer's search on `node`, as a request there would run (own context)."""
    email = user.email

    def request() -> str:
        client = node.test_client()
        signed_in = client.post("/login", data={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 302
        response = client.get(f"/search?q={text}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return isolated(request)


def _on(node, func):
    """Run `func` in an app context of `node` only."""

    def run():
        with node.app_context():
            return func()

    return isolated(run)


def test_an_import_on_one_node_is_found_on_the_other(
    app, other_node, tmp_path, run_jobs, monkeypatch
):
    # Each search looks at the log, not once a second: the test does not wait.
    monkeypatch.setattr(search_sync, "_CHECK_EVERY_SECONDS", 0.0)
    make_category("Laptops")
    supplier = make_supplier("ingram")
    customer = make_user(organization=make_organization("Contoso"))
    db.session.commit()
    assert app.config["SEARCH_INDEX_DIR"] != other_node.config["SEARCH_INDEX_DIR"]

    _import(supplier, tmp_path, "I-1,T14Z,Lenovo,ThinkPad Zebra Edition,Laptops,10,5,1\n", "a.csv")
    run_jobs()  # the worker of this node brings this node's index up to date
    assert search.search("zebra").total == 1

    # The other node has never indexed anything: its first search builds its index.
    assert "ThinkPad Zebra Edition" in _search_page(other_node, customer, "zebra")

    # A second import: the other node applies just that change, from the database.
    _import(
        supplier,
        tmp_path,
        "I-1,T14Z,Lenovo,ThinkPad Zebra Edition,Laptops,10,5,1\n"
        "I-2,X1OK,Lenovo,ThinkPad Okapi Carbon,Laptops,20,5,1\n",
        "b.csv",
    )
    assert _on(other_node, lambda: search.search("okapi").total) == 0  # not applied there yet
    assert _on(other_node, search_sync.sync) == 2  # the two products the import touched
    assert _on(other_node, lambda: search.search("okapi").total) == 1
    assert _on(other_node, search_sync.sync) == 0  # nothing new
    assert "ThinkPad Okapi Carbon" in _search_page(other_node, customer, "okapi")


def test_a_change_committed_after_a_later_one_is_still_applied(app):
    """Ids come from a sequence: a transaction holding a lower id can commit after the node
    has applied a higher one. The node looks below its highest id until the rows settle."""
    category, brand = make_category("Laptops"), make_brand("Lenovo")
    first = make_product(name="ThinkPad Quokka", category=category, brand=brand)
    db.session.add(SearchIndexChange(id=10, product_ids=[first.id]))
    db.session.commit()
    search_sync.sync()
    assert search.search("quokka").total == 1

    late = make_product(name="ThinkPad Wombat", category=category, brand=brand)
    db.session.add(SearchIndexChange(id=7, product_ids=[late.id]))  # the slower transaction
    db.session.commit()
    assert search_sync.sync() == 1
    assert search.search("wombat").total == 1


def test_change_rows_are_kept_two_days_then_pruned(app):
    from datetime import timedelta

    from webapp.models_base import utcnow

    db.session.add(SearchIndexChange(product_ids=[1], created_at=utcnow() - timedelta(days=3)))
    db.session.add(SearchIndexChange(product_ids=[2], created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert search_sync.prune() == 1
    db.session.commit()
    assert db.session.scalars(select(SearchIndexChange.product_ids)).all() == [[2]]
