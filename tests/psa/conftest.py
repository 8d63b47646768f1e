from tests.sandboxes.fixtures import (  # noqa: F401 - fixtures
    autotask_sandbox,
    autotask_sandbox_factory,
    connectwise_sandbox,
    connectwise_sandbox_factory,
)
