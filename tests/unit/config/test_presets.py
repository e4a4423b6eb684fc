"""CI presets: ``preset = NAME`` on an account and ``GATEPASS_PRESET=NAME`` with no config file."""

from __future__ import annotations

import json
import os

import pytest

from gatepass import app
from gatepass.config.layers import load_config
from gatepass.hosts import host_matches, normalize_host
from gatepass.model import Request
from gatepass.presets import environment_account
from tests.conftest import write_config


def load(**env: str):
    return load_config(dict(os.environ, **env))


@pytest.mark.parametrize(("preset", "username", "variable"), [("github-actions", "x-access-token", "GITHUB_TOKEN"),
                                                              ("gitlab-ci", "gitlab-ci-token", "CI_JOB_TOKEN")])
def test_preset_on_an_account_is_its_username_and_token_env(tmp_path, preset, username, variable):
    path = write_config(tmp_path / "c.toml", f'[[git_provider]]\naccounts = [{{ preset = "{preset}" }}]\n')
    config = load(GATEPASS_CONFIG=str(path))
    assert config.errors == []
    [account] = config.accounts
    assert (account.username, account.secret_kind, account.secret_ref) == (username, "env", variable)


@pytest.mark.parametrize(("entry", "words"), [
    ('{ preset = "jenkins" }', "must be one of github-actions, gitlab-ci"),
    ('{ preset = "github-actions", token_env = "X" }', "a preset sets the token; remove token_env"),
    ('{ preset = "github-actions", username = "me" }', "uses username x-access-token"),
])
def test_a_bad_preset_is_a_config_error(tmp_path, entry, words):
    path = write_config(tmp_path / "c.toml", f"[[git_provider]]\naccounts = [{entry}]\n")
    config = load(GATEPASS_CONFIG=str(path))
    assert config.accounts == [] and words in config.errors[0] and "accounts[0]" in config.errors[0]


def answer(env: dict[str, str], host: str = "github.com", scheme: str = "https"):
    errors: list[str] = []
    found = app.answer(Request("git", scheme, host, None, "acme/x.git"), env, errors.append, with_store=False)
    return found, errors


def test_environment_preset_answers_with_no_config_file_at_all(isolated_env):
    env = dict(os.environ, GATEPASS_CONFIG=os.devnull, GATEPASS_PRESET="github-actions", GITHUB_TOKEN="ghs_ci")
    (account, secret), errors = answer(env)
    assert (account.username, secret.value, account.where, errors) == ("x-access-token", "ghs_ci", "GATEPASS_PRESET", [])
    assert answer(env, "gitlab.com")[0] is None
    assert answer(env, scheme="http")[0] is None  # github.com is https-only


def test_gitlab_preset_follows_ci_server_host_port_and_protocol(isolated_env):
    env = dict(os.environ, GATEPASS_CONFIG=os.devnull, GATEPASS_PRESET="gitlab-ci", CI_JOB_TOKEN="glcbt-1",
               CI_SERVER_HOST="gitlab.example", CI_SERVER_PORT="8443", CI_SERVER_PROTOCOL="https")
    account = environment_account(env)
    assert not isinstance(account, str) and account is not None
    assert (account.host, account.port, account.secure, account.username) == ("gitlab.example", 8443, True,
                                                                               "gitlab-ci-token")


def test_a_file_account_for_the_same_host_wins_over_the_environment_preset(isolated_env, tmp_path):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "me", token = "t" }]\n')
    env = dict(os.environ, GATEPASS_CONFIG=str(path), GATEPASS_PRESET="github-actions", GITHUB_TOKEN="ghs_ci")
    (account, secret), _ = answer(env)
    assert (account.username, secret.value) == ("me", "t")


@pytest.mark.parametrize(("env", "words"), [
    ({"GATEPASS_PRESET": "travis"}, "GATEPASS_PRESET=travis is not a preset (known: github-actions, gitlab-ci, or none"),
    ({"GATEPASS_PRESET": "gitlab-ci", "CI_JOB_TOKEN": "j"}, "needs CI_SERVER_HOST"),
    ({"GATEPASS_PRESET": "github-actions", "GITHUB_TOKEN": "t", "GITHUB_SERVER_URL": "ftp://x"},
     "does not name an http(s) server"),
])
def test_an_unusable_environment_preset_is_one_line(isolated_env, env, words):
    found, errors = answer(dict(os.environ, GATEPASS_CONFIG=os.devnull, **env))
    assert found is None and len(errors) == 1 and words in errors[0]


ACTIONS = {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "ghs_job", "GITHUB_ACTOR": "octo-bot",
           "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "RUNNER_OS": "Linux"}
GITLAB = {"CI": "true", "GITLAB_CI": "true", "CI_JOB_TOKEN": "glcbt-job", "CI_SERVER_HOST": "gitlab.example",
          "CI_SERVER_PORT": "443", "CI_SERVER_PROTOCOL": "https", "CI_REGISTRY": "registry.gitlab.example:5050",
          "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "glcbt-job"}


def ask(env: dict[str, str], kind: str, host: str, port: int | None = None, scheme: str = "https"):
    errors: list[str] = []
    found = app.answer(Request(kind, scheme, host, port, "acme/app.git" if kind == "git" else None),
                       dict(os.environ, GATEPASS_CONFIG=os.devnull, **env), errors.append, with_store=False)
    return (None if found is None else (found[0].username, found[1].value, found[0].where)), errors


def test_github_actions_is_detected_for_git_and_ghcr_without_gatepass_preset(isolated_env):
    assert ask(ACTIONS, "git", "github.com") == (("x-access-token", "ghs_job", "GATEPASS_PRESET"), [])
    assert ask(ACTIONS, "docker", "ghcr.io") == (("octo-bot", "ghs_job", "GATEPASS_PRESET"), [])
    assert ask(ACTIONS, "docker", "docker.io") == (None, [])
    assert ask(ACTIONS, "git", "gitlab.example") == (None, [])


@pytest.mark.parametrize("server", ["https://ghe.example.com", "https://github.com.evil.test", "http://github.com"])
def test_an_enterprise_servers_job_token_never_goes_to_ghcr_io(isolated_env, server):
    """On GitHub Enterprise Server the job's GITHUB_TOKEN belongs to that server: git on it gets the token,
    github.com's ghcr.io gets nothing (a token goes only to the host it was issued for)."""
    env = dict(ACTIONS, GITHUB_SERVER_URL=server)
    assert ask(env, "docker", "ghcr.io") == (None, [])
    host = server.partition("://")[2]
    scheme = server.partition("://")[0]
    assert ask(env, "git", host, scheme=scheme)[0] == ("x-access-token", "ghs_job", "GATEPASS_PRESET")


def test_gitlab_ci_is_detected_for_its_server_and_its_registry(isolated_env):
    assert ask(GITLAB, "git", "gitlab.example") == (("gitlab-ci-token", "glcbt-job", "GATEPASS_PRESET"), [])
    assert ask(GITLAB, "docker", "registry.gitlab.example", 5050) == (("gitlab-ci-token", "glcbt-job", "GATEPASS_PRESET"), [])
    assert ask(GITLAB, "docker", "registry.gitlab.example") == (None, [])  # another port: another registry
    assert ask(GITLAB, "docker", "ghcr.io") == (None, [])
    no_registry = {k: v for k, v in GITLAB.items() if not k.startswith("CI_REGISTRY")}  # the project has none
    assert ask(no_registry, "git", "gitlab.example")[0] is not None
    assert ask(no_registry, "docker", "registry.gitlab.example", 5050) == (None, [])


@pytest.mark.parametrize("env", [
    {"GITHUB_TOKEN": "ghs_stray"},                                  # outside CI: a token in a shell profile
    {"GITHUB_ACTIONS": "false", "GITHUB_TOKEN": "ghs_stray"},
    {"GITHUB_ACTIONS": "true"},                                     # Actions, but the workflow exports no token
    {**ACTIONS, "GATEPASS_PRESET": "none"},                         # detection turned off
    {**GITLAB, "GATEPASS_PRESET": "none"},
    {"GITLAB_CI": "true", "CI_SERVER_HOST": "github.com"},          # GitLab without a job token
])
def test_no_preset_answers_outside_ci_without_its_token_or_when_turned_off(isolated_env, env):
    assert ask(env, "git", "github.com") == (None, [])
    assert ask(env, "docker", "ghcr.io") == (None, [])


def test_config_files_win_over_a_detected_preset(isolated_env, tmp_path):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "me", token = "t" }]\n'
                        '[[docker_registry]]\ndomain = "ghcr.io"\naccounts = [{ username = "pusher", token = "p" }]\n')
    env = {**ACTIONS, "GATEPASS_CONFIG": str(path)}
    errors: list[str] = []
    for kind, host, want in (("git", "github.com", ("me", "t")), ("docker", "ghcr.io", ("pusher", "p"))):
        found = app.answer(Request(kind, "https", host, None, None), dict(os.environ, **env), errors.append, with_store=False)
        assert found is not None and (found[0].username, found[1].value) == want
    assert errors == []


@pytest.mark.parametrize(("env", "variable", "how"), [
    ({"GATEPASS_PRESET": "github-actions"}, "GITHUB_TOKEN", "env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"),
    ({"GATEPASS_PRESET": "gitlab-ci", "CI_SERVER_HOST": "gitlab.example"}, "CI_JOB_TOKEN", "GitLab CI sets it"),
])
def test_an_explicit_preset_without_its_token_names_the_variable_and_how_to_export_it(isolated_env, env, variable,
                                                                                      how):
    found, errors = ask(env, "git", "github.com")
    assert found is None and len(errors) == 1
    assert f"GATEPASS_PRESET={env['GATEPASS_PRESET']}: {variable} is not set; " in errors[0] and how in errors[0]


def test_a_registry_variable_missing_is_said_only_when_that_registry_is_asked_for(isolated_env):
    env = {k: v for k, v in ACTIONS.items() if k != "GITHUB_ACTOR"}
    assert ask(env, "git", "github.com") == (("x-access-token", "ghs_job", "GATEPASS_PRESET"), [])
    found, errors = ask(env, "docker", "ghcr.io")
    assert found is None and len(errors) == 1 and "GITHUB_ACTOR is not set, so ghcr.io gets no account" in errors[0]


def test_a_preset_account_in_a_file_names_its_missing_variable_and_the_workflow_line(isolated_env, tmp_path):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ preset = "github-actions" }]\n')
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    env.pop("GITHUB_TOKEN", None)
    errors: list[str] = []
    assert app.answer(Request("git", "https", "github.com", None, ""), env, errors.append, with_store=False) is None
    assert len(errors) == 1 and "GITHUB_TOKEN is not set; export it from the workflow: env: GITHUB_TOKEN: " \
        "${{ secrets.GITHUB_TOKEN }}" in errors[0]


def test_list_says_a_missing_preset_token_once(isolated_env, monkeypatch):
    from click.testing import CliRunner

    from gatepass.cli.main import cli

    monkeypatch.setenv("GATEPASS_CONFIG", os.devnull)
    monkeypatch.setenv("GATEPASS_PRESET", "github-actions")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["list"], catch_exceptions=False)
    assert result.stderr.count("GITHUB_TOKEN is not set") == 1, result.stderr
    assert "${{ secrets.GITHUB_TOKEN }}" in result.stderr


def test_list_shows_the_detected_accounts(isolated_env, monkeypatch):
    from click.testing import CliRunner

    from gatepass.cli.main import cli

    monkeypatch.setenv("GATEPASS_CONFIG", os.devnull)
    for name, value in ACTIONS.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["list", "--json"], catch_exceptions=False)
    rows = [(r["kind"], r["domain"], r["username"], r["where"], r["readable"]) for r in json.loads(result.stdout)]
    assert rows == [("git", "github.com", "x-access-token", "GATEPASS_PRESET", True),
                    ("docker", "ghcr.io", "octo-bot", "GATEPASS_PRESET", True)], result.stderr
    assert "ghs_job" not in result.stdout + result.stderr


def test_ecr_pattern_is_the_one_two_wildcard_domain():
    pattern = normalize_host("*.dkr.ecr.*.amazonaws.com", wildcard=True)
    assert pattern == "*.dkr.ecr.*.amazonaws.com"
    assert host_matches(pattern, "123456789012.dkr.ecr.us-east-1.amazonaws.com")
    for other in ("dkr.ecr.us-east-1.amazonaws.com", "1.2.dkr.ecr.us-east-1.amazonaws.com",
                  "1.dkr.ecr.us-east-1.amazonaws.com.evil.io", "1.dkr.ecr.amazonaws.com", "1.dkr.ecr.x.y.amazonaws.com"):
        assert not host_matches(pattern, other)
    assert normalize_host("*.example.*.com", wildcard=True) is None
    assert normalize_host("*.dkr.ecr.*.amazonaws.com.cn", wildcard=True) is None


def test_artifact_registry_pattern_matches_a_location_label_only():
    pattern = normalize_host("*-docker.pkg.dev", wildcard=True)
    assert pattern == "*-docker.pkg.dev" and normalize_host("*-docker.pkg.dev.", wildcard=True) == pattern
    for host in ("europe-docker.pkg.dev", "us-central1-docker.pkg.dev", "asia-docker.pkg.dev"):
        assert host_matches(pattern, host)
    for other in ("docker.pkg.dev", "-docker.pkg.dev", "x.us-docker.pkg.dev", "us-docker.pkg.dev.evil.io",
                  "us-docker.pkg.dev.", "us_x-docker.pkg.dev", "us-docker.pkg.devil", "us-dockers.pkg.dev"):
        assert not host_matches(pattern, other)
    assert normalize_host("*-docker.pkg.dev", wildcard=False) is None
    assert normalize_host("*-registry.example", wildcard=True) is None
