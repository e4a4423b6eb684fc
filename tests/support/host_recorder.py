"""A loopback HTTP server that answers every request 401 (Basic) and records what the client sent.

For attacks on host names: a real git (curl) is pointed at it with ``http.curloptResolve`` for
each candidate name, and the test reads which ``Host`` each request carried and which Basic
credential came with it, i.e. where curl really connected and what gatepass handed over.
"""

from __future__ import annotations

import base64
import http.server
import threading

from tests.support.loopback import JSONHandler, Serving


class _Handler(JSONHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        scheme, _, data = (self.headers.get("Authorization") or "").partition(" ")
        credential = None
        if scheme.lower() == "basic":
            try:
                credential = base64.b64decode(data.strip(), validate=True).decode()
            except ValueError:
                credential = "(undecodable)"
        with self.server.lock:
            self.server.log.append((self.headers.get("Host", ""), self.path, credential))
        body = b"auth required\n"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="gatepass-test"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_HEAD = handle_any


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    log: list[tuple[str, str, str | None]]
    lock: threading.Lock


class HostRecorder(Serving):
    """``with HostRecorder() as rec: ...; rec.log`` -> [(Host header, path, "user:password" or None)]."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.log, self._server.lock = [], threading.Lock()
        self.port = self._server.server_address[1]

    @property
    def log(self) -> list[tuple[str, str, str | None]]:
        with self._server.lock:
            return list(self._server.log)

    def clear(self) -> None:
        with self._server.lock:
            self._server.log.clear()
