"""`import docker-config --remove` leaves no plaintext copy the user did not ask for, and `setup
docker` never replaces a backup silently (issue #12 item 6)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from tests.conftest import write_config

CONFIG = '[[docker_registry]]\ndomain = "other.example"\naccounts = [{ username = "o", token = "tok-o" }]\n'


def invoke(*args: str) -> object:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


@pytest.fixture
def docker_dir(isolated_env, monkeypatch):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], CONFIG)
    path = Path(isolated_env["HOME"]) / "dockercfg"
    path.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    return path


def plaintext_anywhere(directory: Path, secret: str) -> list[str]:
    encoded = base64.b64encode(f"ci:{secret}".encode()).decode()
    return [p.name for p in directory.iterdir() if secret in p.read_text() or encoded in p.read_text()]


def test_import_remove_writes_no_backup_holding_the_secrets(docker_dir):
    path = docker_dir / "config.json"
    path.write_text(json.dumps({"auths": {"registry.example:5000": {"auth": base64.b64encode(b"ci:tok-ci").decode()}},
                                "psFormat": "x"}))
    invoke("import", "docker-config", str(path), "--remove")
    assert plaintext_anywhere(docker_dir, "tok-ci") == []
    assert json.loads(path.read_text())["psFormat"] == "x"


def test_import_remove_also_empties_the_setup_backup(docker_dir):
    """setup docker backed up a config.json that still held auths; --remove takes them out of it too."""
    path = docker_dir / "config.json"
    path.write_text(json.dumps({"auths": {"registry.example:5000": {"auth": base64.b64encode(b"ci:tok-ci").decode()}},
                                "credsStore": "desktop"}))
    invoke("setup", "docker", "--creds-store")
    assert sorted(plaintext_anywhere(docker_dir, "tok-ci")) == ["config.json", "config.json.gatepass-backup"]
    result = invoke("import", "docker-config", str(path), "--remove")
    assert "from " + str(path) + ".gatepass-backup too" in result.stderr  # type: ignore[attr-defined]
    assert plaintext_anywhere(docker_dir, "tok-ci") == []
    backup = json.loads((docker_dir / "config.json.gatepass-backup").read_text())
    assert backup["credsStore"] == "desktop"  # what --undo puts back is kept
    assert os.stat(docker_dir / "config.json.gatepass-backup").st_mode & 0o077 == 0


def test_setup_says_when_it_replaces_an_earlier_backup(docker_dir):
    path = docker_dir / "config.json"
    path.write_text(json.dumps({"credsStore": "desktop"}))
    assert "replacing" not in invoke("setup", "docker", "--creds-store").stderr  # type: ignore[attr-defined]
    invoke("setup", "docker", "--undo")
    path.write_text(json.dumps({"credsStore": "pass"}))
    assert "replacing the one taken before" in invoke("setup", "docker", "--creds-store").stderr  # type: ignore[attr-defined]
