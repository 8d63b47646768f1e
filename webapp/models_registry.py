"""Import every domain's models so SQLAlchemy and Alembic see the whole schema."""


def import_all_models() -> None:
    from webapp import jobs as _jobs  # noqa: F401 - QueuedJob, the job outbox
    from webapp import security as _security  # noqa: F401 - SecurityEvent
    from webapp.accounting import models as _accounting  # noqa: F401
    from webapp.api import models as _api  # noqa: F401
    from webapp.auth import models as _auth  # noqa: F401
    from webapp.catalog import models as _catalog  # noqa: F401
    from webapp.integrations import models as _integrations  # noqa: F401
    from webapp.mail import models as _mail  # noqa: F401
    from webapp.organizations import models as _organizations  # noqa: F401
    from webapp.purchasing import models as _purchasing  # noqa: F401
    from webapp.quotes import models as _quotes  # noqa: F401
    from webapp.sales import models as _sales  # noqa: F401
    from webapp.settings import models as _settings  # noqa: F401
    from webapp.store import models as _store  # noqa: F401
    from webapp.ticketmail import models as _ticketmail  # noqa: F401
