"""Every gatepass command and subcommand has a --help that works and shows an example; the group stays lazy."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from gatepass import __version__
from gatepass.cli.main import COMMANDS, cli


def every_command_path() -> list[list[str]]:
    paths: list[list[str]] = [[]]
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        paths.append([name])
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in command.commands]
    return paths


def test_the_command_table_matches_the_modules():
    # a typo in COMMANDS ("module:attribute") would only show when that command runs
    for name in COMMANDS:
        assert isinstance(cli.get_command(click.Context(cli), name), click.Command), name
    assert {"list", "explain", "config", "setup", "doctor"} <= set(COMMANDS)


@pytest.mark.parametrize("path", every_command_path(), ids=lambda p: " ".join(p) or "gatepass")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help_with_an_example(path, flag):
    result = CliRunner().invoke(cli, [*path, flag], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Usage: ")
    assert "Example" in result.stdout  # groups too: a reader lands on `gatepass setup --help` first
    assert result.stderr == ""


def test_version():
    result = CliRunner().invoke(cli, ["--version"], catch_exceptions=False)
    assert result.stdout == f"gatepass, version {__version__}\n"


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "No such command" in result.stderr and result.stdout == ""


def test_group_help_is_quick_it_imports_no_command_module():
    code = ("import sys; from click.testing import CliRunner; from gatepass.cli.main import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.startswith('gatepass.cli.cmd_') or m in ('keyring', 'cryptography')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), check=True)
    assert done.stdout.strip() == "[]"


def test_installed_gatepass_script_runs_help():
    script = os.path.join(os.path.dirname(sys.executable), "gatepass")
    done = subprocess.run([script, "explain", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "gatepass explain https://github.com/acme/app.git" in done.stdout
