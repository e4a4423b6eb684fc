"""A reader that goes away (`gatepass list | head -1`) ends gatepass quietly, as it ends other Unix tools (issue 13 item 3)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config

BIN = Path(sys.executable).parent
ACCOUNTS = "\n".join(f'  {{ username = "user{i}", token = "tok-{i}" }},' for i in range(3000))
CONFIG = f"""
[[git_provider]]
domain = "github.com"
accounts = [
{ACCOUNTS}
]
[[docker_registry]]
domain = "ghcr.io"
accounts = [
{ACCOUNTS}
]
""" + "\n".join(f'[[docker_registry]]\ndomain = "registry-number-{i}.example.com"\naccounts = [{{ username = "u", token = "tok-r" }}]'
                for i in range(6000))


@pytest.fixture
def config(isolated_env):
    return write_config(isolated_env["GATEPASS_USER_CONFIG"], CONFIG)


@pytest.mark.parametrize("argv", [
    ["gatepass", "list"],
    ["gatepass", "explain", "https://github.com/acme/app.git", "--no-use-http-path"],
    ["docker-credential-gatepass", "list"],
])
def test_a_closed_pipe_ends_the_command_quietly(config, argv):
    """The reader is gone before the command writes (its read end closed before it starts): no timing involved."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([str(BIN / argv[0]), *argv[1:]], stdout=write_end, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == b"", done.stderr.decode()  # no "internal error (BrokenPipeError)", no "Exception ignored"
    assert done.returncode == -signal.SIGPIPE  # died of SIGPIPE like cat or ls: the shell says 141


def test_head_in_a_shell_pipeline_prints_one_line_and_nothing_else(config):
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {BIN}/gatepass list | head -1; echo status=$?"],
                          capture_output=True, text=True, timeout=120)
    assert done.stderr == "" and done.stdout.splitlines()[-1] == "status=141"
    assert len(done.stdout.splitlines()) == 2
