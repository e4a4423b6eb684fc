"""`gatepass login` then `list` for domains written as people write them (issue 13 item 9)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from tests.conftest import write_config


def invoke(*args: str, stdin: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "tok-" not in result.stdout + result.stderr
    return result


def rows() -> list[dict]:
    return json.loads(invoke("list", "--json").stdout)


@pytest.mark.parametrize("written", ["GitHub.com", "github.com:443", "github.com."])
def test_a_login_is_read_by_a_config_account_whatever_case_or_default_port(isolated_env, written):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "{written}"\naccounts = [{{ username = "me" }}]\n')
    assert [r["readable"] for r in rows() if r["layer"] == "user"] == [False]
    invoke("login", "git", "github.com", "-u", "me", "--token-stdin", stdin="tok-1\n")
    assert [r["readable"] for r in rows() if r["layer"] == "user"] == [True]


def test_a_docker_login_is_read_by_an_insecure_registry_written_with_its_scheme(isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 '[[docker_registry]]\ndomain = "http://127.0.0.1:5000"\naccounts = [{ username = "me" }]\n')
    invoke("login", "docker", "127.0.0.1:5000", "-u", "me", "--token-stdin", stdin="tok-1\n")
    assert [r["readable"] for r in rows() if r["layer"] == "user"] == [True]


def test_login_for_an_http_only_provider_saves_for_http_and_says_so(isolated_env):
    config = write_config(isolated_env["GATEPASS_USER_CONFIG"],
                          '[[git_provider]]\ndomain = "git.corp:8080"\nhttps = false\naccounts = [{ username = "me" }]\n')
    result = invoke("login", "git", "git.corp:8080", "-u", "me", "--token-stdin", stdin="tok-1\n")
    assert f"{config}:4 serves git.corp:8080 over plain http (https = false): saving for http://git.corp:8080" in result.stderr
    listed = {r["layer"]: r for r in rows()}
    assert listed["store"]["protocol"] == "http" and listed["user"]["readable"] is True


def test_a_stored_docker_login_has_no_protocol_to_show(isolated_env):
    invoke("login", "docker", "ghcr.io", "-u", "me", "--token-stdin", stdin="tok-1\n")
    assert [r["protocol"] for r in rows()] == ["-"]


def test_list_shows_the_protocol(isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 '[[git_provider]]\ndomain = "git.corp"\naccounts = [{ username = "me", token = "tok-a" }]\n'
                 '[[git_provider]]\ndomain = "git.corp"\nhttps = false\naccounts = [{ username = "me", token = "tok-b" }]\n')
    lines = invoke("list").stdout.splitlines()
    assert [line.split()[:3] for line in lines[1:]] == [["git", "https", "git.corp"], ["git", "http", "git.corp"]]


def test_a_git_login_without_a_scheme_says_it_saved_for_https(isolated_env):
    result = invoke("login", "git", "git.corp:8080", "-u", "me", "--token-stdin", stdin="tok-1\n")
    assert ("saved git token for me on https://git.corp:8080 in " in result.stderr
            and "(https, as no scheme was written; for plain http: gatepass login git http://git.corp:8080)" in result.stderr)
    result = invoke("login", "git", "http://git.corp:8080", "-u", "me", "--token-stdin", stdin="tok-1\n")
    assert "on http://git.corp:8080 in " in result.stderr and "no scheme was written" not in result.stderr
    assert "removed 1 stored token(s) for https://git.corp:8080" in invoke("logout", "git", "git.corp:8080").stderr


def test_logout_of_a_config_account_says_where_it_lives(isolated_env):
    config = write_config(isolated_env["GATEPASS_USER_CONFIG"],
                          '[[docker_registry]]\ndomain = "ghcr.io"\naccounts = [{ username = "bot", token = "tok-x" }]\n')
    result = invoke("logout", "docker", "ghcr.io")
    assert "removed 0 stored token(s) for ghcr.io" in result.stderr
    assert f"the login for bot@ghcr.io comes from {config}:3, which gatepass does not edit" in result.stderr
