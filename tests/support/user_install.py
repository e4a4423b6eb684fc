"""An ordinary user who installed gatepass as the README says: ``./install`` from a checkout, run as
that user with Debian's python3 (a venv in ~/.local/share/gatepass/venv, launchers in ~/.local/bin,
git wired in ~/.gitconfig).

``installed_user()`` creates the user (``local_user``), copies the checkout's installable files into
its home, and runs ``./install`` there as the user. pip reads the wheels from a wheelhouse made here
as root (``pip wheel``: the package index is used once, through root's cache), so the user's install
needs no index of its own. Skips, saying why, where the pieces are missing (not root, no python3-venv,
no index for the wheelhouse).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.local_user import LocalUser, local_user

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"


class InstalledUser:
    def __init__(self, user: LocalUser, runtime: str) -> None:
        self.user, self.home, self.runtime = user, Path(user.home), runtime
        self.bin = self.home / ".local" / "bin"
        self.env = {"HOME": user.home, "USER": user.name, "LOGNAME": user.name, "LANG": "C.UTF-8",
                    "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin", "XDG_RUNTIME_DIR": runtime,
                    "GIT_TERMINAL_PROMPT": "0"}

    def run(self, *argv: str, stdin: str = "", env: Mapping[str, str] | None = None, cwd: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``argv`` as the user, with only the environment above (plus ``env``), in its home by default."""
        environment = [f"{k}={v}" for k, v in {**self.env, **(env or {})}.items()]
        return subprocess.run(self.user.argv(["env", "-i", *environment, *argv]), input=stdin, capture_output=True,
                              text=True, timeout=timeout, cwd=cwd or self.user.home)

    def write(self, relative: str, text: str, mode: int = 0o600) -> Path:
        """A file in the user's home, created by the user itself (so its directories are the user's)."""
        path = self.home / relative
        done = self.run("sh", "-c", 'umask 077 && mkdir -p "${1%/*}" && cat >"$1" && chmod "$2" "$1"', "sh", str(path),
                        f"{mode:o}", stdin=text)
        assert done.returncode == 0, done.stderr
        return path


def _wheelhouse(directory: str) -> None:
    """gatepass's wheel and its dependencies' (and the build backend) for an install without an index."""
    source = Path(directory) / "source"
    _copy_checkout(source)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    for argv in ([*pip, "wheel", "-w", directory, str(source)], [*pip, "download", "-d", directory, "setuptools>=77"]):
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
        if done.returncode != 0:
            pytest.skip(f"could not make a wheelhouse for the user's install (no package index?): "
                        f"{done.stderr.strip()[-300:]}")
    shutil.rmtree(source)


def _copy_checkout(target: Path) -> None:
    shutil.copytree(ROOT / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("install", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, target / name)


@contextlib.contextmanager
def installed_user() -> Iterator[InstalledUser]:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"needs {SYSTEM_PYTHON} (Debian: python3) for the user's own venv")
    if subprocess.run([SYSTEM_PYTHON, "-c", "import venv, ensurepip"], capture_output=True).returncode != 0:
        pytest.skip("needs python3-venv (Debian) for ./install's venv")
    wheels = tempfile.mkdtemp(prefix="gatepass-wheels-")
    runtime = tempfile.mkdtemp(prefix="gp-run-")
    try:
        os.chmod(wheels, 0o755)
        _wheelhouse(wheels)
        for name in os.listdir(wheels):
            os.chmod(os.path.join(wheels, name), 0o644)
        with local_user() as user:
            os.chown(runtime, user.uid, user.gid)
            os.chmod(runtime, 0o700)
            who = InstalledUser(user, runtime)
            checkout = who.home / "gatepass"
            _copy_checkout(checkout)
            for path in [checkout, *checkout.rglob("*")]:
                os.lchown(path, user.uid, user.gid)
            done = who.run("./install", cwd=str(checkout), timeout=600,
                           env={"PYTHON": SYSTEM_PYTHON, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": wheels})
            assert done.returncode == 0, f"./install as {user.name} failed:\n{done.stdout}\n{done.stderr}"
            yield who
    finally:
        shutil.rmtree(wheels, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)
