"""The rules every engine keeps (gatepass/engines/interface.py), as a mixin each engine's case runs.

A case (tests/contract/test_engines.py) says how to point its engine at a server: ``setup(url)``
gives (account, request, env, settings) for an engine whose server is at ``url`` (a loopback server
the test runs), ``deadline`` is the engine's stated total. The mixin then checks, against hostile
servers on 127.0.0.1 (tests/support/hostile_http.py):

- ``cache_key`` does no I/O: no file opened, no name looked up, no connection, no process (Python's
  audit events say what a call did), and says nothing secret;
- ``fetch`` ends within its deadline against a server that drips its answer a byte every 0.5 s;
- an error is one ``SecretUnavailableError`` line naming no value: the server echoes everything it
  received (headers and body) in every error field an engine might quote, and no 12-character run
  of any credential the engine sent (token, JWT, secret_id, assertion) may appear in the message.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from gatepass.engines.interface import Engine
from gatepass.errors import SecretUnavailableError
from gatepass.model import Account, Request
from tests.support.hostile_http import read_head, serve

Setup = tuple[Account, Request, dict[str, str], dict[str, object]]
IO_EVENTS = ("open", "socket.getaddrinfo", "socket.connect", "subprocess.Popen", "os.posix_spawn", "os.fork",
             "os.exec", "os.system", "os.listdir", "os.scandir", "shutil.", "urllib.Request")
RUN = 12

_armed = threading.local()
_seen: list[str] = []


def _hook(event: str, args: tuple[object, ...]) -> None:
    if getattr(_armed, "on", False) and event.startswith(IO_EVENTS):
        _seen.append(event)


sys.addaudithook(_hook)  # process-wide and permanent; it records only while a test arms it in its thread


def io_of(call: Callable[[], object]) -> list[str]:
    """The I/O audit events ``call`` raised in this thread."""
    _seen.clear()
    _armed.on = True
    try:
        call()
    finally:
        _armed.on = False
    return list(_seen)


def body_of(conn: socket.socket, head: bytes) -> bytes:
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    data = b""
    while len(data) < length:
        chunk = conn.recv(length - len(data))
        if not chunk:
            break
        data += chunk
    return data


def credentials(head: bytes, body: bytes) -> list[str]:
    """What a request carried that must never be shown: credential headers and the whole body."""
    found = [body.decode("utf-8", "replace")] if body else []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("authorization", "x-vault-token", "proxy-authorization"):
            found.append(value.strip())
    return [text for text in found if len(text) >= RUN]


def leaked(message: str, secrets: list[str]) -> list[str]:
    return [s[i:i + RUN] for s in secrets for i in range(len(s) - RUN + 1) if s[i:i + RUN] in message]


class EngineContract:
    """Mixed into a case class that provides ``module``, ``deadline``, ``setup(url)``; override
    ``drip_setup``/``echo_setup`` where the engine is not HTTP (``command``)."""

    module: ModuleType
    deadline: float

    def setup(self, url: str) -> Setup:
        raise NotImplementedError

    def test_is_an_engine(self) -> None:
        engine: Engine = self.module  # type: ignore[assignment]  # what mypy checks statically, at run time
        assert callable(engine.cache_key) and callable(engine.fetch)

    def test_cache_key_does_no_io(self) -> None:
        account, request, env, settings = self.setup("http://127.0.0.1:9")
        keys: list[object] = []
        events = io_of(lambda: keys.append(self.module.cache_key(account, request, env=env, settings=settings)))
        assert events == [], f"cache_key did I/O: {events}"
        again = self.module.cache_key(account, request, env=env, settings=settings)
        assert keys == [again] and (again is None or all(isinstance(part, str) for part in again))

    @contextlib.contextmanager
    def drip_setup(self) -> Iterator[Setup]:
        def drip(conn: socket.socket) -> None:
            head = read_head(conn)
            body_of(conn, head)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
            for _ in range(200):
                conn.sendall(b" ")
                time.sleep(0.5)

        with serve(drip) as url:
            yield self.setup(url)

    def test_fetch_ends_within_its_deadline(self) -> None:
        with self.drip_setup() as (account, request, env, settings):
            started = time.monotonic()
            with pytest.raises(SecretUnavailableError):
                self.module.fetch(account, request, env, settings=settings)
            assert time.monotonic() - started < self.deadline + 2.0

    @contextlib.contextmanager
    def echo_setup(self) -> Iterator[tuple[Setup, list[str]]]:
        """A server answering every request with an error that quotes all it received."""
        sent: list[str] = []

        def echo(conn: socket.socket) -> None:
            import json

            head = read_head(conn)
            body = body_of(conn, head)
            sent.extend(credentials(head, body))
            raw = (head + body).decode("utf-8", "replace")
            answer = json.dumps({"errors": [raw], "message": raw, "error": "invalid_grant", "error_description": raw,
                                 "__type": "AccessDeniedException", "Message": raw}).encode()
            conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(answer)).encode() + b"\r\nConnection: close\r\n\r\n" + answer)

        with serve(echo) as url:
            yield self.setup(url), sent

    def test_errors_name_no_value(self) -> None:
        with self.echo_setup() as ((account, request, env, settings), sent):
            with pytest.raises(SecretUnavailableError) as caught:
                self.module.fetch(account, request, env, settings=settings)
        message = str(caught.value)
        assert "\n" not in message and sent, (message, sent)
        assert leaked(message, sent) == [], message
