"""The helpers as pip and pipx install them from the wheel (non-editable): a shell script that runs the
venv's python as ./install's launchers do (``-I -S``: no site, no ``re``, no entry-point lookup), found
through pipx's symlink too, and a ``get`` answered from the parse cache imports nothing heavy (#14)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
HELPERS = ("git-credential-gatepass", "docker-credential-gatepass")
# pip's console_scripts launcher imports re, site the .pth files; the rest must wait for a cache miss (docs/design.md §9).
HEAVY = ("re", "click", "keyring", "cryptography", "jeepney", "tomllib", "tomli", "json", "typing", "importlib.metadata",
         "site", "os", "select")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy: building in the checkout would leave build/ there
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(source)], env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    wheel = next((root / "dist").glob("gatepass-*.whl"))
    # --no-deps: a get answered from the cache needs none of them (the first, cold run falls back to tomllib).
    subprocess.run([*pip, "--python", str(root / "venv" / "bin" / "python"), "install", "--no-deps", "--no-index",
                    str(wheel)], env=env, check=True, capture_output=True)
    return root / "venv"


def test_wheel_launchers_are_shell_scripts_running_python_I_S(venv):
    for name in HELPERS:
        text = (venv / "bin" / name).read_text()
        assert text.splitlines()[0] == "#!/bin/sh"  # pip leaves it alone: it rewrites only "#!python", dropping flags
        assert 'exec "$here/python3" -I -S -c' in text
        assert "import re" not in text and "importlib.metadata" not in text and "entry_points" not in text
        assert os.access(venv / "bin" / name, os.X_OK)


@pytest.mark.parametrize("name, stdin, answer", [
    ("git-credential-gatepass", b"protocol=https\nhost=github.com\n", b"username=bot\npassword=tok-1\n"),
    ("docker-credential-gatepass", b"r.example", b'{"ServerURL":"r.example","Username":"d","Secret":"tok-2"}\n'),
])
def test_wheel_launcher_get_imports_nothing_heavy(venv, tmp_path, name, stdin, answer):
    config = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="bot", token="tok-1"}]\n'
                          '[[docker_registry]]\ndomain="r.example"\naccounts=[{username="d", token="tok-2"}]\n')
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "GATEPASS_CONFIG": str(config),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    helper = str(venv / "bin" / name)
    for _ in range(2):  # the first run fills the parsed-config cache, the second is answered from it
        done = subprocess.run([helper, "get"], input=stdin, env=env, capture_output=True, check=True)
        assert done.stdout == answer
    # The launcher runs -I (no PYTHON* variables): a python3 beside it that adds -X importtime shows the imports.
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "python3").write_text(f'#!/bin/sh\nexec {venv}/bin/python3.{sys.version_info[1]} -X importtime "$@"\n')
    (spy / "python3").chmod(0o755)
    shutil.copy2(venv / "bin" / name, spy / "copied")
    done = subprocess.run([str(spy / "copied"), "get"], input=stdin, env=env, capture_output=True, check=True)
    assert done.stdout == answer
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines()
                if line.startswith("import time:")}
    assert f"gatepass.protocol.{name.split('-')[0]}" in imported
    assert sorted(m for m in imported if m in HEAVY or m.split(".")[0] in HEAVY) == []


@pytest.mark.parametrize("name, stdin, answer", [
    ("git-credential-gatepass", b"protocol=https\nhost=github.com\n", b"username=bot\npassword=tok-1\n"),
])
def test_wheel_launcher_found_through_a_symlink_or_on_path(venv, tmp_path, name, stdin, answer):
    """pipx links the script into ~/.local/bin, where no python is: the link is followed to the venv.
    A copy with no python beside it at all runs the python3 on PATH (here the venv's)."""
    config = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="bot", token="tok-1"}]\n')
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(tmp_path), "GATEPASS_CONFIG": str(config),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    bin_dir = tmp_path / "local-bin"
    bin_dir.mkdir()
    (bin_dir / name).symlink_to(venv / "bin" / name)
    shutil.copy2(venv / "bin" / name, bin_dir / "copy")
    for helper in (bin_dir / name, bin_dir / "copy"):
        done = subprocess.run([str(helper), "get"], input=stdin, env=env, capture_output=True, check=True, cwd=tmp_path)
        assert done.stdout == answer, done.stderr


def test_pipx_symlink_is_resolved_without_forking_readlink(venv, tmp_path):
    """pipx's own layout (``$PIPX_HOME/venvs/gatepass``, linked into ~/.local/bin) is recognised with the
    shell's ``-ef`` test: with no ``readlink`` on PATH the helper still finds its venv's python."""
    config = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="bot", token="tok-1"}]\n')
    pipx_home = tmp_path / "pipx"
    (pipx_home / "venvs").mkdir(parents=True)
    (pipx_home / "venvs" / "gatepass").symlink_to(venv)
    bin_dir = tmp_path / "local-bin"
    bin_dir.mkdir()
    (bin_dir / "git-credential-gatepass").symlink_to(pipx_home / "venvs" / "gatepass" / "bin" / "git-credential-gatepass")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = {"PATH": str(empty), "HOME": str(tmp_path), "PIPX_HOME": str(pipx_home), "GATEPASS_CONFIG": str(config),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([str(bin_dir / "git-credential-gatepass"), "get"], input=b"protocol=https\nhost=github.com\n",
                          env=env, capture_output=True, cwd=tmp_path)
    assert done.stdout == b"username=bot\npassword=tok-1\n", done.stderr
