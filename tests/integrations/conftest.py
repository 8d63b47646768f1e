"""The core is tested with accounting's QuickBooks sandbox as its one registered provider."""

from tests.accounting.conftest import qbo  # noqa: F401 - pytest discovers fixtures by name
from tests.sandboxes.fixtures import qbo_sandbox, qbo_sandbox_factory  # noqa: F401
