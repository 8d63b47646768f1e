"""PSA fixtures: the sandboxes, and a ConnectWise company connected and configured."""

import pytest

from tests.psa.test_connectwise_connect import connect
from tests.sandboxes.fixtures import (  # noqa: F401 - fixtures
    autotask_sandbox,
    autotask_sandbox_factory,
    connectwise_sandbox,
    connectwise_sandbox_factory,
)
from webapp.extensions import db
from webapp.psa.connectwise import operations

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


def configure(connection, configuration=operations.CW_INVOICING, **overrides) -> None:
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
    operations.save_settings(connection, **values)
    db.session.commit()


@pytest.fixture
def cw(app, store, connectwise_sandbox, run_jobs):  # noqa: F811 - the fixture above
    app.config["CONNECTWISE_API_BASE"] = connectwise_sandbox.base_url
    app.config["CONNECTWISE_KEY_HOSTS"] = "127.0.0.1"
    connection = connect(connectwise_sandbox)
    run_jobs()  # the lookups
    db.session.refresh(connection)
    configure(connection)
    connectwise_sandbox.connection = connection
    return connectwise_sandbox


def rows(sandbox, path: str) -> list[dict]:
    return list(sandbox.table(path).values())
