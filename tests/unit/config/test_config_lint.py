"""Config mistakes that are not errors are still said: near-miss table names, a defaulted domain,
doctor showing what config check shows, /dev/null meaning no file (issue 13 item 5)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from tests.conftest import write_config


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert "tok-" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("table, meant", [("git_providers", "git_provider"), ("docker_registy", "docker_registry"),
                                          ("Git_Provider", "git_provider"), ("image_registries", "image_registry")])
def test_a_table_name_close_to_a_known_one_is_a_warning_naming_the_line(isolated_env, table, meant):
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"],
                        f'title = "x"\n\n[[{table}]]\ndomain = "ghcr.io"\naccounts = [{{ username = "u", token = "tok-1" }}]\n')
    code, out, err = run("config", "check")
    assert code == 0 and "0 account(s) in 1 file(s); 0 error(s), 1 warning(s)" in out
    assert f"warning: {path}:3: [[{table}]] is not a table gatepass reads" in err and f"did you mean [[{meant}]]?" in err


def test_komodo_keys_that_are_not_tables_gatepass_reads_stay_quiet(isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], 'host = "x"\nport = 9120\n[[server]]\nname = "a"\n'
                 '[[git_provider]]\ndomain = "github.com"\naccounts = []\n')
    code, out, err = run("config", "check")
    assert code == 0 and "0 warning(s)" in out and err == ""


def test_a_provider_without_domain_says_which_it_defaulted_to(isolated_env):
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"],
                        '[[git_provider]]\naccounts = [{ username = "u", token = "tok-1" }]\n\n'
                        '[[docker_registry]]\naccounts = [{ username = "d", token = "tok-2" }]\n')
    code, _, err = run("config", "check")
    assert code == 0
    assert f"note: {path}:1: [[git_provider]] has no domain, so it is github.com (Komodo's default)" in err
    assert f"note: {path}:4: [[docker_registry]] has no domain, so it is docker.io (Komodo's default)" in err
    data = json.loads(run("config", "check", "--json")[1])
    assert len(data["notes"]) == 2 and data["warnings"] == []


def test_doctor_fails_where_config_check_fails(isolated_env):
    path = write_config(isolated_env["GATEPASS_USER_CONFIG"],
                        '[[git_provider]]\ndomain = "github.com"\naccounts = [{ username = "u", token_env = "NOPE_UNSET" }]\n'
                        '[[git_providers]]\naccounts = []\n')
    assert run("config", "check")[0] == 1
    code, out, _ = run("doctor")
    assert code == 1
    lines = out.splitlines()
    unset = "its token_env names is not set"  # the variable's name is never echoed: it may be a token
    assert any(line.startswith("FIX ") and unset in line and "NOPE_UNSET" not in line for line in lines), lines
    assert any(line.startswith("FIX ") and f"{path}:4: [[git_providers]]" in line for line in lines), lines
    assert any(line.startswith("FIX ") and "config files:" in line and "1 error(s)" in line for line in lines), lines


@pytest.mark.parametrize("variable", ["GATEPASS_GLOBAL_CONFIG", "GATEPASS_HOST_CONFIG", "GATEPASS_USER_CONFIG"])
def test_dev_null_for_a_layer_variable_means_no_file(isolated_env, monkeypatch, variable):
    monkeypatch.setenv(variable, "/dev/null")
    code, out, err = run("config", "check")
    assert code == 0 and "not a regular file" not in out + err and "/dev/null" not in out
    code, out, err = run("list")
    assert code == 0 and "not a regular file" not in out + err
