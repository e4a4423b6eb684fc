"""The gatepass command through click's CliRunner: every command and option, stdout and stderr apart."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gatepass.cli.main import COMMANDS, cli
from gatepass.stores.index import Index
from tests.conftest import write_config

CONFIG = """
[[git_provider]]
domain = "github.com"
accounts = [
  { username = "me", token = "tok-me" },
  { username = "acme-bot", token_env = "ACME_TOKEN", organizations = ["acme"] },
]
[[image_registry]]
accounts = [{ username = "hub", token = "tok-hub" }]
[[docker_registry]]
domain = "http://127.0.0.1:5000"
accounts = [{ username = "local", token_file = "local.token" }]
"""


def invoke(*args: str, input: str | None = None, code: int = 0):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def user_config(isolated_env):
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"], CONFIG)
    write_config(path.parent / "local.token", "tok-local\n")
    return path


def all_commands():
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        yield [name]
        if isinstance(command, click.Group):
            for sub in command.commands:
                yield [name, sub]


@pytest.mark.parametrize("path", list(all_commands()), ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    result = invoke(*path, "--help")
    assert "Usage:" in result.stdout
    command = cli
    for name in path:
        command = command.get_command(click.Context(command), name)
    if not isinstance(command, click.Group):
        assert "Example" in result.stdout


def test_list_shows_layers_sources_and_never_tokens(user_config):
    result = invoke("list")
    assert "me" in result.stdout and "acme-bot" in result.stdout and "UNREADABLE" in result.stdout
    assert "tok-" not in result.stdout + result.stderr
    rows = json.loads(invoke("list", "--json").stdout)
    by_user = {r["username"]: r for r in rows}
    assert by_user["me"]["source"] == "inline" and by_user["me"]["where"] == f"{user_config}:5"
    problem = by_user["acme-bot"]["problem"]
    assert by_user["acme-bot"]["readable"] is False and "the environment variable its token_env names is not set" in problem
    assert "ACME_TOKEN" not in by_user["acme-bot"]["problem"]  # a token_env value is never echoed
    assert by_user["local"]["source"] == "file" and by_user["local"]["readable"] is True
    assert {r["kind"] for r in json.loads(invoke("list", "--kind", "docker", "--json").stdout)} == {"docker"}


def test_login_token_stdin_then_logout(user_config, isolated_env):
    invoke("login", "git", "github.com", "--username", "typed", "--token-stdin", input="tok-typed\n")
    [entry] = Index(isolated_env).entries()
    assert (entry.kind, entry.host, entry.username) == ("git", "github.com", "typed")
    rows = json.loads(invoke("list", "--json").stdout)
    assert rows[0]["layer"] == "store" and rows[0]["readable"] is True
    done = subprocess.run(["git-credential-gatepass", "get"], input=b"protocol=https\nhost=github.com\n",
                          capture_output=True, check=True)
    assert done.stdout == b"username=typed\npassword=tok-typed\n"
    invoke("logout", "git", "github.com", "--username", "typed")
    assert Index(isolated_env).entries() == []


def test_login_refuses_what_it_cannot_use(user_config):
    assert "needs --username" in invoke("login", "git", "github.com", "--token-stdin", input="x\n", code=1).stderr
    assert "empty" in invoke("login", "git", "github.com", "-u", "a", "--token-stdin", input="\n", code=1).stderr
    bad = invoke("login", "git", "https://github.com/path", "-u", "a", "--token-stdin", input="x\n", code=1)
    assert "is not a host" in bad.stderr and bad.stderr.count("\n") == 1
    assert "no terminal" in invoke("login", "docker", "ghcr.io", "-u", "a", code=1).stderr


def test_explain_names_the_winner_and_every_loser(user_config, monkeypatch):
    subprocess.run(["git", "config", "--global", "credential.useHttpPath", "true"], check=True)  # git sends the path
    result = invoke("explain", "https://github.com/acme/app.git")
    assert "-> me@github.com" in result.stdout and "unreadable secret" in result.stdout
    monkeypatch.setenv("ACME_TOKEN", "tok-acme")
    data = json.loads(invoke("explain", "https://github.com/acme/app.git", "--json").stdout)
    assert data["chosen"]["username"] == "acme-bot"
    assert [c["verdict"] for c in data["candidates"]] == ["chosen", "precedence"]
    other = json.loads(invoke("explain", "https://github.com/other/x.git", "--json").stdout)
    assert [(c["username"], c["verdict"]) for c in other["candidates"]] == [("me", "chosen"), ("acme-bot", "organization")]
    user = json.loads(invoke("explain", "https://nobody@github.com/x.git", "--json").stdout)
    assert user["chosen"] is None and {c["verdict"] for c in user["candidates"]} == {"username"}
    plain = json.loads(invoke("explain", "http://github.com/x.git", "--json").stdout)
    assert {c["verdict"] for c in plain["candidates"]} == {"scheme"}
    docker = json.loads(invoke("explain", "docker.io", "--json").stdout)
    assert docker["kind"] == "docker" and docker["chosen"]["username"] == "hub"
    assert "tok-" not in json.dumps(data) + json.dumps(docker)
    assert "is not a registry" in invoke("explain", "bad host!", "--kind", "docker", code=1).stderr


def test_config_check_reports_errors_and_exits_1(user_config, tmp_path):
    assert invoke("config", "check", code=1).stderr.count("the environment variable its token_env names is not set") == 1
    write_config(user_config, CONFIG.replace('token_env = "ACME_TOKEN"', 'token = "x"'))
    assert "4 account(s)" in invoke("config", "check").stdout
    write_config(user_config, "[[git_provider]]\ndomain = 5\n")
    data = json.loads(invoke("config", "check", "--json", code=1).stdout)
    assert any("git_provider[0].domain" in e for e in data["errors"])


def git_config(*args: str) -> str:
    return subprocess.run(["git", "config", "--global", *args], capture_output=True, text=True).stdout


def test_setup_git_is_idempotent_keeps_helpers_and_undoes(user_config):
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "store"], check=True)
    invoke("setup", "git", "--keep-helpers")
    invoke("setup", "git", "--keep-helpers")
    assert [os.path.basename(h) for h in git_config("--get-all", "credential.helper").split()] == [
        "git-credential-gatepass", "store"]
    assert git_config("--get", "credential.https://github.com/acme.username").strip() == "acme-bot"
    invoke("setup", "git", "--undo")
    assert git_config("--get-all", "credential.helper").split() == ["store"]
    assert git_config("--get", "credential.https://github.com/acme.username") == ""


def test_setup_docker_keeps_other_keys_backs_up_and_undoes(user_config, isolated_env, monkeypatch):
    docker_dir = Path(isolated_env["HOME"]) / ".docker"
    docker_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    original = {"auths": {"quay.io": {}}, "credHelpers": {"gcr.io": "gcloud", "docker.io": "desktop"}, "psFormat": "x"}
    (docker_dir / "config.json").write_text(json.dumps(original))
    invoke("setup", "docker", "--creds-store")
    data = json.loads((docker_dir / "config.json").read_text())
    assert data["credHelpers"] == {"gcr.io": "gcloud", "docker.io": "gatepass", "127.0.0.1:5000": "gatepass",
                                   "https://index.docker.io/v1/": "gatepass"}
    assert data["credsStore"] == "gatepass" and data["psFormat"] == "x" and data["auths"] == {"quay.io": {}}
    assert json.loads((docker_dir / "config.json.gatepass-backup").read_text()) == original
    assert "already" in invoke("setup", "docker", "--creds-store").stderr
    invoke("setup", "docker", "--undo")
    assert json.loads((docker_dir / "config.json").read_text()) == original


def test_import_docker_config_dry_run_then_real_with_remove(user_config, isolated_env, tmp_path):
    path = tmp_path / "config.json"
    auth = base64.b64encode(b"ci:tok-ci").decode()
    path.write_text(json.dumps({"auths": {"registry.example:5000": {"auth": auth},
                                          "https://index.docker.io/v1/": {"identitytoken": "id-tok"},
                                          "empty.example": {}}}))
    assert "2 credential(s) found" in invoke("import", "docker-config", str(path), "--dry-run").stderr
    assert Index(isolated_env).entries() == []
    invoke("import", "docker-config", str(path), "--remove")
    done = subprocess.run(["docker-credential-gatepass", "get"], input=b"registry.example:5000",
                          capture_output=True, check=True)
    assert json.loads(done.stdout)["Secret"] == "tok-ci"
    hub = subprocess.run(["docker-credential-gatepass", "get"], input=b"https://index.docker.io/v1/",
                         capture_output=True, check=True)
    assert json.loads(hub.stdout)["Username"] == "<token>"
    assert "tok-ci" not in path.read_text() and "id-tok" not in path.read_text()


def test_import_git_credentials(user_config, tmp_path):
    path = tmp_path / "git-credentials"
    path.write_text("https://dev:p%40ss@git.example.com\nhttp://ci:tok@127.0.0.1:8080/team/repo.git\njunk\n")
    result = invoke("import", "git-credentials", str(path), "--remove")
    assert "2 credential(s) imported" in result.stderr and "line 3" in result.stderr
    done = subprocess.run(["git-credential-gatepass", "get"], input=b"protocol=https\nhost=git.example.com\n",
                          capture_output=True, check=True)
    assert done.stdout == b"username=dev\npassword=p@ss\n"
    assert path.read_text() == "junk\n"


def test_doctor_reports_each_check(user_config):
    result = invoke("doctor", code=1)  # git and docker are not wired in a fresh HOME
    assert "OK   store backend encrypted-file: write/read/delete works" in result.stdout
    assert "FIX  git does not ask gatepass first" in result.stdout
    invoke("setup", "git")
    assert "OK   git asks gatepass first" in invoke("doctor", code=1).stdout


def test_unexpected_errors_are_one_line_without_debug(user_config, monkeypatch):
    import gatepass.cli.cmd_list as cmd_list

    def boom(*args):
        raise RuntimeError("kaboom tok-secret")

    monkeypatch.setattr(cmd_list, "load_all", boom)
    result = invoke("list", code=1)
    assert result.stderr.count("\n") == 1 and "internal error (RuntimeError)" in result.stderr and "--debug" in result.stderr
    assert "tok-secret" not in result.stderr
    with pytest.raises(RuntimeError):
        CliRunner().invoke(cli, ["--debug", "list"], catch_exceptions=False)


def test_help_does_not_import_subcommands():
    code = "import sys; from gatepass.cli.main import cli; print([m for m in sys.modules if 'cmd_' in m])"
    done = subprocess.run([os.path.join(os.path.dirname(os.sys.executable), "python"), "-c", code],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_config_check_refuses_commands_in_files_others_can_write(isolated_env):
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"],
                        '[[git_provider]]\naccounts = [{ username = "a", token_command = ["true"] }]\n', 0o622)
    result = invoke("config", "check", code=1)
    assert f"chmod go-w {path}" in result.stderr


@pytest.mark.parametrize("kind, domain", [("git", "https://me:ghp_SECRETSECRET@github.com"),
                                          ("git", "me:ghp_SECRETSECRET@github.com"),
                                          ("docker", "me:ghp_SECRETSECRET@ghcr.io")])
def test_a_login_domain_with_a_pasted_token_is_refused_without_echoing_it(kind, domain):
    from gatepass.cli.cmd_login import entry_for
    from gatepass.errors import GatepassError

    with pytest.raises(GatepassError) as refused:
        entry_for(kind, domain, "me")
    assert "ghp_SECRET" not in str(refused.value) and "userinfo removed" in str(refused.value)
