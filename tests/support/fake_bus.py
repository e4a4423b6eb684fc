"""Fake D-Bus peers for attack and deadline tests, and a real second local user to run them as.

``FakeSecretService`` is a whole "bus" in one socket server: it answers SASL, ``Hello`` and the
Secret Service calls gatepass makes (parsed and built with jeepney, not with gatepass's own code),
hands out a secret of its choosing and records every byte it receives. ``serve`` runs it in a
thread as the current user, or in a forked child that first drops to another uid (the socket is
created and ``listen``-ed after the drop, so ``SO_PEERCRED`` reports that user).

``trickle`` peers never finish: one byte at a time, forever, to prove a client's deadline covers
the whole exchange and not each read.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

from jeepney import new_error, new_method_return
from jeepney.low_level import HeaderFields, MessageType, Parser

ATTACKER_SECRET = "attacker-chosen-secret"
ITEM = "/org/freedesktop/secrets/collection/login/1"
SESSION = "/org/freedesktop/secrets/session/1"
GUID = b"0123456789abcdef0123456789abcdef"


class SecondUser:
    """A real local user made for one test (``useradd``), removed afterwards (``userdel``)."""

    def __init__(self) -> None:
        self.name = "gp" + secrets.token_hex(4)
        _retry_on_lock(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", self.name])
        import pwd

        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def remove(self) -> None:
        _retry_on_lock(["userdel", self.name])


def _retry_on_lock(argv: list[str]) -> None:
    """Run useradd/userdel, retrying while another test holds /etc/passwd's lock (exit 10 or 1)."""
    for _ in range(100):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            return
        if "lock" not in done.stderr:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()}")
        time.sleep(0.1)
    raise RuntimeError(f"{argv[0]}: /etc/passwd stayed locked")


@contextlib.contextmanager
def second_user() -> Iterator[SecondUser]:
    if os.geteuid() != 0:
        import pytest

        pytest.skip("needs root to create a second local user (CI runs as root)")
    if shutil.which("useradd") is None:
        import pytest

        pytest.skip("needs useradd (Debian: passwd) to create a second local user")
    user = SecondUser()
    try:
        yield user
    finally:
        user.remove()


def _reply(message, uid: int):  # type: ignore[no-untyped-def]
    """The Secret Service's answer to ``message``, as a lying peer would give it."""
    member = message.header.fields.get(HeaderFields.member)
    answers: dict[str, tuple[str, tuple[object, ...]]] = {
        "Hello": ("s", (":1.42",)),
        "NameHasOwner": ("b", (True,)),
        "ListActivatableNames": ("as", ([],)),
        "GetConnectionUnixUser": ("u", (uid,)),  # it claims to be the victim
        "ReadAlias": ("o", ("/org/freedesktop/secrets/collection/login",)),
        "Get": ("v", (("b", False),)),
        "OpenSession": ("vo", (("s", ""), SESSION)),
        "SearchItems": ("ao", ([ITEM],)),
        "GetSecrets": ("a{o(oayays)}", ({ITEM: (SESSION, b"", ATTACKER_SECRET.encode(), "text/plain")},)),
        "CreateItem": ("oo", (ITEM, "/")),
        "Delete": ("o", ("/",)),
    }
    if member not in answers:
        return new_error(message, "org.freedesktop.DBus.Error.UnknownMethod")
    signature, body = answers[member]
    return new_method_return(message, signature, body)


def accept_sasl(conn: socket.socket, record: Callable[[bytes], None] = lambda chunk: None) -> bytes | None:
    """Accept the client's SASL (OK to its AUTH) up to its BEGIN; the bytes after BEGIN (its first
    messages), or None when it hung up first. Every chunk received goes to ``record``."""
    data = b""
    while b"BEGIN\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        record(chunk)
        data += chunk
        if b"AUTH" in chunk:
            conn.sendall(b"OK " + GUID + b"\r\n")
    return data.partition(b"BEGIN\r\n")[2]


def secret_service_conversation(conn: socket.socket, record: Callable[[bytes], None], victim_uid: int) -> None:
    """Speak SASL then answer method calls until the client hangs up; every byte received is recorded."""
    first = accept_sasl(conn, record)
    if first is None:
        return
    parser = Parser()
    parser.add_data(first)
    serial = 1000
    while True:
        message = parser.get_next_message()
        while message is not None:
            if message.header.message_type == MessageType.method_call:
                serial += 1
                conn.sendall(_reply(message, victim_uid).serialise(serial))
            message = parser.get_next_message()
        chunk = conn.recv(65536)
        if not chunk:
            return
        record(chunk)
        parser.add_data(chunk)


def trickle(conn: socket.socket, record: Callable[[bytes], None], victim_uid: int, *, after_sasl: bool = False
            ) -> None:
    """Send a byte every 20 ms and never complete anything: during SASL, or (``after_sasl``) inside a
    reply whose header promises a body that never ends."""
    if after_sasl:
        if accept_sasl(conn) is None:
            return
        # a reply header promising 8 bytes of fields and a 1 MiB body, which never come whole
        conn.sendall(b"l\x02\x00\x01" + (1 << 20).to_bytes(4, "little") + (1).to_bytes(4, "little")
                     + (8).to_bytes(4, "little"))
    else:
        conn.sendall(b"OK ")
    while True:  # until the client gives up and closes (EPIPE)
        conn.sendall(b"0")
        time.sleep(0.02)


class FakeBus:
    """A listening fake peer at ``address``; ``received()`` is every byte any client sent it."""

    def __init__(self, handler: Callable[..., None], *, abstract: bool, user: SecondUser | None = None) -> None:
        self.handler, self.abstract, self.user = handler, abstract, user
        self.dir = tempfile.mkdtemp(prefix="gatepass-fakebus-")
        os.chmod(self.dir, 0o755)
        self.record_path = os.path.join(self.dir, "received")
        open(self.record_path, "wb").close()
        name = f"gatepass-test-{secrets.token_hex(6)}"
        self.socket_name = name if abstract else os.path.join(self.dir, "run", "bus")
        self.address = f"unix:abstract={name}" if abstract else f"unix:path={self.socket_name}"
        self.victim_uid = os.geteuid()
        self.stop = threading.Event()
        self.pid: int | None = None
        self.thread: threading.Thread | None = None

    def received(self) -> bytes:
        with open(self.record_path, "rb") as handle:
            return handle.read()

    def _record(self, data: bytes) -> None:
        with open(self.record_path, "ab") as handle:
            handle.write(data)

    def _listen(self) -> socket.socket:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.abstract:
            server.bind("\0" + self.socket_name)
        else:
            os.makedirs(os.path.dirname(self.socket_name), mode=0o755)  # made by its owner, like /tmp/dbus-*
            server.bind(self.socket_name)
        server.listen(8)
        server.settimeout(0.1)  # so _serve sees ``stop``
        return server

    def _serve(self, server: socket.socket) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            worker = threading.Thread(target=self._talk, args=(conn,), daemon=True)
            worker.start()

    def _talk(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.handler(conn, self._record, self.victim_uid)
            except OSError:
                pass

    def start(self) -> None:
        if self.user is None:
            server = self._listen()
            self._server = server
            self.thread = threading.Thread(target=self._serve, args=(server,), daemon=True)
            self.thread.start()
            return
        os.chown(self.dir, self.user.uid, self.user.gid)
        os.chown(self.record_path, self.user.uid, self.user.gid)
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become the other user, then listen (SO_PEERCRED records who listened)
            code = 1
            try:
                os.close(ready_r)
                os.setgroups([])
                os.setgid(self.user.gid)
                os.setuid(self.user.uid)
                server = self._listen()
                os.write(ready_w, b"1")
                os.close(ready_w)
                self._serve(server)
                code = 0
            finally:
                os._exit(code)
        os.close(ready_w)
        self.pid = pid
        ready = os.read(ready_r, 1)  # blocks until the child listens (or dies: b"")
        os.close(ready_r)
        if ready != b"1":
            raise RuntimeError("the fake bus did not start as the second user")

    def close(self) -> None:
        self.stop.set()
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        elif self.thread is not None:
            self.thread.join(5)
            self._server.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def fake_bus(handler: Callable[..., None], *, abstract: bool = False, user: SecondUser | None = None
             ) -> Iterator[FakeBus]:
    bus = FakeBus(handler, abstract=abstract, user=user)
    bus.start()
    try:
        yield bus
    finally:
        bus.close()
