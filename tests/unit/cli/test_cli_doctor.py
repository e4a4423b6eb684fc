"""`gatepass doctor`: one line per check, OK or what to do, against real executables, git config and files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatepass import __version__
from gatepass.cli.main import cli
from tests.conftest import write_config

CONFIG = """
[[git_provider]]
accounts = [
  { username = "me", token = "tok-me" },
  { username = "acme-bot", token = "tok-acme", organizations = ["acme"] },
]
[[docker_registry]]
domain = "ghcr.io"
accounts = [{ username = "gh", token = "tok-gh" }]
"""


def doctor(code: int | None = None) -> tuple[list[str], str]:
    result = CliRunner().invoke(cli, ["doctor"], catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, (result.stdout, result.stderr)
    assert "tok-" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith(("OK   ", "FIX  ")) for line in lines), lines
    return lines, result.stderr


def line_with(lines: list[str], text: str) -> str:
    found = [line for line in lines if text in line]
    assert len(found) == 1, (text, lines)
    return found[0]


def on_path(fake: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An executable shell script ``fake`` holding ``script``, its directory first on PATH."""
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    return fake


@pytest.fixture
def config(isolated_env, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(Path(isolated_env["HOME"]) / ".docker"))
    return write_config(isolated_env["GATEPASS_USER_CONFIG"], CONFIG)


def wire() -> None:
    for args in (["setup", "git"], ["setup", "docker"], ["setup", "containers"]):
        assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0


def test_fresh_install_says_what_to_wire(config):
    lines, stderr = doctor(code=1)
    bin_dir = os.path.dirname(sys.executable)
    assert lines[0].startswith(f"OK   gatepass {__version__} on Python ")
    assert f"OK   git runs {bin_dir}/git-credential-gatepass" in lines
    assert f"OK   docker runs {bin_dir}/docker-credential-gatepass" in lines
    assert line_with(lines, "config files:").endswith(f"{config}; 3 account(s)")
    assert "OK   store backend encrypted-file: write/read/delete works" in lines
    assert line_with(lines, "git does not ask gatepass first").startswith("FIX ")
    assert line_with(lines, "git will not send acme-bot for https://github.com/acme/").endswith("run: gatepass setup git")
    assert line_with(lines, "does not send ghcr.io to gatepass").endswith("run: gatepass setup docker")
    assert stderr == ""


def test_all_ok_after_setup(config):
    wire()
    lines, _ = doctor(code=0)
    helper = os.path.join(os.path.dirname(sys.executable), "git-credential-gatepass")
    assert f"OK   git asks gatepass first (credential.helper: {helper})" in lines
    assert f"OK   git runs {helper}" in lines
    assert line_with(lines, "sends every configured registry to gatepass").startswith("OK ")


def test_json(config):
    wire()
    result = CliRunner().invoke(cli, ["doctor", "--json"], catch_exceptions=False)
    checks = json.loads(result.stdout)
    assert result.exit_code == 0 and all(c["ok"] for c in checks)
    containers = {"containers-wiring"} if any(shutil.which(t) for t in ("podman", "buildah", "skopeo")) else set()
    assert {c["check"] for c in checks} == {"versions", "git-helper", "docker-helper", "config", "cache", "bus", "store", "git-wiring",
                                            "docker-wiring"} | containers


def test_podman_not_wired_with_nothing_in_auth_json_is_a_note(config, tmp_path, monkeypatch):
    """podman installed, not wired, no login anywhere: nothing to fix yet, a note says what setup would do."""
    on_path(tmp_path / "tools" / "podman", "", monkeypatch)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    for args in (["setup", "git"], ["setup", "docker"]):
        assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    lines, _ = doctor(code=0)
    assert line_with(lines, "would log in to auth.json").startswith("OK   note: podman")
    assert line_with(lines, "would log in to auth.json").endswith("gatepass setup containers")


def test_podman_logins_in_auth_json_are_a_fix(config, tmp_path, monkeypatch):
    """podman/buildah/skopeo not wired and an auth.json holding a base64 password: that is a FIX."""
    on_path(tmp_path / "tools" / "podman", "", monkeypatch)
    auth = tmp_path / "run" / "containers" / "auth.json"
    auth.parent.mkdir(parents=True)
    auth.write_text(json.dumps({"auths": {"registry.test": {"auth": "dTpwdy1zZWNyZXQ="}, "other.test": {}}}))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    lines, _ = doctor(code=1)
    line = line_with(lines, f"{auth} holds 1 base64 password(s)")
    assert line.startswith("FIX ") and line.endswith(f"gatepass import docker-config {auth} --remove")
    wire()
    lines, _ = doctor()
    assert line_with(lines, "ask gatepass (").startswith("OK ")


def test_another_helper_before_gatepass(config):
    wire()
    subprocess.run(["git", "config", "--global", "--replace-all", "credential.helper", "store"], check=True)
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "gatepass"], check=True)
    lines, _ = doctor(code=1)
    assert "FIX  git asks store before gatepass (store, gatepass); run: gatepass setup git" in lines


@pytest.mark.parametrize("after, fix", [
    ("store", "credential.helper store after gatepass writes every token gatepass answers to ~/.git-credentials in plaintext"),
    ("/opt/bin/git-credential-mine", "credential.helper /opt/bin/git-credential-mine after gatepass is told every token"),
    ("cache --timeout=60", None),
])
def test_a_plaintext_or_unknown_helper_after_gatepass_is_a_fix(config, after, fix):
    """git approves to every helper: `store` after gatepass writes its tokens to disk (issue 11 item 2)."""
    wire()
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", after], check=True)
    lines, _ = doctor(code=1 if fix else 0)
    assert line_with(lines, "git asks gatepass first").startswith("OK ")
    if fix:
        assert line_with(lines, fix).startswith("FIX ") and line_with(lines, fix).endswith("run: gatepass setup git" if
                                                                                          after == "store" else "(or remove it)")


def test_executables_missing_from_path(config, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    lines, _ = doctor(code=1)
    # this venv was made by pip (./test), not ./install: the advice fits pip and pipx (issue 13 item 9)
    advice = f"reinstall (pip install --force-reinstall gatepass) and put {os.path.dirname(sys.executable)} on PATH"
    assert f"FIX  git-credential-gatepass is not on PATH (nor in git --exec-path); {advice}" in lines
    assert f"FIX  docker-credential-gatepass is not on PATH; {advice}" in lines
    assert "./install" not in "\n".join(lines)


def test_an_older_docker_helper_first_on_path(config, tmp_path, monkeypatch):
    fake = on_path(tmp_path / "bin" / "docker-credential-gatepass", "echo 'docker-credential-gatepass (gatepass) 0.0.1'\n",
                   monkeypatch)
    lines, _ = doctor(code=1)
    assert line_with(lines, f"{fake} says 'docker-credential-gatepass (gatepass) 0.0.1'").endswith("on PATH")


def test_config_errors_and_loose_modes(config, isolated_env):
    write_config(isolated_env["GATEPASS_GLOBAL_CONFIG"], "[[git_provider]\n")
    config.chmod(0o606)
    data = Path(isolated_env["XDG_DATA_HOME"]) / "gatepass"
    data.mkdir(parents=True)
    data.chmod(0o755)
    lines, _ = doctor(code=1)
    assert line_with(lines, f"{isolated_env['GATEPASS_GLOBAL_CONFIG']}:1").endswith("see: gatepass config check")
    assert line_with(lines, "holds tokens and other users can read it").startswith("FIX ")
    assert f"FIX  {data} is 755, should be 700; run: chmod 700 {data}" in lines
    assert f"run: chmod 600 {config}" in line_with(lines, "holds tokens and other users can read it")


def test_store_round_trip_failure_is_reported(config, monkeypatch):
    from gatepass.errors import StoreUnavailableError
    from gatepass.stores.layer import Store

    def broken(self, name=None):
        raise StoreUnavailableError("the keyring is locked; unlock it")

    monkeypatch.setattr(Store, "backend", broken)
    lines, _ = doctor(code=1)
    assert "FIX  store backend: the keyring is locked; unlock it" in lines


def test_after_the_readmes_steps_doctor_has_nothing_to_fix_on_a_machine_with_podman(isolated_env, tmp_path, monkeypatch):
    """Install, the README's minimal config (its token file in place), gatepass setup git: podman on PATH
    adds a note, not a FIX (it used to tell every podman user to run the very setup that broke rootless podman)."""
    import re

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    config = re.search(r"A minimal config.*?```toml\n(.*?)```", readme, re.S).group(1)
    secret = tmp_path / "acme"
    secret.write_text("tok-acme\n")
    secret.chmod(0o600)
    write_config(isolated_env["GATEPASS_USER_CONFIG"], config.replace("/run/secrets/acme", str(secret)))
    on_path(tmp_path / "tools" / "podman", "", monkeypatch)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert CliRunner().invoke(cli, ["setup", "git"], catch_exceptions=False).exit_code == 0
    lines, _ = doctor(code=0)
    assert line_with(lines, "would log in to auth.json").startswith("OK   note: podman")


def test_doctor_reports_a_token_cache_entry_the_helper_would_ignore(isolated_env):
    """The doctor judges an engine token entry by the helper's own rule: private mode and its size cap."""
    import time

    from gatepass.cli.cache_report import trust_report
    from gatepass.engines import tokencache

    env = dict(isolated_env)
    tokencache.put(env, ("doctor-test",), "tok-cached", int(time.time()) + 3600)
    assert tokencache.get(env, ("doctor-test",)) is not None
    assert all(ok or "token" not in line for ok, line in trust_report(env))
    [entry] = [os.path.join(tokencache.directory(env), name) for name in os.listdir(tokencache.directory(env))
               if "." not in name]
    os.chmod(entry, 0o640)
    assert tokencache.get(env, ("doctor-test",)) is None  # the helper ignores it
    problems = [line for ok, line in trust_report(env) if not ok]
    assert any("open to its group or others" in line for line in problems), problems
    assert all("tok-cached" not in line for _, line in trust_report(env))
