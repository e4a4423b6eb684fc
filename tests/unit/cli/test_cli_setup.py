"""`gatepass setup git|docker` against real `git config` and real files: idempotent, keeps what was there, undoes exactly."""

from __future__ import annotations

import json
import os
import posix
import signal
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatepass.cli import dockerconfig
from gatepass.cli.main import cli
from tests.conftest import VENV_BIN, write_config

HELPER = os.path.join(VENV_BIN, "git-credential-gatepass")  # the one beside this interpreter, by absolute path

CONFIG = """
[[git_provider]]
domain = "github.com"
accounts = [
  { username = "me", token = "tok-me" },
  { username = "acme-bot", token = "tok-acme", organizations = ["acme", "Beta"] },
]
[[git_provider]]
domain = "git.corp:8443"
accounts = [{ username = "corp-bot", token = "tok-c", organizations = ["team"] }]
[[git_provider]]
domain = "plain.corp"
https = false
organizations = ["ops"]
accounts = [{ username = "ops-bot", token = "tok-o" }]
[[git_provider]]
domain = "*.forge.corp"
accounts = [{ username = "wild", token = "tok-w", organizations = ["x"] }]
[[docker_registry]]
accounts = [{ username = "hub", token = "tok-hub" }]
[[docker_registry]]
domain = "http://127.0.0.1:5000"
accounts = [{ username = "local", token = "tok-local" }]
[[docker_registry]]
domain = "ghcr.io"
accounts = [{ username = "gh", token = "tok-gh" }]
[[docker_registry]]
domain = "*.ecr.example"
accounts = [{ username = "AWS", token = "tok-aws" }]
"""
USERNAME_KEYS = {
    "credential.https://github.com/acme.username": "acme-bot",
    "credential.https://github.com/Beta.username": "acme-bot",  # as written: git matches the path case-sensitively
    "credential.https://git.corp:8443/team.username": "corp-bot",
    "credential.http://plain.corp/ops.username": "ops-bot",
    "credential.https://*.forge.corp/x.username": "wild",
}


def invoke(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["setup", *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "tok-" not in result.stdout + result.stderr
    return result


def git(*args: str, scope: str = "--global") -> str:
    return subprocess.run(["git", "config", scope, *args], capture_output=True, text=True).stdout


def helpers(scope: str = "--global") -> list[str]:
    return git("-z", "--get-all", "credential.helper", scope=scope).split("\0")[:-1]


def git_list(scope: str = "--global") -> list[str]:
    return git("--list", scope=scope).splitlines()


@pytest.fixture
def config(isolated_env):
    return write_config(isolated_env["GATEPASS_USER_CONFIG"], CONFIG)


# --- git ----------------------------------------------------------------------------------------

def test_setup_git_writes_the_global_use_http_path_when_asked_and_keeps_it_until_undo(config):
    """libgit2 clients (cargo) ignore credential.<url>.username and host-scoped useHttpPath: the global one is their fix."""
    invoke("git")
    assert git("--get", "credential.useHttpPath") == ""  # not unless asked
    assert "credential.useHttpPath true" in invoke("git", "--use-http-path").stderr
    invoke("git")  # a later run without the flag keeps what was asked for
    assert git("--get", "credential.useHttpPath").strip() == "true"
    invoke("git", "--undo")
    assert git("--get", "credential.useHttpPath") == ""


def test_setup_git_makes_gatepass_the_only_helper_by_absolute_path(config):
    """A plaintext `store` after gatepass would be told every token gatepass answers (issue 11 item 2)."""
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "store"], check=True)
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "cache --timeout=60"], check=True)
    result = invoke("git")
    assert helpers() == ["", HELPER]
    for key, user in USERNAME_KEYS.items():
        assert git("--get", key).strip() == user, key
    assert f"credential.helper is now (reset), {HELPER} (was: store, cache --timeout=60)" in result.stderr
    assert "git no longer asks store, cache --timeout=60; --keep-helpers keeps them" in result.stderr
    assert result.stdout == ""


def test_keep_helpers_keeps_them_after_gatepass_and_names_the_plaintext_one(config):
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "store"], check=True)
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "cache --timeout=60"], check=True)
    result = invoke("git", "--keep-helpers")
    assert helpers() == [HELPER, "store", "cache --timeout=60"]
    assert "credential.helper store stays after gatepass and stores every token gatepass answers in plaintext" in result.stderr
    assert "cache --timeout=60 stays" not in result.stderr
    invoke("git")  # without the flag: back to gatepass alone
    assert helpers() == ["", HELPER]
    invoke("git", "--undo")
    assert helpers() == ["store", "cache --timeout=60"]


def test_undo_removes_a_git_config_file_setup_created(config, isolated_env):
    path = Path(isolated_env["GIT_CONFIG_GLOBAL"])
    invoke("git")
    assert path.exists()
    result = invoke("git", "--undo")
    assert not path.exists() and f"removed {path}, which gatepass setup had created" in result.stderr
    path.write_text("[user]\n\tname = Someone\n")  # a file that was there stays, even if setup leaves it small
    invoke("git")
    invoke("git", "--undo")
    assert path.read_text() == "[user]\n\tname = Someone\n"


def test_helper_must_be_an_absolute_path(config):
    result = invoke("git", "--helper", "bin/git-credential-gatepass", code=1)
    assert "must be an absolute path" in result.stderr and helpers() == []


def test_git_uses_the_username_keys_for_the_organization_path(config):
    invoke("git")
    urlmatch = ["git", "config", "--get-urlmatch", "credential.username"]
    # git's URL match is case-sensitive in the path: a remote .../Beta/... needs the key written as Beta (issue 13 item 9)
    assert subprocess.run([*urlmatch, "https://github.com/Beta/app.git"], capture_output=True, text=True).stdout == "acme-bot\n"
    assert subprocess.run([*urlmatch, "https://github.com/acme/app.git"], capture_output=True, text=True).stdout == "acme-bot\n"
    assert subprocess.run([*urlmatch, "https://github.com/other/app.git"], capture_output=True, text=True).stdout == ""
    assert subprocess.run([*urlmatch, "https://a.forge.corp/x/r"], capture_output=True, text=True).stdout == "wild\n"


def test_setup_git_is_idempotent(config, isolated_env):
    invoke("git")
    before = Path(isolated_env["GIT_CONFIG_GLOBAL"]).read_bytes()
    assert "already wired; nothing changed" in invoke("git").stderr
    assert Path(isolated_env["GIT_CONFIG_GLOBAL"]).read_bytes() == before


def test_undo_restores_exactly_what_was_there(config, isolated_env):
    for value in ("store", "", "osxkeychain"):
        subprocess.run(["git", "config", "--global", "--add", "credential.helper", value], check=True)
    subprocess.run(["git", "config", "--global", "user.name", "Someone"], check=True)
    original, raw = git_list(), Path(isolated_env["GIT_CONFIG_GLOBAL"]).read_bytes()
    invoke("git", "--keep-helpers")
    assert helpers() == ["store", "", HELPER, "osxkeychain"]  # first after the reset: git really asks it
    invoke("git", "--undo")
    assert git_list() == original and Path(isolated_env["GIT_CONFIG_GLOBAL"]).read_bytes() == raw
    assert "already" not in invoke("git", "--undo").stderr and git_list() == original  # undo twice: still the same


@pytest.mark.parametrize("before, after", [(["store", "gatepass"], [HELPER, "store"]),
                                           (["", "store", "gatepass"], ["", HELPER, "store"])])
def test_undo_puts_a_reordered_helper_list_back(config, before, after):
    for value in before:
        subprocess.run(["git", "config", "--global", "--add", "credential.helper", value], check=True)
    invoke("git", "--keep-helpers")
    assert helpers() == after
    invoke("git", "--undo")
    assert helpers() == before and git("--get-regexp", "^gatepass[.]") == ""


def test_helper_put_there_by_someone_else_stays_on_undo(config):
    subprocess.run(["git", "config", "--global", "credential.helper", "gatepass"], check=True)  # by hand
    invoke("git")
    invoke("git", "--undo")
    assert helpers() == ["gatepass"]
    assert git("--get", "credential.https://github.com/acme.username") == ""
    result = invoke("git", "--undo")
    assert helpers() == ["gatepass"] and "was not added by gatepass setup" in result.stderr


def test_undo_after_the_list_changed_removes_only_gatepass(config):
    invoke("git")
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "cache"], check=True)
    result = invoke("git", "--undo")
    assert helpers() == ["", "cache"] and "it changed since setup" in result.stderr


def test_a_username_key_you_set_is_left_alone(config):
    subprocess.run(["git", "config", "--global", "credential.https://github.com/acme.username", "mine"], check=True)
    result = invoke("git")
    assert "already sets credential.https://github.com/acme.username to mine; left as is" in result.stderr
    invoke("git", "--undo")
    assert git("--get", "credential.https://github.com/acme.username").strip() == "mine"


def test_keys_of_accounts_that_went_away_are_removed_on_the_next_setup(config, isolated_env):
    invoke("git")
    write_config(config, CONFIG.replace(', organizations = ["acme", "Beta"]', ""))
    result = invoke("git")
    assert git("--get", "credential.https://github.com/acme.username") == ""
    assert "removed credential.https://github.com/acme.username" in result.stderr
    assert git("--get", "credential.https://git.corp:8443/team.username").strip() == "corp-bot"


def test_two_accounts_claiming_one_organization_first_in_resolution_order_wins(config, isolated_env):
    write_config(isolated_env["GATEPASS_GLOBAL_CONFIG"],
                 '[[git_provider]]\naccounts = [{ username = "fleet-acme", token = "t", organizations = ["acme"] }]\n')
    result = invoke("git")
    assert git("--get", "credential.https://github.com/acme.username").strip() == "acme-bot"  # user beats global
    assert "fleet-acme@github.com is scoped to acme like acme-bot" in result.stderr


def test_setup_git_system_writes_the_system_file(config, tmp_path, monkeypatch):
    system = tmp_path / "gitconfig-system"
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(system))
    invoke("git", "--system")
    assert helpers("--system") == ["", HELPER] and helpers() == []
    invoke("git", "--system", "--undo")
    assert helpers("--system") == []


def test_git_config_failure_is_one_line(config, tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(tmp_path / "no" / "such" / "dir" / "gitconfig"))
    result = invoke("git", "--system", code=1)
    assert result.stderr.startswith("Error: git config --system") and result.stderr.count("\n") == 1


def test_ctrl_c_in_the_middle_of_setup_git_leaves_nothing_half_done(config, monkeypatch, sigint_handler):
    from gatepass.cli.gitconfig import GitConfig

    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "store"], check=True)
    real_run = GitConfig.run
    calls = []

    def run_then_interrupt(self, *args, **kwargs):
        done = real_run(self, *args, **kwargs)
        calls.append(args)
        if args[:2] == ("--replace-all", "credential.helper"):  # only the first helper is written yet
            os.kill(os.getpid(), signal.SIGINT)
        return done

    monkeypatch.setattr(GitConfig, "run", run_then_interrupt)
    result = CliRunner().invoke(cli, ["setup", "git"], catch_exceptions=False)
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert ("--replace-all", "credential.helper", "") in calls
    assert helpers() == ["", HELPER]  # the whole change was made before Ctrl-C took effect
    assert git("--get", "credential.https://github.com/acme.username").strip() == "acme-bot"


# --- docker -------------------------------------------------------------------------------------

@pytest.fixture
def docker_dir(isolated_env, monkeypatch):
    path = Path(isolated_env["HOME"]) / "dockercfg"
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    return path


def read(path: Path) -> dict:
    return json.loads(path.read_text())


ORIGINAL = {"auths": {"quay.io": {}}, "credHelpers": {"gcr.io": "gcloud", "docker.io": "desktop"},
            "credsStore": "desktop", "psFormat": "table {{.ID}}", "proxies": {"default": {"httpProxy": "http://p:3128"}}}


def test_setup_docker_creates_a_0600_file_in_a_0700_dir(config, docker_dir):
    result = invoke("docker")
    assert read(docker_dir / "config.json") == {"credHelpers": {
        "https://index.docker.io/v1/": "gatepass", "docker.io": "gatepass", "127.0.0.1:5000": "gatepass",
        "ghcr.io": "gatepass"}, "credsStore": "gatepass"}  # docker login anywhere else stores through gatepass too
    assert stat.S_IMODE((docker_dir / "config.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(docker_dir.stat().st_mode) == 0o700
    assert "*.ecr.example: a wildcard names no single registry" in result.stderr
    assert not (docker_dir / "config.json.gatepass-backup").exists()  # there was nothing to back up
    assert [p.name for p in docker_dir.iterdir()] == ["config.json"]  # no temp file left
    invoke("docker", "--undo")
    assert not (docker_dir / "config.json").exists()


def test_default_credsstore_is_gatepass_unless_another_helper_holds_it(config, docker_dir):
    """Without credsStore, `docker login` to a registry with no account here writes a base64 auth into
    config.json (issue 13 item 7); another helper's credsStore already keeps it out, so it stays."""
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"credsStore": "desktop"}))
    assert "credsStore desktop kept" in invoke("docker").stderr
    assert read(docker_dir / "config.json")["credsStore"] == "desktop"
    invoke("docker", "--creds-store")
    assert read(docker_dir / "config.json")["credsStore"] == "gatepass"
    invoke("docker", "--undo")
    (docker_dir / "config.json").write_text("{}")
    invoke("docker", "--no-creds-store")
    assert "credsStore" not in read(docker_dir / "config.json")


def test_setup_docker_keeps_every_other_key_and_the_mode_and_backs_up_first(config, docker_dir):
    docker_dir.mkdir()
    raw = json.dumps(ORIGINAL, indent=1).encode()
    (docker_dir / "config.json").write_bytes(raw)
    (docker_dir / "config.json").chmod(0o640)
    invoke("docker", "--creds-store")
    data = read(docker_dir / "config.json")
    assert data["credHelpers"] == {"gcr.io": "gcloud", "docker.io": "gatepass", "https://index.docker.io/v1/": "gatepass",
                                   "127.0.0.1:5000": "gatepass", "ghcr.io": "gatepass"}
    assert data["credsStore"] == "gatepass"
    assert {k: v for k, v in data.items() if k not in ("credHelpers", "credsStore")} == {
        k: v for k, v in ORIGINAL.items() if k not in ("credHelpers", "credsStore")}
    assert stat.S_IMODE((docker_dir / "config.json").stat().st_mode) == 0o640
    backup = docker_dir / "config.json.gatepass-backup"
    assert backup.read_bytes() == raw and stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_setup_docker_is_idempotent_and_undo_restores(config, docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps(ORIGINAL))
    invoke("docker", "--creds-store")
    before = (docker_dir / "config.json").stat()
    assert "already as wanted; nothing changed" in invoke("docker", "--creds-store").stderr
    assert (docker_dir / "config.json").stat().st_mtime_ns == before.st_mtime_ns
    invoke("docker", "--undo")
    assert read(docker_dir / "config.json") == ORIGINAL


def test_undo_keeps_what_changed_since_and_removes_only_gatepass_entries(config, docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"credHelpers": {"ghcr.io": "gatepass"}}))  # yours already
    invoke("docker", "--no-creds-store")
    data = read(docker_dir / "config.json")
    data["auths"] = {"new.example": {}}
    (docker_dir / "config.json").write_text(json.dumps(data))  # docker login ran meanwhile
    invoke("docker", "--undo")
    assert read(docker_dir / "config.json") == {"credHelpers": {"ghcr.io": "gatepass"}, "auths": {"new.example": {}}}


def test_a_new_round_refreshes_the_backup(config, docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"credsStore": "desktop"}))
    invoke("docker", "--creds-store")
    invoke("docker", "--undo")
    (docker_dir / "config.json").write_text(json.dumps({"credsStore": "pass"}))  # changed after the undo
    invoke("docker", "--creds-store")
    assert read(docker_dir / "config.json.gatepass-backup") == {"credsStore": "pass"}
    invoke("docker", "--undo")
    assert read(docker_dir / "config.json") == {"credsStore": "pass"}


def test_setup_docker_follows_a_symlinked_config(config, docker_dir, tmp_path):
    docker_dir.mkdir()
    target = tmp_path / "dotfiles" / "docker.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"psFormat": "x"}))
    (docker_dir / "config.json").symlink_to(target)
    invoke("docker")
    assert (docker_dir / "config.json").is_symlink()
    assert read(target)["credHelpers"]["ghcr.io"] == "gatepass" and read(target)["psFormat"] == "x"


def test_setup_docker_config_option_and_stored_registries(config, tmp_path):
    CliRunner().invoke(cli, ["login", "docker", "registry.example:5000", "-u", "ci", "--token-stdin"], input="tok-ci\n",
                       catch_exceptions=False)
    path = tmp_path / "elsewhere" / "config.json"
    invoke("docker", "--config", str(path))
    assert read(path)["credHelpers"]["registry.example:5000"] == "gatepass"


def test_setup_docker_refuses_a_broken_file_and_changes_nothing(config, docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text('{"auths": {"x": {"auth": "dG9rLXNlY3JldA=="}},')
    result = invoke("docker", code=1)
    assert "is not valid JSON" in result.stderr and result.stderr.count("\n") == 1 and "dG9r" not in result.stderr
    assert (docker_dir / "config.json").read_text().endswith(",") and not (docker_dir / "config.json.gatepass-backup").exists()
    (docker_dir / "config.json").write_text("[]")
    assert "is not a JSON object" in invoke("docker", code=1).stderr


def test_setup_docker_points_at_plain_auths_left_in_the_file(config, docker_dir):
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": "dG9rLXg="}}}))
    assert "still holds 1 credential(s) in auths" in invoke("docker").stderr


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "config.json"
    path.write_text('{"old": true}')

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    monkeypatch.setattr(posix, "replace", interrupted)  # gatepass.files calls posix directly
    with pytest.raises(KeyboardInterrupt):
        dockerconfig.write_file(str(path), b'{"new": true}')
    assert path.read_text() == '{"old": true}' and [p.name for p in path.parent.iterdir()] == ["config.json"]


# --- what ./install --uninstall runs -------------------------------------------------------------

def test_setup_uninstall_leaves_nothing_naming_gatepass_and_no_empty_gitconfig(config, isolated_env, docker_dir):
    """Issue 13 item 8: no credHelpers, no username keys, no 0-byte ~/.gitconfig where none existed."""
    gitconfig = Path(isolated_env["GIT_CONFIG_GLOBAL"])
    invoke("git")
    invoke("docker")
    assert git("--get", "credential.https://github.com/acme.username").strip() == "acme-bot"
    CliRunner().invoke(cli, ["setup", "uninstall"], catch_exceptions=False)
    assert not gitconfig.exists() and not (docker_dir / "config.json").exists()


def test_gatepass_uninstall_for_pip_and_pipx_users_undoes_every_setup(config, isolated_env, docker_dir):
    """pip and pipx have no ./install --uninstall: `gatepass uninstall` before `pipx uninstall` leaves git,
    docker and the containers tools naming no helper that is about to disappear."""
    gitconfig = Path(isolated_env["GIT_CONFIG_GLOBAL"])
    for target in ("git", "docker", "containers"):
        invoke(target)
    drop_in = Path(isolated_env["HOME"]) / ".config" / "containers" / "registries.conf.d" / "50-gatepass.conf"
    assert drop_in.exists()
    result = CliRunner().invoke(cli, ["uninstall"], catch_exceptions=False)
    assert result.exit_code == 0 and "pipx uninstall gatepass" in result.stderr
    assert not gitconfig.exists() and not (docker_dir / "config.json").exists() and not drop_in.exists()
    assert "uninstall" in CliRunner().invoke(cli, ["--help"]).stdout


def test_setup_uninstall_refuses_on_wiring_it_did_not_make_unless_forced(config, isolated_env):
    subprocess.run(["git", "config", "--global", "credential.https://ghe.corp.helper", "gatepass"], check=True)
    result = CliRunner().invoke(cli, ["setup", "uninstall"], catch_exceptions=False)
    assert result.exit_code == 1 and "credential.https://ghe.corp.helper gatepass" in result.stderr
    assert git("--get", "credential.https://ghe.corp.helper").strip() == "gatepass"  # listed, not removed
    assert CliRunner().invoke(cli, ["setup", "uninstall", "--force"], catch_exceptions=False).exit_code == 0
    assert git("--get", "credential.https://ghe.corp.helper") == ""


def test_the_reset_is_said_to_cover_the_system_helpers_too(config, tmp_path, monkeypatch):
    system = tmp_path / "gitconfig-system"
    system.write_text("[credential]\n\thelper = store\n")
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(system))
    monkeypatch.delenv("GIT_CONFIG_NOSYSTEM")
    result = invoke("git")
    assert "the reset also keeps git from asking the system config's store" in result.stderr
    effective = subprocess.run(["git", "config", "--get-all", "credential.helper"], capture_output=True, text=True).stdout
    assert effective.splitlines() == ["store", "", HELPER]  # git asks only what follows the reset
