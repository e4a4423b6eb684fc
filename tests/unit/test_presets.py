"""CI presets: ``preset = NAME`` on an account and ``GATEPASS_PRESET=NAME`` with no config file."""

from __future__ import annotations

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
    ({"GATEPASS_PRESET": "travis"}, "GATEPASS_PRESET=travis is not a preset (known: github-actions, gitlab-ci)"),
    ({"GATEPASS_PRESET": "gitlab-ci"}, "needs CI_SERVER_HOST"),
    ({"GATEPASS_PRESET": "github-actions", "GITHUB_SERVER_URL": "ftp://x"}, "does not name an http(s) server"),
])
def test_an_unusable_environment_preset_is_one_line(isolated_env, env, words):
    found, errors = answer(dict(os.environ, GATEPASS_CONFIG=os.devnull, **env))
    assert found is None and len(errors) == 1 and words in errors[0]


def test_ecr_pattern_is_the_one_two_wildcard_domain():
    pattern = normalize_host("*.dkr.ecr.*.amazonaws.com", wildcard=True)
    assert pattern == "*.dkr.ecr.*.amazonaws.com"
    assert host_matches(pattern, "123456789012.dkr.ecr.us-east-1.amazonaws.com")
    for other in ("dkr.ecr.us-east-1.amazonaws.com", "1.2.dkr.ecr.us-east-1.amazonaws.com",
                  "1.dkr.ecr.us-east-1.amazonaws.com.evil.io", "1.dkr.ecr.amazonaws.com", "1.dkr.ecr.x.y.amazonaws.com"):
        assert not host_matches(pattern, other)
    assert normalize_host("*.example.*.com", wildcard=True) is None
    assert normalize_host("*.dkr.ecr.*.amazonaws.com.cn", wildcard=True) is None
