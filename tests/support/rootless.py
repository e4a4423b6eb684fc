"""An ordinary user with rootless podman and buildah, and gatepass's commands on its PATH.

``rootless_user()`` creates a user (``local_user``; ``useradd`` gives it subuid/subgid ranges), its
own ``XDG_RUNTIME_DIR`` (0700, short: podman's runroot must be), vfs storage and file events (no
fuse-overlayfs, no systemd in a test), and a directory of launchers for ``gatepass``,
``docker-credential-gatepass`` and ``git-credential-gatepass`` that run this checkout as that user
(``as_user.write_launchers``). On exit the user's podman pause process (which keeps its user
namespace alive) is stopped by the PID podman wrote, then the user is removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping

import pytest

from tests.support.as_user import write_launchers
from tests.support.local_user import LocalUser, local_user, shared_dir

TOOLS = ("podman", "buildah", "newuidmap", "newgidmap")


class Rootless:
    def __init__(self, user: LocalUser, bindir: str, runtime: str) -> None:
        self.user, self.bindir, self.runtime = user, bindir, runtime
        self.home = user.home
        self.auth_file = os.path.join(user.home, "auth.json")  # REGISTRY_AUTH_FILE: where a login must not land
        self.env = {"HOME": user.home, "USER": user.name, "LOGNAME": user.name, "XDG_RUNTIME_DIR": runtime,
                    "PATH": f"{bindir}:/usr/bin:/bin", "REGISTRY_AUTH_FILE": self.auth_file, "LANG": "C.UTF-8"}

    def run(self, *argv: str, stdin: str = "", env: Mapping[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``argv`` as the user, in its home, with the environment above (plus ``env``)."""
        return subprocess.run(self.user.argv(["env", "-i", *(f"{k}={v}" for k, v in {**self.env, **(env or {})}.items()),
                                              *argv]), input=stdin, capture_output=True, text=True, timeout=timeout,
                              cwd=self.home)

    def write(self, relative: str, text: str, mode: int = 0o644) -> str:
        """A file in the user's home, owned by the user (its directories too)."""
        path = os.path.join(self.home, relative)
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        for directory in _upto(parent, self.home):
            os.chown(directory, self.user.uid, self.user.gid)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)
        os.chown(path, self.user.uid, self.user.gid)
        return path


def _upto(path: str, top: str) -> Iterator[str]:
    while path.startswith(top + "/"):
        yield path
        path = os.path.dirname(path)


def stop_pause_process(runtime: str) -> None:
    """podman's pause process, by the PID in its pid file (it holds the user namespace open)."""
    try:
        with open(os.path.join(runtime, "libpod", "tmp", "pause.pid")) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(100):  # not our child: wait until it is gone, so userdel finds no process
        if not os.path.exists(f"/proc/{pid}"):
            return
        time.sleep(0.05)


@contextlib.contextmanager
def rootless_user() -> Iterator[Rootless]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: podman buildah uidmap); ./test installs them")
    with local_user() as user, shared_dir() as bindir:
        write_launchers(user, bindir)
        runtime = tempfile.mkdtemp(prefix="gp-xdg-")
        os.chown(runtime, user.uid, user.gid)
        os.chmod(runtime, 0o700)
        rootless = Rootless(user, bindir, runtime)
        rootless.write(".config/containers/storage.conf", '[storage]\ndriver = "vfs"\n')
        rootless.write("auth.json", "{}", mode=0o600)  # podman insists that REGISTRY_AUTH_FILE exists
        rootless.write(".config/containers/containers.conf",
                       '[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n')
        try:
            probe = rootless.run("podman", "unshare", "true")
            if probe.returncode != 0:
                pytest.skip(f"rootless podman cannot make a user namespace here: {probe.stderr.strip()[-300:]}")
            yield rootless
        finally:
            stop_pause_process(runtime)
            shutil.rmtree(runtime, ignore_errors=True)
