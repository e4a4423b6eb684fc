"""`gatepass config check`: every layer parsed now (not from the cache), secrets and modes checked, exit 1 on errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from gatepass.hostkey import create_key
from gatepass.sealing import parse_recipient, seal
from tests.conftest import write_config

GOOD = """
[[git_provider]]
domain = "github.com"
accounts = [
  { username = "me", token = "tok-me" },
  { username = "ci", token_file = "ci.token" },
  { username = "ops", token_env = "OPS_TOKEN" },
]
"""


def check(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["config", "check", *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "tok-" not in result.stdout + result.stderr
    return result


@pytest.fixture
def user(isolated_env, monkeypatch):
    monkeypatch.setenv("OPS_TOKEN", "tok-ops")
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"], GOOD)
    write_config(path.parent / "ci.token", "tok-ci\n")
    return path


def test_clean_config_lists_files_found_and_not_and_exits_0(user, isolated_env):
    result = check()
    assert result.stdout.splitlines() == [
        f"global  {isolated_env['GATEPASS_GLOBAL_CONFIG']}: not found",
        f"host    {isolated_env['GATEPASS_HOST_CONFIG']}: not found",
        f"user    {user}: found, 3 account(s)",
        "3 account(s) in 1 file(s); 0 error(s), 0 warning(s)"]
    assert result.stderr == ""
    data = json.loads(check("--json").stdout)
    assert data["errors"] == [] and data["accounts"] == 3
    assert [(f["layer"], f["exists"], f["accounts"]) for f in data["files"]] == [("global", False, 0), ("host", False, 0),
                                                                                 ("user", True, 3)]


def test_missing_env_var_and_unreadable_token_file_are_errors(user, monkeypatch):
    monkeypatch.delenv("OPS_TOKEN")
    (user.parent / "ci.token").unlink()
    result = check(code=1)
    assert f"error: {user}:7: account ops@github.com: the environment variable its token_env names is not set" in result.stderr
    assert f"error: {user}:6: account ci@github.com: its token_file cannot be opened" in result.stderr
    (user.parent / "ci.token").mkdir()
    assert "is not a regular file" in check(code=1).stderr


def test_syntax_and_schema_errors_name_file_line_and_key_and_other_layers_still_count(user, isolated_env):
    bad = write_config(isolated_env["GATEPASS_GLOBAL_CONFIG"], '[[git_provider]]\naccounts = [{ username = "x", tokn = "tok-x" }]\n')
    dropin = write_config(Path(isolated_env["GATEPASS_HOST_CONFIG"]).with_suffix(".d") / "a.toml", "[[git_provider]\n")
    data = json.loads(check("--json", code=1).stdout)
    assert any(e.startswith(f"{bad}:2: git_provider[0].accounts[0].tokn: unknown key") for e in data["errors"])
    assert any(e.startswith(f"{dropin}:1") for e in data["errors"])
    assert data["accounts"] == 3  # the user layer still loads
    assert ("host", str(dropin), True) in {(f["layer"], f["path"], f["exists"]) for f in data["files"]}


def test_world_readable_inline_tokens_are_an_error_group_readable_is_fine(user):
    user.chmod(0o640)
    check()
    user.chmod(0o644)
    assert f"run: chmod 600 {user} (or 640 to share it with its group)" in check(code=1).stderr


def test_token_file_readable_by_others_is_a_warning_and_a_config_writable_by_others_an_error(user):
    (user.parent / "ci.token").chmod(0o644)
    result = check()
    assert f"warning: {user}:6: account ci@github.com: {user.parent / 'ci.token'}: token file is readable by other users; " \
           f"run: chmod o-r {user.parent / 'ci.token'}" in result.stderr
    assert "1 warning(s)" in result.stdout
    user.chmod(0o602)  # issue #11 item 3: such a layer contributes no secret, an error
    assert f"error: {user}: contributes no secret: {user} is writable by other users; run: chmod go-w {user}" \
        in check(code=1).stderr


def test_token_commands_are_checked_not_run(isolated_env, tmp_path):
    marker = tmp_path / "ran"
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[git_provider]]
accounts = [
  {{ username = "a", token_command = ["touch", "{marker}"] }},
  {{ username = "b", token_command = ["no-such-program-gatepass"] }},
]
""")
    result = check(code=1)
    assert not marker.exists()
    assert "token_command no-such-program-gatepass is not found on PATH" in result.stderr
    assert result.stderr.count("error:") == 1
    path.chmod(0o620)
    assert f"chmod go-w {path}" in check(code=1).stderr


def test_sealed_value_this_host_cannot_open_is_a_warning(isolated_env, tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_HOST_KEY", str(tmp_path / "absent.key"))
    sealed = seal("tok-s", parse_recipient(create_key(str(tmp_path / "k" / "other.key"))), "git", "https", "github.com", "s")
    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 f'[[git_provider]]\naccounts = [{{ username = "s", token = """\n{sealed}""" }}]\n', 0o644)
    result = check()  # sealed values may sit in world-readable files
    assert "warning: cannot be opened on this host: " in result.stderr and "account s@github.com" in result.stderr


def test_check_parses_the_files_now_never_from_the_cache(user, monkeypatch):
    from gatepass import app
    from gatepass.config import cache, cachewrite

    app.load(dict(os.environ), lambda message: None)  # fill the cache

    def no_cache(*args, **kwargs):
        raise AssertionError("config check must not use the parsed-config cache")

    monkeypatch.setattr(cache, "read", no_cache)
    monkeypatch.setattr(cachewrite, "write", no_cache)
    assert "3 account(s)" in check().stdout


def test_gatepass_config_override_lists_exactly_those_files(isolated_env, tmp_path, monkeypatch):
    a = write_config(tmp_path / "a.toml", '[[git_provider]]\naccounts = [{ username = "a", token = "tok-a" }]\n')
    monkeypatch.setenv("GATEPASS_CONFIG", f"{a}:{tmp_path / 'missing.toml'}")
    data = json.loads(check("--json").stdout)
    assert [(f["layer"], f["path"], f["exists"]) for f in data["files"]] == [
        ("config", str(a), True), ("config", str(tmp_path / "missing.toml"), False)]
