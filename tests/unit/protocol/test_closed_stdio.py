"""Helpers started with a standard descriptor closed (``>&-``, ``2>&-``, ``<&-``): store and erase still
keep or remove the credential, nothing tracebacks, and get with no stdin is one clean error line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
GIT_STORE = "protocol=https\nhost=closed.example\nusername=u\npassword=pw-closed-1\n"
DOCKER_STORE = '{"ServerURL":"closed.example","Username":"u","Secret":"pw-closed-2"}'


def run(helper: str, operation: str, stdin: str | None, redirect: str = "") -> subprocess.CompletedProcess[str]:
    """``helper operation`` with ``redirect`` (e.g. ``>&-``) applied by the shell that execs it."""
    return subprocess.run(["sh", "-c", f'exec "$0" "$1" {redirect}', str(BIN / helper), operation],
                          input=stdin, capture_output=True, text=True, timeout=60)


def git_get() -> str:
    return run("git-credential-gatepass", "get", "protocol=https\nhost=closed.example\n").stdout


def docker_get() -> str:
    return run("docker-credential-gatepass", "get", "closed.example").stdout


@pytest.mark.parametrize("redirect", [">&-", "2>&-", ">&- 2>&-"])
def test_git_store_and_erase_with_stdout_or_stderr_closed(isolated_env, redirect):
    stored = run("git-credential-gatepass", "store", GIT_STORE, redirect)
    assert stored.returncode == 0 and "Traceback" not in stored.stderr, stored.stderr
    assert git_get() == "username=u\npassword=pw-closed-1\n"
    erased = run("git-credential-gatepass", "erase", GIT_STORE, redirect)
    assert erased.returncode == 0 and "Traceback" not in erased.stderr, erased.stderr
    assert git_get() == ""


@pytest.mark.parametrize("redirect", [">&-", "2>&-", ">&- 2>&-"])
def test_docker_store_and_erase_with_stdout_or_stderr_closed(isolated_env, redirect):
    stored = run("docker-credential-gatepass", "store", DOCKER_STORE, redirect)
    assert stored.returncode == 0 and "Traceback" not in stored.stderr, stored.stderr
    assert json.loads(docker_get())["Secret"] == "pw-closed-2"
    erased = run("docker-credential-gatepass", "erase", "closed.example", redirect)
    assert erased.returncode == 0 and "Traceback" not in erased.stderr, erased.stderr
    assert docker_get() == "credentials not found in native keychain\n"


def test_a_docker_error_with_stdout_closed_is_said_on_stderr(isolated_env):
    done = run("docker-credential-gatepass", "store", "not json", ">&-")
    assert done.returncode == 1 and done.stderr.startswith("gatepass: ") and "Traceback" not in done.stderr


def test_get_with_stdin_closed_is_one_clean_error():
    git = run("git-credential-gatepass", "get", None, "<&-")
    assert (git.returncode, git.stdout) == (1, "")
    assert git.stderr == "gatepass: stdin is closed: the request comes there; nothing was done\n"
    docker = run("docker-credential-gatepass", "get", None, "<&-")
    assert (docker.returncode, docker.stderr) == (1, "")
    assert docker.stdout == "stdin is closed: the request comes there; nothing was done\n"
