"""Every wait ends (issue #12 item 5): stdin that never closes, a D-Bus peer that trickles bytes
during SASL or inside a reply, a FIFO at ``passphrase_file``. Real peers: the helper executables
on a pipe the test keeps open, socket servers that send a byte every 20 ms and never finish.

A deadline is proven by the wait *ending*, not by how fast: each case runs under a watchdog far
longer than its deadline (a hang fails the test), and the only time asserted is that generous bound.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gatepass.errors import StoreUnavailableError
from gatepass.stores.dbus import Connection
from gatepass.stores.encrypted_file import EncryptedFileBackend, from_settings
from gatepass.stores.index import Entry, Index
from gatepass.stores.secret_service import SecretServiceBackend
from tests.support.fake_bus import fake_bus, trickle

BIN = Path(sys.executable).parent
WATCHDOG = 60.0  # seconds; every deadline under test is 0.5-1 s


def ends(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run ``function`` in a thread; fail (instead of hanging) if it has not returned within WATCHDOG.
    Returns what it returned or raised."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(function(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(WATCHDOG)
    assert not worker.is_alive(), f"{getattr(function, '__name__', function)} still waiting after {WATCHDOG:g}s"
    return outcome[0]


@pytest.mark.parametrize("after_sasl", [False, True], ids=["during-sasl", "inside-a-reply"])
def test_a_trickling_bus_cannot_stretch_the_connection_deadline(after_sasl):
    with fake_bus(functools.partial(trickle, after_sasl=after_sasl)) as bus:
        outcome = ends(Connection, bus.address, 0.5)
        assert isinstance(outcome, TimeoutError)
        outcome = ends(SecretServiceBackend, {"DBUS_SESSION_BUS_ADDRESS": bus.address}, 0.5)
        assert isinstance(outcome, StoreUnavailableError)
        assert "did not complete the handshake within 0.5s" in str(outcome)


def _helper(name: str, action: str, first: bytes, env: dict[str, str], *, dribble: bool
            ) -> subprocess.CompletedProcess[bytes]:
    """Run a helper with a stdin the test never closes: ``first`` and then (``dribble``) a byte every
    20 ms for as long as the helper reads."""
    proc = subprocess.Popen([str(BIN / name), action], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    stop = threading.Event()

    def feed() -> None:
        try:
            proc.stdin.write(first)  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            while dribble and not stop.wait(0.02):
                proc.stdin.write(b"x")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]  # EOF: the helper exited
        code = proc.wait()
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        feeder.join(WATCHDOG)  # before closing: the feeder may be inside a write
        with contextlib.suppress(OSError):  # the pipe is broken once the helper has gone: nothing to flush
            proc.stdin.close()
    return subprocess.CompletedProcess(proc.args, code, out, err)  # type: ignore[arg-type]


@pytest.mark.parametrize("dribble", [False, True], ids=["silent", "trickling"])
def test_git_helper_gives_up_on_a_stdin_that_never_closes(isolated_env, dribble):
    env = dict(os.environ, GATEPASS_STDIN_TIMEOUT="1")
    done = ends(_helper, "git-credential-gatepass", "get", b"protocol=https\nhost=example.com\n", env, dribble=dribble)
    assert (done.returncode, done.stdout) == (0, b""), done
    assert done.stderr.decode().count("\n") == 1, done
    assert "did not end within 1s (stdin never closed); GATEPASS_STDIN_TIMEOUT" in done.stderr.decode()


@pytest.mark.parametrize("action", ["get", "erase", "store"])
@pytest.mark.parametrize("dribble", [False, True], ids=["silent", "trickling"])
def test_docker_helper_gives_up_on_a_stdin_that_never_closes(isolated_env, action, dribble):
    env = dict(os.environ, GATEPASS_STDIN_TIMEOUT="1")
    first = b'{"ServerURL":"r.example","Username":"u","Secret":"s' if action == "store" else b"r.example"
    done = ends(_helper, "docker-credential-gatepass", action, first, env, dribble=dribble)
    assert done.returncode == 1 and done.stderr == b"", done
    assert done.stdout.decode().count("\n") == 1, done
    assert "did not end within 1s (stdin never closed)" in done.stdout.decode()


def test_a_fifo_at_passphrase_file_is_refused_before_reading(tmp_path):
    fifo = tmp_path / "passphrase"
    os.mkfifo(fifo, 0o600)
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    outcome = ends(from_settings, env, {"passphrase_file": str(fifo)})  # opening a FIFO to read blocks
    assert isinstance(outcome, StoreUnavailableError)
    assert "is not a regular file" in str(outcome) and "passphrase_file" in str(outcome)


@pytest.mark.parametrize("where", ["index", "secrets.enc", "machine.key"])
def test_a_fifo_at_a_store_file_is_refused_before_reading(isolated_env, where):
    data = Path(isolated_env["XDG_DATA_HOME"]) / "gatepass"
    keys = Path(isolated_env["XDG_CONFIG_HOME"]) / "gatepass"
    data.mkdir(parents=True, mode=0o700)
    keys.mkdir(parents=True, mode=0o700)
    env = dict(os.environ, GATEPASS_STORE_BACKEND="encrypted-file")
    if where != "index":  # an entry, so that get reads secrets.enc (and so the machine key)
        Index(env).update(lambda _: [Entry("git", "https", "git.example", "", "u", backend="encrypted-file")])
    if where == "machine.key":
        EncryptedFileBackend(str(data / "secrets.enc"), key_file=str(keys / "machine.key")).set("x", "y", "z")
        (keys / "machine.key").unlink()
    os.mkfifo((keys if where == "machine.key" else data) / where, 0o600)
    done = ends(subprocess.run, [str(BIN / "git-credential-gatepass"), "get"], input=b"protocol=https\nhost=git.example\n",
                env=env, capture_output=True)
    assert (done.returncode, done.stdout) == (0, b"")
    assert done.stderr.decode().count("\n") == 1 and "is not a regular file" in done.stderr.decode()


def test_a_closed_pipe_is_read_without_waiting_and_left_blocking():
    """git has written and closed before the helper starts: read at once, without select, and the
    pipe's mode is put back (O_NONBLOCK lives on the open file, shared with whoever else holds it)."""
    from gatepass.protocol import read_input

    read_end, write_end = os.pipe()
    os.write(write_end, b"protocol=https\nhost=example.com\n")
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        assert read_input(stream, 1024, {}, blank_line_ends=True) == b"protocol=https\nhost=example.com\n"
        assert os.get_blocking(read_end)


def test_a_pipe_still_being_written_falls_back_to_the_deadline():
    """What is there is kept; the rest is waited for within the deadline, then it is one clear error."""
    from gatepass.errors import InvalidRequestError
    from gatepass.protocol import read_input

    read_end, write_end = os.pipe()
    os.write(write_end, b"protocol=https\n")
    try:
        with os.fdopen(read_end, "rb") as stream:
            with pytest.raises(InvalidRequestError, match="did not end within 0.2s"):
                read_input(stream, 1024, {"GATEPASS_STDIN_TIMEOUT": "0.2"}, blank_line_ends=True)
            assert os.get_blocking(read_end)
    finally:
        os.close(write_end)


def test_a_request_split_across_writes_is_read_whole():
    from gatepass.protocol import read_input

    read_end, write_end = os.pipe()
    os.write(write_end, b"protocol=https\n")
    writer = threading.Timer(0.05, lambda: (os.write(write_end, b"host=example.com\n"), os.close(write_end)))
    writer.start()
    try:
        with os.fdopen(read_end, "rb") as stream:
            assert read_input(stream, 1024, {}, blank_line_ends=True) == b"protocol=https\nhost=example.com\n"
    finally:
        writer.join()
