"""A private, headless Secret Service for tests: its own dbus-daemon and gnome-keyring-daemon.

Nothing of the developer's is touched: the bus lives in a temp dir, the keyring files in a temp
XDG_DATA_HOME, the login keyring is created and unlocked with a test password on the daemon's
stdin. Both daemons are our children and are ended by PID when the context exits. In an ``as_user``
test (tests/support/as_user.py) they run as the test's ordinary user, in its directory: a user's
Secret Service is the user's own (gatepass refuses a bus socket another user owns).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from tests.support.as_user import current, popen_as, run_as

PASSWORD = "test-keyring-password"
LOGIN_COLLECTION = "/org/freedesktop/secrets/collection/login"


def missing_tools() -> list[str]:
    """The binaries a private Secret Service needs that are not installed (Debian: dbus, gnome-keyring)."""
    return [t for t in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send") if shutil.which(t) is None]


def _bus_call(env: dict[str, str], *args: str) -> str:
    done = run_as(["dbus-send", "--session", "--print-reply", *args], env=env, capture_output=True,
                  text=True, timeout=10)
    return done.stdout


def _has_owner(env: dict[str, str], name: str) -> bool:
    return "boolean true" in _bus_call(env, "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus.NameHasOwner", f"string:{name}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a daemon we started: SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# A session bus with no service directories: nothing is D-Bus-activated behind the test's back (Debian's
# gnome-keyring ships an activatable org.freedesktop.secrets, which would start a daemon we do not own).
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _accepts(path: str) -> bool:
    """Whether a unix socket at ``path`` accepts connections (bound *and* listening)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


@contextlib.contextmanager
def private_session_bus() -> Iterator[dict[str, str]]:
    """Yield the environment (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, XDG_DATA_HOME) of a fresh
    session bus with nothing else on it and nothing activatable; its dbus-daemon is ended by PID on exit."""
    who = current()
    tmp = tempfile.mkdtemp(prefix="gatepass-bus-", dir=None if who is None else who.tmp)
    run_dir, data_dir = os.path.join(tmp, "run"), os.path.join(tmp, "data")
    os.makedirs(run_dir, mode=0o700)
    os.makedirs(data_dir, mode=0o700)
    address = f"unix:path={run_dir}/bus"
    extra = {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": run_dir, "XDG_DATA_HOME": data_dir}
    config = os.path.join(tmp, "bus.conf")
    with open(config, "w") as handle:
        handle.write(BUS_CONFIG.format(socket=f"{run_dir}/bus"))
    bus = popen_as(["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"],
                           env=dict(os.environ, **extra), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _accepts(f"{run_dir}/bus"):  # the file appears at bind(), before listen(): connect to know
            if bus.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dbus-daemon did not open its socket within 10 s")
            time.sleep(0.02)
        yield extra
    finally:
        stop(bus)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def private_secret_service() -> Iterator[dict[str, str]]:
    """Yield the environment variables (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR) of a fresh Secret Service
    whose default collection (``login``) exists and is unlocked."""
    with private_session_bus() as extra:
        env = dict(os.environ, **extra)
        keyring = popen_as(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                                   env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            assert keyring.stdin is not None
            keyring.stdin.write(PASSWORD.encode())
            keyring.stdin.close()
            deadline = time.monotonic() + 10
            while not _has_owner(env, "org.freedesktop.secrets"):
                if keyring.poll() is not None:
                    raise RuntimeError("gnome-keyring-daemon exited before taking org.freedesktop.secrets")
                if time.monotonic() > deadline:
                    raise RuntimeError("gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s")
                time.sleep(0.05)
            yield {"DBUS_SESSION_BUS_ADDRESS": extra["DBUS_SESSION_BUS_ADDRESS"],
                   "XDG_RUNTIME_DIR": extra["XDG_RUNTIME_DIR"]}
        finally:
            stop(keyring)


def lock_default_collection(env: dict[str, str]) -> None:
    """Lock the login keyring through the Secret Service API (what a screen lock does)."""
    run_as(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock", f"array:objpath:{LOGIN_COLLECTION}"],
           env=dict(os.environ, **env), check=True, capture_output=True, timeout=10)


def is_locked(env: dict[str, str]) -> bool:
    """Whether the login collection says it is locked (read with dbus-send, not with gatepass's client)."""
    return "boolean true" in _bus_call(dict(os.environ, **env), "--dest=org.freedesktop.secrets", LOGIN_COLLECTION,
                                       "org.freedesktop.DBus.Properties.Get",
                                       "string:org.freedesktop.Secret.Collection", "string:Locked")
