"""Start an RQ worker on this application's queues: `python -m workers.run`."""

from __future__ import annotations

import logging
import sys

from rq import Worker

from webapp.jobs import get_queue
from workers.app import get_app


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = get_app()
    with app.app_context():
        queues = [get_queue(name) for name in (argv or app.config["RQ_QUEUES"])]
    # Jobs push their own app and request context (workers.app.job_context).
    worker = Worker(queues, connection=queues[0].connection)
    worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
