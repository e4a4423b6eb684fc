"""What every loopback fake server here shares: a quiet HTTP/1.1 handler that answers JSON, and the
``with`` block that serves it from a daemon thread on 127.0.0.1 and stops it on exit.

A fake (``GitHubAPI``, ``VaultAPI``, ``GitServer``...) makes its ``ThreadingHTTPServer`` in ``__init__``
as ``self._server`` and subclasses ``Serving``; its handler subclasses ``JSONHandler``.
"""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Self


class JSONHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_json(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Serving:
    """Serve ``self._server`` from a daemon thread for the length of a ``with`` block."""

    _server: http.server.HTTPServer
    poll_interval = 0.05

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": self.poll_interval},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
