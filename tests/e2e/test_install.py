"""./install on a clean HOME: venv, lean launchers, git wiring, idempotence, uninstall."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
NAMES = ("git-credential-gatepass", "docker-credential-gatepass", "gatepass")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    home = tmp_path_factory.mktemp("install-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "XDG_", "GIT_"))}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "store"], env=env, check=True)
    first = subprocess.run([str(ROOT / "install")], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    return home, env, first


def helpers(env):
    return subprocess.run(["git", "config", "--global", "--get-all", "credential.helper"], env=env,
                          capture_output=True, text=True).stdout.split()


def snapshot(home: Path):
    files = [home / ".local" / "bin" / n for n in NAMES] + [home / ".gitconfig"]
    return [(f, f.stat().st_mtime_ns, f.read_bytes()) for f in files]


def test_install_creates_launchers_and_wires_git_first(installed):
    home, env, first = installed
    for name in NAMES:
        path = home / ".local" / "bin" / name
        assert os.access(path, os.X_OK), name
    assert helpers(env) == ["gatepass", "store"]
    head = (home / ".local" / "bin" / "git-credential-gatepass").read_text().split("\n")[0]
    assert head.endswith("python -IS")


def test_installed_helper_answers_without_heavy_imports(installed, tmp_path):
    home, env, _ = installed
    config = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="bot", token="tok"}]\n')
    run_env = dict(env, GATEPASS_CONFIG=str(config))
    launcher = home / ".local" / "bin" / "git-credential-gatepass"
    for _ in range(2):  # the second answer comes from the parsed-config cache
        done = subprocess.run([str(launcher), "get"], input=b"protocol=https\nhost=github.com\n", env=run_env,
                              capture_output=True, check=True)
    assert done.stdout == b"username=bot\npassword=tok\n"
    python = launcher.read_text().split("\n")[0][2:].split()[0]
    probe = ("import runpy, sys, io; sys.argv=['x','get']; sys.stdin=io.TextIOWrapper(io.BytesIO(b'protocol=https\\n"
             "host=github.com\\n')); sys.stdout=io.TextIOWrapper(io.BytesIO())\ntry: runpy.run_path(%r)\n"
             "except SystemExit: pass\nsys.stderr.write(' '.join(m for m in ('click','keyring','cryptography',"
             "'tomllib') if m in sys.modules))") % str(launcher)
    done = subprocess.run([python, "-IS", "-c", probe], env=run_env, capture_output=True, text=True, check=True)
    assert done.stderr == ""


def test_second_run_changes_nothing(installed):
    home, env, _ = installed
    before = snapshot(home)
    again = subprocess.run([str(ROOT / "install")], env=env, capture_output=True, text=True, check=True)
    assert "up to date" in again.stdout and "already" in again.stdout
    assert snapshot(home) == before


def test_help(installed):
    done = subprocess.run([str(ROOT / "install"), "--help"], capture_output=True, text=True, check=True)
    assert "--uninstall" in done.stdout and "credential.helper" in done.stdout


def test_uninstall_keeps_other_helpers(installed):
    home, env, _ = installed
    done = subprocess.run([str(ROOT / "install"), "--uninstall"], env=env, capture_output=True, text=True, check=True)
    assert "removed" in done.stdout
    assert not any((home / ".local" / "bin" / n).exists() for n in NAMES)
    assert not (home / ".local" / "share" / "gatepass" / "venv").exists()
    assert helpers(env) == ["store"]
