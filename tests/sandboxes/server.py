"""Run a WSGI app on 127.0.0.1 with an ephemeral port in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every request line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the per-request access log; pytest output stays readable."""


class LiveServer:
    """A threaded werkzeug server around one WSGI app, bound to an ephemeral port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Return whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LiveServer:
        """Bind the socket and serve in a daemon thread."""
        if self._server is not None:
            return self
        # threaded=True: the sandboxes must serve concurrent requests (concurrency limits,
        # hang injection while another request is in flight).
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # shutdown() waits up to one poll,
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[LiveServer]:
    """Serve ``app`` for the duration of the ``with`` block and yield the running server."""
    server = LiveServer(app, host=host).start()
    try:
        yield server
    finally:
        server.stop()
