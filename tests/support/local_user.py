"""A real second local user for multi-user attack tests: created as root, removed afterwards.

``local_user()`` yields a ``LocalUser`` (name, uid, gid, home); ``user.run(argv)`` runs a command
as that user with ``setpriv --reuid --regid --clear-groups`` (no login, no PAM, no tty). Tests
that need one skip with a clear reason when not run as root (CI runs as root). ``shared_dir()``
gives a directory outside pytest's 0700 tree that both users can reach.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creates a real second local user: needs root (CI runs as root)")


class LocalUser:
    def __init__(self, name: str) -> None:
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid, self.home = name, entry.pw_uid, entry.pw_gid, entry.pw_dir

    def argv(self, argv: Sequence[str]) -> list[str]:
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", "--", *argv]

    def run(self, argv: Sequence[str], env: Mapping[str, str] | None = None, check: bool = True,
            **kw: object) -> subprocess.CompletedProcess[str]:
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home}
        environment.update(env or {})
        return subprocess.run(self.argv(argv), env=environment, text=True, capture_output=True,
                              check=check, timeout=60, **kw)  # type: ignore[call-overload,no-any-return]


def _retry(argv: list[str]) -> None:
    """useradd/userdel, retried while another test holds /etc/passwd's lock (exit status 10 or 1)."""
    for attempt in range(100):
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode == 0:
            return
        if "lock" not in done.stderr.lower() and attempt > 2:
            break
        time.sleep(0.1)
    raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()}")


ENTRY_POINTS = {
    "git-credential-gatepass": "from gatepass.protocol.git import main\nfrom gatepass.protocol import finish\nfinish(main())",
    "docker-credential-gatepass": "from gatepass.protocol.docker import main\nfrom gatepass.protocol import finish\nfinish(main())",
    "gatepass": "from gatepass.cli.main import cli\nsys.exit(cli())",
}


def command_for(user: LocalUser, name: str) -> list[str]:
    """How ``user`` runs gatepass's command ``name``: the venv's own launcher when ``user`` can execute the
    venv's interpreter; else the system's python of the same version, ``-I -S``, with this checkout's
    ``src`` and the venv's site-packages on sys.path (a venv made from an interpreter under a 0700
    /root, as pyenv's is, cannot be run by any other user)."""
    import sys

    if user.run(["test", "-x", sys.executable], check=False).returncode == 0:
        return [os.path.join(os.path.dirname(sys.executable), name)]
    return python_for(user, ENTRY_POINTS[name])


def python_for(user: LocalUser, code: str) -> list[str]:
    """An argv that runs ``code`` as ``user`` with this checkout's gatepass importable (see ``command_for``)."""
    import sys
    import sysconfig

    python = sys.executable
    if user.run(["test", "-x", python], check=False).returncode != 0:
        python = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"
        if user.run(["test", "-x", python], check=False).returncode != 0:
            pytest.skip(f"user {user.name} can run neither {sys.executable} nor {python}")
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")
    paths = [src, *dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])]
    return [python, "-I", "-S", "-c", f"import sys\nsys.path[:0] = {paths!r}\n{code}"]


@contextlib.contextmanager
def local_user() -> Iterator[LocalUser]:
    """A new user ``gp<random>`` with a home of its own; deleted (home included) on exit."""
    if os.geteuid() != 0:
        pytest.skip("creates a real second local user: needs root (CI runs as root)")
    name = "gp" + uuid.uuid4().hex[:10]
    _retry(["useradd", "--create-home", "--user-group", "--shell", "/bin/sh", name])
    try:
        yield LocalUser(name)
    finally:
        _retry(["userdel", "--remove", name])


@contextlib.contextmanager
def shared_dir(mode: int = 0o755) -> Iterator[str]:
    """A fresh root-owned directory under /tmp (pytest's tree is 0700, out of other users' reach)."""
    path = tempfile.mkdtemp(prefix="gatepass-shared-")
    os.chmod(path, mode)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
