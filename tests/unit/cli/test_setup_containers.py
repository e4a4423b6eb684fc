"""`gatepass setup containers`: credential-helpers in registries.conf, every other byte kept, undo exact (issue 13 item 6)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatepass.cli import registriesconf
from gatepass.cli.main import cli

USER_FILE = """# my registries
unqualified-search-registries = ["docker.io", "quay.io"]   # keep this comment
short-name-mode = "enforcing"

[[registry]]
location = "registry.corp:5000"
insecure = true

[aliases]
"ubi" = "registry.access.redhat.com/ubi9"
"""


def invoke(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["setup", "containers", *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def containers(isolated_env) -> Path:
    return Path(isolated_env["HOME"]) / ".config" / "containers"


def test_an_existing_user_file_gets_one_key_and_keeps_every_other_byte(containers):
    path = containers / "registries.conf"
    path.parent.mkdir(parents=True)
    path.write_text(USER_FILE)
    path.chmod(0o644)
    result = invoke()
    text = path.read_text()
    assert tomllib.loads(text)["credential-helpers"] == ["gatepass"]
    assert text.replace(registriesconf.COMMENT + "\n" + registriesconf.LINE + "\n\n", "") == USER_FILE
    assert text.index(registriesconf.LINE) < text.index("[[registry]]")  # top level, before the first table
    assert (containers / "registries.conf.gatepass-backup").read_text() == USER_FILE
    assert path.stat().st_mode & 0o777 == 0o644
    assert "wrote" in result.stderr
    assert "already wired; nothing changed" in invoke().stderr
    invoke("--undo")
    assert path.read_text() == USER_FILE


def test_an_existing_credential_helpers_value_is_replaced_and_put_back(containers):
    path = containers / "registries.conf"
    path.parent.mkdir(parents=True)
    original = 'credential-helpers = [\n  "containers-auth.json",\n  "secretservice",\n]\n[[registry]]\nlocation = "x.io"\n'
    path.write_text(original)
    invoke()
    assert path.read_text() == 'credential-helpers = ["gatepass"]\n[[registry]]\nlocation = "x.io"\n'
    invoke("--undo")
    assert path.read_text() == original


def test_without_a_user_file_a_drop_in_is_written_so_the_system_file_still_counts(containers):
    invoke()
    dropin = containers / "registries.conf.d" / "50-gatepass.conf"
    assert tomllib.loads(dropin.read_text()) == {"credential-helpers": ["gatepass"]}
    assert not (containers / "registries.conf").exists()
    result = invoke("--undo")
    assert not dropin.exists() and "removed" in result.stderr


def test_undo_after_the_user_edited_the_file_takes_only_gatepass_out(containers):
    path = containers / "registries.conf"
    path.parent.mkdir(parents=True)
    path.write_text(USER_FILE)
    invoke()
    path.write_text(path.read_text() + '\n[[registry]]\nlocation = "new.io"\n')
    result = invoke("--undo")
    tree = tomllib.loads(path.read_text())
    assert "credential-helpers" not in tree and tree["registry"][-1]["location"] == "new.io"
    assert "changed since setup" in result.stderr


def test_containers_registries_conf_variable_and_system(isolated_env, tmp_path, monkeypatch):
    target = tmp_path / "custom.conf"
    target.write_text('unqualified-search-registries = ["docker.io"]')  # no final newline
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(target))
    invoke("--system")
    assert tomllib.loads(target.read_text()) == {"unqualified-search-registries": ["docker.io"],
                                                 "credential-helpers": ["gatepass"]}
    monkeypatch.delenv("CONTAINERS_REGISTRIES_CONF")
    assert registriesconf.config_path(os.environ, system=True) == "/etc/containers/registries.conf"


def test_a_broken_file_is_refused_and_left_alone(containers):
    path = containers / "registries.conf"
    path.parent.mkdir(parents=True)
    path.write_text("[[registry]\n")
    result = invoke(code=1)
    assert path.read_text() == "[[registry]\n" and result.stderr.count("\n") == 1
    assert "nothing was changed" in result.stderr


@pytest.mark.parametrize("target", ["containers", "docker"])
def test_setup_refuses_to_name_a_helper_that_is_not_on_path(isolated_env, monkeypatch, target):
    """docker, podman and skopeo fail every registry, public pulls included, when the named helper is missing."""
    import sys

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("DOCKER_CONFIG", str(Path(isolated_env["HOME"]) / ".docker"))
    result = CliRunner().invoke(cli, ["setup", target])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "docker-credential-gatepass is not on PATH" in result.stderr
    assert f"put {os.path.dirname(sys.executable)} on PATH (it is there)" in result.stderr
    assert not (Path(isolated_env["HOME"]) / ".config" / "containers").exists()
    assert not (Path(isolated_env["HOME"]) / ".docker").exists()
    forced = CliRunner().invoke(cli, ["setup", target, "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert (Path(isolated_env["HOME"]) / (".docker" if target == "docker" else ".config/containers")).exists()
