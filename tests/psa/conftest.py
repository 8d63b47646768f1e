"""PSA fixtures. Autotask: a connected sandbox with the opportunity settings (``autotask``), with
the quote item settings too (``quoting``), and with tickets switched on (``ticketing``).
ConnectWise: a company connected and configured (``cw``)."""

import pytest

from tests.psa.test_connectwise_connect import connect as connect_connectwise
from tests.sandboxes.fixtures import (  # noqa: F401 - fixtures
    autotask_sandbox,
    autotask_sandbox_factory,
    connectwise_sandbox,
    connectwise_sandbox_factory,
)
from webapp.extensions import db
from webapp.psa import operations
from webapp.psa.connectwise import operations as cw_operations


@pytest.fixture
def autotask(app, store, autotask_sandbox, run_jobs):  # noqa: F811 - the fixture above
    app.config["AUTOTASK_ZONE_URL"] = autotask_sandbox.global_url
    app.config["AUTOTASK_API_BASE"] = ""
    from tests.psa.test_autotask_connect import connect
    from tests.psa.test_autotask_opportunities import SETTINGS

    connection = connect(autotask_sandbox)
    run_jobs()  # the picklists
    db.session.refresh(connection)
    operations.save_opportunity_options(connection, enabled=True, probability=40, choices=SETTINGS)
    store.org.phone = "555-0199"
    db.session.commit()
    autotask_sandbox.connection = connection
    return autotask_sandbox


@pytest.fixture
def quoting(autotask):
    from tests.psa.test_autotask_quotes import ITEMS

    operations.save_item_options(autotask.connection, choices=ITEMS, title="")
    db.session.commit()
    return autotask


@pytest.fixture
def ticketing(autotask):
    from tests.psa.test_autotask_quotes import ITEMS

    operations.save_item_options(
        autotask.connection, choices=ITEMS, title="SO {number} / {po}", tickets=True
    )
    db.session.commit()
    return autotask


SETTINGS = {
    "sales_rep": "1",
    "opportunity_stage": "2",
    "opportunity_status": "1",
    "won_status": "2",
    "lost_status": "3",
    "board": "2",
    "ticket_status": "21",
    "subcategory": "1",
    "product_type": "1",
    "warehouse": "1",
    "po_status": "2",
}


def configure(connection, configuration=cw_operations.CW_INVOICING, **overrides) -> None:
    values = {
        "configuration": configuration,
        "invoice_from": "opportunity",
        "procurement": False,
        "opportunities": True,
        "sync_types": ["2"],
        "sync_statuses": ["1"],
        "choices": SETTINGS,
        **overrides,
    }
    cw_operations.save_settings(connection, **values)
    db.session.commit()


@pytest.fixture
def cw(app, store, connectwise_sandbox, run_jobs):  # noqa: F811 - the fixture above
    app.config["CONNECTWISE_API_BASE"] = connectwise_sandbox.base_url
    app.config["CONNECTWISE_KEY_HOSTS"] = "127.0.0.1"
    connection = connect_connectwise(connectwise_sandbox)
    run_jobs()  # the lookups
    db.session.refresh(connection)
    configure(connection)
    connectwise_sandbox.connection = connection
    return connectwise_sandbox


def rows(sandbox, path: str) -> list[dict]:
    return list(sandbox.table(path).values())
