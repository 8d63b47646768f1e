"""Autotask fixtures: a connected sandbox with the opportunity settings (``autotask``), with the
quote item settings too (``quoting``), and with tickets switched on (``ticketing``)."""

import pytest

from tests.sandboxes.fixtures import (  # noqa: F401 - fixtures
    autotask_sandbox,
    autotask_sandbox_factory,
)
from webapp.extensions import db
from webapp.psa import operations


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
