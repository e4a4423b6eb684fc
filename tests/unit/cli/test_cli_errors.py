"""The one error boundary in cli/main.py: one line on stderr and exit 1; a traceback only with --debug; Ctrl-C is 130."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import gatepass.cli.cmd_list as cmd_list
from gatepass.cli.main import cli
from gatepass.errors import GatepassError


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def raising(exc: BaseException):
    def boom(*args, **kwargs):
        raise exc
    return boom


def test_a_gatepass_error_is_one_line_naming_the_fix(monkeypatch):
    monkeypatch.setattr(cmd_list, "load_all", raising(GatepassError("the store is locked; run: gatepass doctor")))
    result = run("list")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: the store is locked; run: gatepass doctor\n"


def test_an_unexpected_error_shows_its_type_never_its_text(monkeypatch):
    monkeypatch.setattr(cmd_list, "load_all", raising(ValueError("tok-canary")))
    result = run("list")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "internal error (ValueError)" in result.stderr and "--debug" in result.stderr and "tok-canary" not in result.stderr


@pytest.mark.parametrize("how", [["--debug"], "GATEPASS_DEBUG"])
def test_debug_shows_the_traceback(monkeypatch, how):
    monkeypatch.setattr(cmd_list, "load_all", raising(ValueError("boom")))
    args, env = (how, None) if isinstance(how, list) else ([], {"GATEPASS_DEBUG": "1"})
    with pytest.raises(ValueError, match="boom"):
        run(*args, "list", env=env)


def test_ctrl_c_is_exit_130_with_one_line(monkeypatch):
    monkeypatch.setattr(cmd_list, "load_all", raising(KeyboardInterrupt()))
    result = run("list")
    assert result.exit_code == 130 and result.stderr == "gatepass: interrupted; nothing was changed\n"


def test_ctrl_c_in_a_command_that_writes_claims_nothing(monkeypatch):
    """login puts the secret in the backend, then the index: Ctrl-C between the two is possible, so
    the message must not promise that nothing was half-written (issue #15)."""
    from gatepass.stores.layer import Store

    monkeypatch.setattr(Store, "save", raising(KeyboardInterrupt()))
    result = CliRunner().invoke(cli, ["login", "git", "github.com", "--username", "u", "--token-stdin"],
                                input="tok\n")
    assert result.exit_code == 130 and result.stderr == "gatepass: interrupted\n"


def test_usage_errors_stay_click_usage_errors():
    result = CliRunner().invoke(cli, ["list", "--kind", "svn"])
    assert result.exit_code == 2 and "Invalid value for '--kind'" in result.stderr and result.stdout == ""


def test_the_three_front_ends_word_an_internal_error_alike(monkeypatch):
    """git's helper, docker's helper and the gatepass command: one wording, the type only, how to see more."""
    import io
    import os

    from gatepass import app
    from gatepass.protocol import docker, git

    monkeypatch.setattr(app, "answer", raising(ValueError("tok-canary")))
    monkeypatch.setattr(cmd_list, "load_all", raising(ValueError("tok-canary")))
    env = dict(os.environ, GATEPASS_CONFIG="/dev/null")
    said = {}
    for name, helper, request in (("git", git, b"protocol=https\nhost=example.com\n"), ("docker", docker, b"example.com")):
        out, err = io.BytesIO(), io.BytesIO()
        helper.main(["get"], io.BytesIO(request), out, err, env)
        said[name] = (out.getvalue() + err.getvalue()).decode()
    said["cli"] = run("list").stderr
    assert said == {"git": "gatepass: internal error (ValueError); run again with GATEPASS_DEBUG=1 for the traceback\n",
                    "docker": "gatepass: internal error (ValueError); run again with GATEPASS_DEBUG=1 for the traceback\n",
                    "cli": "Error: internal error (ValueError); run again with --debug for the traceback\n"}
