"""Test isolation: every test gets its own HOME, XDG dirs, git config and gatepass layers.

Never the developer's own: /etc/gatepass, ~/.config, the desktop keyring and ~/.gitconfig are
all pointed away, and the session bus is unset unless a test starts its own.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.support.as_user import OrdinaryUser, UserSession, ordinary_user, session

# No per-example deadline (hypothesis' default is 200 ms): on a loaded CI machine a slow example is
# not a failure, and a test must not depend on load. Each test still bounds its example count.
settings.register_profile("gatepass", deadline=None)
settings.load_profile("gatepass")

VENV_BIN = str(Path(sys.executable).parent)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # pytest then tears every fixture down: no server a test started outlives a kill


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A test (or fixture) that fails only because a program it runs is not installed is a skip naming
    it: an ordinary user without sudo runs ./test without the Debian packages it could not install."""
    import shutil

    outcome = yield
    report = outcome.get_result()
    error = call.excinfo.value if call.excinfo is not None else None
    name = getattr(error, "filename", None)
    if (report.failed and isinstance(error, FileNotFoundError) and isinstance(name, str) and "/" not in name
            and shutil.which(name) is None):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0,
                           f"Skipped: needs {name}, which is not installed; ./test installs the Debian packages "
                           "as root or with sudo")


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM to the suite (a CI timeout, ``kill``, an IDE's stop button) ends it as Ctrl-C does, so
    every registry, bus, keyring and OpenBao the tests started is stopped by its fixture."""
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminated)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that creates users or writes what root writes says so: ``root_only`` needs its reason."""
    for item in items:
        marker = item.get_closest_marker("root_only")
        if marker is not None and not (marker.kwargs.get("reason") or marker.args):
            raise pytest.UsageError(f"{item.nodeid}: root_only needs a reason (why this case cannot run as a user)")


@pytest.fixture(scope="session")
def ordinary_user_once() -> Generator[OrdinaryUser, None, None]:
    """The session's ordinary user and its launchers (tests/support/as_user.py), made on first use."""
    with ordinary_user() as who:
        yield who


@pytest.fixture
def as_user(request: pytest.FixtureRequest) -> Generator[UserSession | None, None, None]:
    """In a test marked ``as_user`` (and not ``root_only``) run as root: the user its clients and gatepass
    run as (``as_user.run_as``). Run by an ordinary user, the suite's own user is that user: None."""
    if (os.geteuid() != 0  # the suite already runs as an ordinary user: its clients run as that user
            or request.node.get_closest_marker("as_user") is None or request.node.get_closest_marker("root_only") is not None):
        yield None
        return
    with session(request.getfixturevalue("ordinary_user_once")) as current:
        yield current


@pytest.fixture
def tmp_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """pytest's own, except in a test marked ``as_user``: a directory of the ordinary user's."""
    current = request.getfixturevalue("as_user")
    return tmp_path if current is None else Path(current.tmp)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    values = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "GATEPASS_GLOBAL_CONFIG": str(tmp_path / "etc" / "global.toml"),
        "GATEPASS_HOST_CONFIG": str(tmp_path / "etc" / "host.toml"),
        "GATEPASS_USER_CONFIG": str(home / ".config" / "gatepass" / "config.toml"),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in ("GATEPASS_CONFIG", "DBUS_SESSION_BUS_ADDRESS", "GATEPASS_DEBUG", "DOCKER_CONFIG", "GATEPASS_PRESET",
                 "GITHUB_ACTIONS", "GITLAB_CI",  # a suite run inside a CI job must not turn its preset on
                 "GIT_DIR", "GIT_WORK_TREE", "VAULT_ADDR", "VAULT_TOKEN", "VAULT_NAMESPACE", "VAULT_CACERT",
                 "BAO_ADDR", "BAO_TOKEN", "BAO_NAMESPACE", "BAO_CACERT"):
        monkeypatch.delenv(name, raising=False)
    return values


def write_config(path: Path | str, text: str, mode: int = 0o600) -> Path:
    """Write a config file (0600 by default: files with inline tokens must not be world-readable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def default_sigint() -> None:
    """SIGINT's default disposition, for a child that a test will Ctrl-C (``preexec_fn``): a pytest
    started with SIGINT ignored (``(trap '' INT; ./test)``, nohup, CI runners) passes SIG_IGN on
    to every child, and Python then installs no KeyboardInterrupt handler at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def sigint_handler():
    """Python's own SIGINT handler (KeyboardInterrupt) for one test, whatever the disposition pytest
    was started with; the previous one is restored after the test."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
