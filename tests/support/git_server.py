"""A loopback smart-HTTP git server (``git http-backend`` as CGI) that demands Basic auth on every request.

Runs in a thread of the test process; each request spawns ``git http-backend``. Every request
is recorded as (method, path, status, user) so tests can assert which account git used.
"""

from __future__ import annotations

import base64
import hmac
import http.server
import os
import subprocess
import tempfile
import threading
import urllib.parse

from tests.support.loopback import JSONHandler, Serving

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def init_bare_repo(root: str, name: str) -> str:
    """A bare repo ``root/name`` with one commit on main and pushes over HTTP enabled."""
    path = os.path.join(root, name)
    env = dict(os.environ, HOME=root, **GIT_ENV)
    env.pop("GIT_CONFIG_GLOBAL", None)

    def run(*cmd: str) -> None:
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)

    run("git", "init", "-q", "--bare", "-b", "main", path)
    run("git", "-C", path, "config", "http.receivepack", "true")
    with tempfile.TemporaryDirectory() as work:
        run("git", "init", "-q", "-b", "main", work)
        with open(os.path.join(work, "README"), "w") as handle:
            handle.write(f"hello from {name}\n")
        run("git", "-C", work, "add", "README")
        run("git", "-C", work, "commit", "-q", "-m", "initial")
        run("git", "-C", work, "push", "-q", path, "main")
    return path


class _Handler(JSONHandler):
    server: _Server


    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _user(self) -> str | None:
        scheme, _, data = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, _, secret = base64.b64decode(data.strip(), validate=True).decode().partition(":")
        except ValueError:
            return None
        want = self.server.users.get(name)
        return name if want is not None and hmac.compare_digest(want.encode(), secret.encode()) else None

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes, user: str | None) -> None:
        with self.server.lock:  # logged before the answer leaves: a client that has it finds it in the log
            self.server.log.append((self.command, self.path, status, user))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self) -> None:
        body = self._body()
        user = self._user()
        if user is None:
            self._reply(401, [("WWW-Authenticate", 'Basic realm="gatepass-test"')], b"auth required\n", None)
            return
        path, _, query = self.path.partition("?")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": self.server.root,
               "GIT_HTTP_EXPORT_ALL": "1", "GIT_CONFIG_NOSYSTEM": "1", "HOME": self.server.root,
               "REQUEST_METHOD": self.command, "PATH_INFO": urllib.parse.unquote(path),
               "QUERY_STRING": query, "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
               # the repositories may sit in an as_user test's directory, handed to its user: served anyway
               "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
        if self.headers.get("Git-Protocol"):
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120)
        head, sep, payload = done.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\n"):
            key, _, value = line.rstrip("\r").partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key and key.lower() != "content-length":
                headers.append((key, value.strip()))
        self._reply(status, headers, payload, user)

    do_GET = do_POST = do_HEAD = handle_any


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    root: str
    users: dict[str, str]
    log: list[tuple[str, str, int, str | None]]
    lock: threading.Lock


class GitServer(Serving):
    """``with GitServer(root, {"user": "token"}, repos=["r.git"]) as srv: srv.url + "r.git"``."""

    def __init__(self, root: str, users: dict[str, str], repos: tuple[str, ...] = ("repo.git",)) -> None:
        os.makedirs(root, exist_ok=True)
        self.root = root
        for name in repos:
            init_bare_repo(root, name)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.root, self._server.users = root, dict(users)
        self._server.log, self._server.lock = [], threading.Lock()
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> list[tuple[str, str, int, str | None]]:
        with self._server.lock:
            return list(self._server.log)

    def set_user(self, name: str, secret: str) -> None:
        """Accept ``name`` with ``secret`` from now on (and only that secret): a freshly minted token."""
        with self._server.lock:
            self._server.users[name] = secret

    def users_seen(self) -> set[str]:
        return {user for _, _, status, user in self.log if user and status < 400}
