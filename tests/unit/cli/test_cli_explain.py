"""`gatepass explain`: the request git or docker would send, the chosen account and why every other one lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from tests.conftest import write_config

USER = """
[[git_provider]]
domain = "github.com"
accounts = [
  { username = "me", token = "tok-me" },
  { username = "acme-bot", token_env = "ACME_TOKEN", organizations = ["acme"] },
  { username = "acme-two", token = "tok-two", organizations = ["acme"] },
  { username = "later", token = "tok-later" },
]
[[git_provider]]
domain = "git.corp:8443"
accounts = [{ username = "corp", token = "tok-corp" }]
[[git_provider]]
domain = "plain.corp"
https = false
accounts = [{ username = "plain", token = "tok-plain" }]
[[docker_registry]]
domain = "docker.io"
accounts = [{ username = "hub", token = "tok-hub" }]
[[docker_registry]]
domain = "http://127.0.0.1:5000"
accounts = [{ username = "local", token = "tok-local" }]
"""
GLOBAL = '[[git_provider]]\naccounts = [{ username = "fleet", token = "tok-fleet" }]\n'


def invoke(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["explain", *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "tok-" not in result.stdout + result.stderr
    return result


def explain_json(*args: str) -> dict:
    return json.loads(invoke(*args, "--json").stdout)


def verdicts(data: dict) -> list[tuple[str, str]]:
    return [(c["username"], c["verdict"]) for c in data["candidates"]]


@pytest.fixture
def config(isolated_env):
    # explain applies the git config as git will; these tests are about the organization rule, so git sends paths.
    subprocess.run(["git", "config", "--global", "credential.useHttpPath", "true"], check=True)
    write_config(isolated_env["GATEPASS_GLOBAL_CONFIG"], GLOBAL)
    return write_config(isolated_env["GATEPASS_USER_CONFIG"], USER)


def git_credential_fill(url: str) -> str:
    """The username a real `git credential fill` gets from git-credential-gatepass for ``url``."""
    helper = str(Path(sys.executable).parent / "git-credential-gatepass")
    done = subprocess.run(["git", "-c", "credential.helper=", "-c", f"credential.helper={helper}", "credential", "fill"],
                          input=f"url={url}\n", capture_output=True, text=True, check=True, timeout=60)
    return dict(line.split("=", 1) for line in done.stdout.splitlines())["username"]


@pytest.mark.parametrize("use_http_path", [None, "true", "false"])
def test_explain_chooses_what_a_real_git_credential_fill_gets(config, monkeypatch, use_http_path):
    """explain applies the user's real credential.useHttpPath, never assuming it (issue 13 item 2)."""
    monkeypatch.setenv("ACME_TOKEN", "tok-acme")
    subprocess.run(["git", "config", "--global", "--unset-all", "credential.useHttpPath"], check=True)
    if use_http_path:
        subprocess.run(["git", "config", "--global", "credential.useHttpPath", use_http_path], check=True)
    url = "https://github.com/acme/app.git"
    filled = git_credential_fill(url)
    assert filled == ("acme-bot" if use_http_path == "true" else "me")
    assert explain_json(url)["chosen"]["username"] == filled
    subprocess.run(["git", "config", "--global", "credential.https://github.com/acme.username", "acme-two"], check=True)
    assert explain_json(url)["chosen"]["username"] == git_credential_fill(url) == "acme-two"


def test_chosen_account_with_file_line_and_source_kind(config):
    result = invoke("https://github.com/other/repo.git")
    assert result.stdout.splitlines()[0] == ("git request: protocol=https host=github.com path=other/repo.git "
                                             "no username")
    assert f"chosen: me@github.com from {config}:5 (layer user), secret source: inline" in result.stdout
    assert f"-> me@github.com [user {config}:5, inline]: chosen: unscoped account" in result.stdout
    data = explain_json("https://github.com/other/repo.git")
    assert (data["chosen"]["file"], data["chosen"]["line"], data["chosen"]["source"]) == (str(config), 5, "inline")


def test_each_loser_has_its_rule(config):
    data = explain_json("https://github.com/other/repo.git")
    reasons = {c["username"]: (c["verdict"], c["reason"]) for c in data["candidates"]}
    assert reasons["acme-bot"] == ("organization", "organization other is not in acme")
    assert reasons["later"][0] == "precedence" and reasons["later"][1].startswith("later in file order: me@github.com")
    assert reasons["fleet"][0] == "precedence" and reasons["fleet"][1].startswith("lower layer: global is below user")
    assert reasons["corp"][0] == "host" and reasons["plain"][0] == "host"
    assert "hub" not in reasons  # docker accounts are not candidates for a git request


def test_scheme_port_and_username_rules(config):
    plain = explain_json("http://github.com/x.git")
    assert {v for _, v in verdicts(plain) if _ in ("me", "fleet")} == {"scheme"}
    assert plain["chosen"] is None
    assert explain_json("http://plain.corp/x")["chosen"]["username"] == "plain"
    assert explain_json("https://plain.corp/x")["chosen"] is None  # served over http, on port 80
    corp = explain_json("https://git.corp/x")
    corp_row = next(c for c in corp["candidates"] if c["username"] == "corp")
    assert corp_row["verdict"] == "host" and corp_row["reason"] == "port 443 is not 8443"
    assert explain_json("https://git.corp:8443/x")["chosen"]["username"] == "corp"
    named = explain_json("https://later@github.com/x.git")
    assert named["chosen"]["username"] == "later" and dict(verdicts(named))["me"] == "username"


def test_hosts_match_by_equality_only(config):
    for url in ("https://github.com.evil.io/x", "https://evilgithub.com/x", "https://github.com@evil.io/x"):
        data = explain_json(url)
        assert data["chosen"] is None and {v for _, v in verdicts(data)} == {"host"}, url


def test_scoped_match_first_and_unreadable_secret_named(config, monkeypatch):
    result = invoke("https://github.com/acme/app.git")
    data = explain_json("https://github.com/acme/app.git")
    assert verdicts(data)[:3] == [("acme-bot", "unreadable secret"), ("acme-two", "chosen"), ("me", "precedence")]
    assert "the environment variable its token_env names is not set" in data["candidates"][0]["reason"]
    assert data["candidates"][2]["reason"].startswith("organization-scoped match first: acme-two@github.com")
    assert "acme-bot@github.com" in result.stdout and "unreadable secret: " in result.stdout
    monkeypatch.setenv("ACME_TOKEN", "tok-acme")
    assert explain_json("https://github.com/ACME/app.git")["chosen"]["username"] == "acme-bot"


def test_without_use_http_path_no_path_is_sent_and_scoped_accounts_come_after(config):
    result = invoke("https://github.com/acme/app.git", "--no-use-http-path")
    assert "no path no username" in result.stdout.splitlines()[0]
    assert ("path: not sent, as --no-use-http-path asks; git config here has credential.useHttpPath true for this URL, "
            "so git sends the path") in result.stdout
    data = explain_json("https://github.com/acme/app.git", "--no-use-http-path")
    assert data["request"]["path"] is None and data["chosen"]["username"] == "me"
    assert dict(verdicts(data))["acme-two"] == "precedence"
    assert "no path sent, so unscoped accounts first" in data["candidates"][-1]["reason"] or any(
        "no path sent, so unscoped accounts first" in c["reason"] for c in data["candidates"])
    assert ("path: sent: git config here has credential.useHttpPath true for this URL, so git sends the path "
            "(--no-use-http-path shows the other case)") in invoke("https://github.com/acme/app.git").stdout


def test_git_config_username_is_applied_as_git_would(config):
    subprocess.run(["git", "config", "--global", "credential.https://github.com/acme.username", "acme-two"], check=True)
    data = explain_json("https://github.com/acme/app.git", "--no-use-http-path")
    assert data["request"]["username"] == "acme-two" and data["chosen"]["username"] == "acme-two"
    assert any("from git config credential.<url>.username" in n for n in data["notes"])
    assert explain_json("https://github.com/other/app.git")["request"]["username"] is None
    assert explain_json("https://me@github.com/acme/app.git")["request"]["username"] == "me"  # the URL wins
    subprocess.run(["git", "config", "--global", "credential.useHttpPath", "true"], check=True)
    assert "credential.useHttpPath true" in invoke("https://github.com/x/y").stdout


def test_a_broken_git_config_is_said_and_not_applied(config, isolated_env):
    Path(isolated_env["GIT_CONFIG_GLOBAL"]).write_text("[credential\n")
    data = explain_json("https://github.com/x/y")
    assert data["chosen"]["username"] == "me"
    assert any(n.startswith("git config could not be read") for n in data["notes"])


def test_docker_registries_by_every_name(config):
    for name in ("docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/",
                 "registry.hub.docker.com"):
        data = explain_json(name)
        assert (data["kind"], data["chosen"]["username"]) == ("docker", "hub"), name
    assert explain_json("127.0.0.1:5000")["chosen"]["username"] == "local"
    assert explain_json("http://127.0.0.1:5000")["chosen"]["username"] == "local"
    local = explain_json("localhost:5000")
    assert local["chosen"] is None and dict(verdicts(local))["local"] == "host"


def test_docker_exact_keys_and_image_references(config):
    exact = explain_json("https://index.docker.io/v1/refresh-token")
    assert exact["chosen"] is None and exact["request"]["exact_key"] == "https://index.docker.io/v1/refresh-token"
    assert "only a stored entry answers" in exact["candidates"][0]["reason"]
    image = explain_json("127.0.0.1:5000/team/app:1", "--kind", "docker")
    assert image["chosen"]["username"] == "local" and "image reference" in image["notes"][0]
    assert explain_json("library/ubuntu", "--kind", "docker")["chosen"]["username"] == "hub"


def test_kind_is_guessed_and_said(config):
    assert "kind: docker, guessed: a bare host[:port] (--kind git for the other)" in invoke("github.com").stdout
    assert explain_json("github.com", "--kind", "git")["chosen"]["username"] == "me"
    assert "kind: git, guessed: a host with a path" in invoke("github.com/acme/x").stdout
    assert "kind:" not in invoke("github.com", "--kind", "docker").stdout


def test_a_stored_entry_wins_over_config_as_the_highest_layer(config):
    CliRunner().invoke(cli, ["login", "git", "github.com", "-u", "stored", "--token-stdin"], input="tok-stored\n",
                       catch_exceptions=False)
    data = explain_json("https://github.com/other/x")
    assert data["chosen"]["username"] == "stored" and data["chosen"]["layer"] == "store"
    assert dict(verdicts(data))["me"] == "precedence"
    assert "lower layer: user is below store" in data["candidates"][1]["reason"]


def test_bad_targets_are_one_line_errors_that_never_echo_a_password(config):
    for target, message in (("git@github.com:acme/app.git", "ssh address"), ("ftp://host/x", "http and https"),
                            ("https://me:tok-pw@bad host/x", "no valid host")):
        result = invoke(target, code=1)
        assert message in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""
    assert "https://me:***@" in invoke("https://me:tok-pw@bad host/x", code=1).stderr
    assert "is not a registry" in invoke("bad host!", "--kind", "docker", code=1).stderr


def test_many_accounts_on_other_hosts_are_summarised_in_text(isolated_env):
    accounts = "\n".join(f'[[git_provider]]\ndomain = "h{i}.example"\naccounts = [{{ username = "u{i}", token = "tok-{i}" }}]'
                         for i in range(30))
    write_config(isolated_env["GATEPASS_USER_CONFIG"], accounts)
    result = invoke("https://other.example/x")
    assert "(30 accounts on other hosts not shown; --json lists them)" in result.stdout
    assert "u7@" not in result.stdout
    assert len(explain_json("https://other.example/x")["candidates"]) == 30


def test_the_path_line_says_what_git_config_here_makes_git_do(config):
    subprocess.run(["git", "config", "--global", "--unset-all", "credential.useHttpPath"], check=True)
    assert ("path: not sent: git config here has no credential.useHttpPath for this URL, so git sends no path "
            "(--use-http-path shows the other case)") in invoke("https://github.com/acme/app.git").stdout
    assert ("path: sent, as --use-http-path asks; git config here has no credential.useHttpPath for this URL, "
            "so git sends no path") in invoke("https://github.com/acme/app.git", "--use-http-path").stdout
