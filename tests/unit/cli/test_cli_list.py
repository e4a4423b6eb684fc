"""`gatepass list`: every account of every layer and the store, provenance, secret source kind, readability; no token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from gatepass.hostkey import create_key
from gatepass.sealing import parse_recipient, seal
from tests.conftest import write_config

TOKENS = ("tok-inline", "tok-file", "tok-env", "tok-cmd", "tok-sealed", "tok-stored", "tok-global", "tok-dropin")


def invoke(*args: str, input: str | None = None, code: int = 0):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    for token in TOKENS:
        assert token not in result.stdout and token not in result.stderr
    return result


@pytest.fixture
def layers(isolated_env, tmp_path, monkeypatch):
    """An account in every layer and of every secret source kind."""
    monkeypatch.setenv("GATEPASS_HOST_KEY", str(tmp_path / "no-host.key"))
    # a sealed value this host holds no key for
    sealed = seal("tok-sealed", parse_recipient(create_key(str(tmp_path / "k" / "other.key"))), "git", "https", "sealed.example", "s")
    monkeypatch.setenv("GL_TOKEN", "tok-env")
    user = write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[git_provider]]
domain = "github.com"
accounts = [
  {{ username = "inline", token = "tok-inline" }},
  {{ username = "file", token_file = "file.token", organizations = ["acme", "Beta"] }},
  {{ username = "env", token_env = "GL_TOKEN" }},
  {{ username = "cmd", token_command = ["printf", "tok-cmd"] }},
  {{ username = "keyring" }},
  {{ username = "unset", token_env = "NOT_SET_ANYWHERE" }},
]
[[git_provider]]
domain = "sealed.example"
accounts = [{{ username = "s", token = '''
{sealed}''' }}]
[[docker_registry]]
domain = "ghcr.io"
accounts = [{{ username = "ci", token = "tok-inline" }}]
""")
    write_config(user.parent / "file.token", "tok-file\n")
    glob = write_config(isolated_env["GATEPASS_GLOBAL_CONFIG"],
                        '[[git_provider]]\naccounts = [{ username = "fleet", token = "tok-global" }]\n')
    dropin = write_config(Path(isolated_env["GATEPASS_HOST_CONFIG"]).with_suffix(".d") / "10-a.toml",
                          '[[git_provider]]\ndomain = "git.corp"\naccounts = [{ username = "hostbot", token = "tok-dropin" }]\n')
    invoke("login", "git", "github.com", "-u", "stored", "--token-stdin", input="tok-stored\n")
    return {"user": user, "global": glob, "dropin": dropin}


def rows_by_user(*args: str) -> dict[str, dict]:
    return {row["username"]: row for row in json.loads(invoke("list", "--json", *args).stdout)}


def test_list_json_has_every_layer_with_file_and_line(layers):
    rows = json.loads(invoke("list", "--json").stdout)
    assert [r["layer"] for r in rows] == ["store"] + ["user"] * 8 + ["host", "global"]  # highest precedence first
    by_user = {r["username"]: r for r in rows}
    assert by_user["inline"]["where"] == f"{layers['user']}:5"
    assert (by_user["inline"]["file"], by_user["inline"]["line"]) == (str(layers["user"]), 5)
    assert by_user["hostbot"]["where"] == f"{layers['dropin']}:3" and by_user["hostbot"]["domain"] == "git.corp"
    assert by_user["fleet"]["where"] == f"{layers['global']}:2" and by_user["fleet"]["domain"] == "github.com"
    assert by_user["stored"]["file"] is None and by_user["stored"]["backend"] == "encrypted-file"
    assert by_user["file"]["organizations"] == ["acme", "Beta"]
    assert by_user["ci"]["kind"] == "docker"


def test_list_names_the_source_kind_and_whether_it_reads_now(layers):
    by_user = rows_by_user()
    assert {u: (r["source"], r["readable"]) for u, r in by_user.items()} == {
        "stored": ("keyring", True), "inline": ("inline", True), "file": ("file", True), "env": ("env", True),
        "cmd": ("command", True), "keyring": ("keyring", False), "unset": ("env", False), "s": ("sealed", False),
        "ci": ("inline", True), "hostbot": ("inline", True), "fleet": ("inline", True)}
    assert "the environment variable its token_env names is not set" in by_user["unset"]["problem"]
    assert "gatepass login git github.com --username keyring" in by_user["keyring"]["problem"]
    assert "problem" not in by_user["inline"]


def test_list_text_is_a_table_and_unreadable_secrets_are_explained_on_stderr(layers):
    result = invoke("list")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KIND", "PROTOCOL", "DOMAIN", "USERNAME", "LAYER", "SOURCE", "SECRET", "WHERE",
                                "ORGANIZATIONS"]
    assert lines[1].split()[:7] == ["git", "https", "github.com", "stored", "store", "keyring", "ok"]
    unset = next(line for line in lines if " unset " in line)
    assert unset.split()[5:8] == ["env", "UNREADABLE", f"{layers['user']}:10"]
    assert next(line for line in lines if " file " in line).endswith("acme,Beta")
    assert result.stderr.count("\n") == 3 and "unset@github.com" in result.stderr and "s@sealed.example" in result.stderr


def test_list_kind_filter(layers):
    assert set(rows_by_user("--kind", "docker")) == {"ci"}
    assert "ci" not in rows_by_user("--kind", "git")


def test_list_reports_config_errors_and_still_lists_the_rest(layers):
    write_config(layers["dropin"].with_name("20-broken.toml"), "[[git_provider]\n")
    write_config(layers["global"], '[[git_provider]]\naccounts = [{ username = "fleet", tokn = "tok-global" }]\n')
    result = invoke("list", "--json")
    assert f"{layers['dropin'].with_name('20-broken.toml')}:1" in result.stderr
    assert "accounts[0].tokn: unknown key" in result.stderr
    assert {"inline", "hostbot", "stored"} <= {r["username"] for r in json.loads(result.stdout)}


def test_list_readability_check_never_keeps_or_shows_the_secret(layers, monkeypatch):
    import gatepass.cli.common as common

    seen = []
    real = common.app.read

    def spy(account, store, *rest):
        secret = real(account, store, *rest)
        seen.append(secret)
        return secret

    monkeypatch.setattr(common.app, "read", spy)
    out = invoke("list", "--json").stdout
    assert seen and all(s.value not in out for s in seen)
    assert "<Secret ***>" == repr(seen[0])


def test_list_with_nothing_configured_says_how_to_start(isolated_env):
    assert "gatepass login" in invoke("list").stdout
    assert json.loads(invoke("list", "--json").stdout) == []


def test_list_shows_the_accounts_of_a_config_refused_for_its_mode_with_the_reason(isolated_env):
    """A 0644 config holding a token: its accounts are listed as unreadable, with the chmod README asks for
    (0600), not "no accounts"."""
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"], '[[git_provider]]\ndomain = "github.com"\n'
                        'accounts = [{ username = "bot", token = "tok-inline" }]\n', 0o644)
    result = invoke("list")
    assert "no accounts" not in result.stdout
    [row] = [line.split() for line in result.stdout.splitlines()[1:]]
    assert row[:4] == ["git", "https", "github.com", "bot"] and "UNREADABLE" in row
    assert f"holds tokens and other users can read it; run: chmod 600 {path}" in result.stderr
