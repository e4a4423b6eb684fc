"""The real-client end-to-end tests run their clients, and gatepass, as an ordinary user.

A test (or module) marked ``as_user`` in a suite run as root (as CI runs it) gets, from tests/conftest.py
(run as an ordinary user, the suite's own user is the one, and none of this applies):

- one user per test session, ``gpXXXXXXXXXX``, made by ``local_user``, and a directory of launchers
  for ``gatepass``, ``git-credential-gatepass`` and ``docker-credential-gatepass`` that run this
  checkout as that user (``local_user.python_for``: the venv's interpreter under a 0700 /root cannot
  be run by another user; Debian's python3 of the same version can). Made once: no per-test
  ``./install`` (test_as_a_user.py is where ./install is tested);
- ``tmp_path`` in a directory of that user's own, 0700, under a root-owned /tmp directory (pytest's
  tree is 0700, out of the user's reach), so ``isolated_env``'s HOME, XDG directories and config layers
  are the user's. Files the test writes there as root are handed to the user (``handover``: ``lchown``
  of the whole tree) before each command the user runs, as if the user had written them; all but
  ``etc/``, the stand-in for /etc/gatepass where ``isolated_env`` puts the global and host layers: that
  stays root's, as /etc does, and a layer written there is shared with the user as a system
  administrator would share it (``system_layer``: root's, 0640, the user's group);
- ``run_as(argv, ...)`` (and ``popen_as``; ``command`` for pexpect): ``subprocess.run`` as that user
  (``setpriv``), with the test's environment (``os.environ`` after ``isolated_env``) whose PATH has the
  launchers in place of the venv's bin (a venv path as argv[0] becomes the launcher); ``python_argv``
  runs Python code with gatepass importable, ``launcher`` names what ``setup`` writes down. Outside an
  ``as_user`` test all of them run as the test process does, so a helper module serves both kinds.

A test marked ``root_only`` (with its reason) stays root even in an ``as_user`` module. After each
test, any process the user still runs is ended by PID. Servers (git http-backend, the registry,
OpenBao) stay the test's, as root, on 127.0.0.1: a user reaches them as a remote server.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.support.local_user import ENTRY_POINTS, LocalUser, local_user, python_for, shared_dir

VENV_BIN = str(Path(sys.executable).parent)
SYSTEM = "etc"  # tmp_path/etc: the system layers' directory in isolated_env, root's like /etc/gatepass


def write_launchers(user: LocalUser, bindir: str) -> None:
    """``bindir``/gatepass, git-credential-gatepass and docker-credential-gatepass: shell scripts that run
    this checkout as ``user`` (``python_for``)."""
    for name, code in ENTRY_POINTS.items():
        argv = python_for(user, f"import sys\nsys.argv[0] = {name!r}\n{code}")
        path = os.path.join(bindir, name)
        with open(path, "w") as handle:
            handle.write(f"#!/bin/sh\nexec {shlex.join(argv)} \"$@\"\n")
        os.chmod(path, 0o755)


class OrdinaryUser:
    """The session's user: ``user`` (a ``LocalUser``), ``bindir`` (its launchers), ``root`` (where each
    test's directory is made)."""

    def __init__(self, user: LocalUser, bindir: str, root: str) -> None:
        self.user, self.bindir, self.root = user, bindir, root
        self._count = 0

    def new_dir(self) -> Path:
        self._count += 1
        path = Path(self.root) / f"t{self._count}"
        path.mkdir(mode=0o700)
        os.chown(path, self.user.uid, self.user.gid)
        return path


@contextlib.contextmanager
def ordinary_user() -> Iterator[OrdinaryUser]:
    with local_user() as user, shared_dir() as bindir, shared_dir() as root:
        write_launchers(user, bindir)
        yield OrdinaryUser(user, bindir, root)


class UserSession:
    """One test's user: its directory ``tmp`` and the ways to run a command as the user."""

    def __init__(self, who: OrdinaryUser, tmp: Path) -> None:
        self.who, self.user, self.tmp = who, who.user, tmp

    def handover(self) -> None:
        """Everything under ``tmp`` belongs to the user (the test wrote some of it as root), but ``etc/``."""
        uid, gid = self.user.uid, self.user.gid
        for top, dirs, files in os.walk(self.tmp):
            if top == str(self.tmp) and SYSTEM in dirs:
                dirs.remove(SYSTEM)  # root's, as /etc is
            for name in [*dirs, *files]:
                path = os.path.join(top, name)
                with contextlib.suppress(FileNotFoundError):  # a server's temporary file, gone meanwhile
                    st = os.lstat(path)
                    if (st.st_uid, st.st_gid) != (uid, gid):
                        os.lchown(path, uid, gid)

    def env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """``env`` (default: the test's environment) with the launchers first on PATH instead of the venv."""
        environment = dict(os.environ if env is None else env)
        parts = [p for p in environment.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p and p != VENV_BIN]
        environment["PATH"] = os.pathsep.join([self.who.bindir, *parts])
        environment.update(USER=self.user.name, LOGNAME=self.user.name)
        return environment

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as the user; a bare gatepass command name is the user's launcher."""
        first = os.path.basename(argv[0]) if argv[0].startswith(VENV_BIN + os.sep) else argv[0]
        if first in ENTRY_POINTS:
            first = os.path.join(self.who.bindir, first)
        return self.user.argv([first, *argv[1:]])

    def python(self, code: str) -> list[str]:
        """An argv running ``code`` with this checkout's gatepass (and the venv's libraries) as the user."""
        return python_for(self.user, code)


_current: UserSession | None = None


@contextlib.contextmanager
def session(who: OrdinaryUser) -> Iterator[UserSession]:
    """The current test's ``UserSession`` (what ``run_as`` uses) for the duration of the block."""
    global _current
    _current = UserSession(who, who.new_dir())
    try:
        yield _current
    finally:
        end_processes_of(who.user.uid)
        shutil.rmtree(_current.tmp, ignore_errors=True)
        _current = None


def end_processes_of(uid: int) -> None:
    """SIGKILL, by PID, every process the test's user still runs (a daemon a client left behind, such as
    rootless podman's pause process): the user is the session's own, so each one is this test's."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    pids.append(int(name))
            except OSError:
                continue
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)  # a killed child of ours is reaped by its Popen; the others by init


def current() -> UserSession | None:
    return _current


def _prepare(argv: Sequence[str], kw: dict[str, Any]) -> list[str]:
    who = _current
    if who is None:
        return list(argv)
    who.handover()
    kw["env"] = who.env(kw.get("env"))
    return who.argv(argv)


def command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run ``argv`` as ``run_as`` would (for pexpect and the like)."""
    kw: dict[str, Any] = {"env": dict(os.environ if env is None else env)}
    argv = _prepare(argv, kw)
    return argv, kw["env"]


def run_as(argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(argv, **kw)``, as the test's ordinary user in an ``as_user`` test."""
    argv = _prepare(argv, kw)
    return subprocess.run(argv, **kw)


def popen_as(argv: Sequence[str], **kw: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, **kw)``, as the test's ordinary user in an ``as_user`` test."""
    argv = _prepare(argv, kw)
    return subprocess.Popen(argv, **kw)


def launcher(name: str) -> str:
    """The path of gatepass's command ``name`` that the test's commands run (what ``setup`` writes down)."""
    who = _current
    return os.path.join(VENV_BIN if who is None else who.who.bindir, name)


def system_layer(path: str | os.PathLike[str], text: str) -> Path:
    """A global or host layer (or a file beside it) as root writes one for its users: root's, mode 0640,
    readable through the group of the test's ordinary user (only mode 0640 when there is none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, 0o640)
    if _current is not None:
        os.chown(path, 0, _current.user.gid)
    return path


def python_argv(code: str) -> list[str]:
    """An argv running Python ``code`` with gatepass importable: as the user in an ``as_user`` test
    (run it with ``run_as``), else this interpreter."""
    who = _current
    return [sys.executable, "-c", code] if who is None else who.python(code)
