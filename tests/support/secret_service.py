"""A private, headless Secret Service for tests: its own dbus-daemon and gnome-keyring-daemon.

Nothing of the developer's is touched: the bus lives in a temp dir, the keyring files in a temp
XDG_DATA_HOME, the login keyring is created and unlocked with a test password. Both daemons are
our children and are ended by PID when the context exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator

PASSWORD = "test-keyring-password"


def missing_tools() -> list[str]:
    return [t for t in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send") if shutil.which(t) is None]


def _has_owner(env: dict[str, str]) -> bool:
    done = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                           "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                           "string:org.freedesktop.secrets"], env=env, capture_output=True, text=True, timeout=5)
    return "boolean true" in done.stdout


@contextlib.contextmanager
def private_secret_service() -> Iterator[dict[str, str]]:
    """Yield the environment variables (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR) of a fresh Secret Service."""
    tmp = tempfile.mkdtemp(prefix="gatepass-ss-")
    run_dir, data_dir = os.path.join(tmp, "run"), os.path.join(tmp, "data")
    os.makedirs(run_dir, mode=0o700)
    os.makedirs(data_dir)
    address = f"unix:path={run_dir}/bus"
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, XDG_RUNTIME_DIR=run_dir, XDG_DATA_HOME=data_dir)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={address}"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(bus)
        for _ in range(200):
            if os.path.exists(f"{run_dir}/bus"):
                break
            time.sleep(0.02)
        keyring = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                                   env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        procs.append(keyring)
        assert keyring.stdin is not None
        keyring.stdin.write(PASSWORD.encode())
        keyring.stdin.close()
        for _ in range(200):
            if _has_owner(env):
                break
            if keyring.poll() is not None:
                raise RuntimeError("gnome-keyring-daemon exited before taking org.freedesktop.secrets")
            time.sleep(0.05)
        else:
            raise RuntimeError("gnome-keyring-daemon did not take org.freedesktop.secrets within 10 s")
        yield {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": run_dir}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def lock_default_collection(env: dict[str, str]) -> None:
    """Lock the login keyring through the Secret Service API (what a screen lock does)."""
    subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock",
                    "array:objpath:/org/freedesktop/secrets/collection/login"],
                   env=dict(os.environ, **env), check=True, capture_output=True, timeout=10)
