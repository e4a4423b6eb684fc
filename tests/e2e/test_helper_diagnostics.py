"""The helpers say one stderr line, naming file:line and the fix, when they decline for a reason the user
can fix (issue 13 item 4): git shows only "Authentication failed" otherwise."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.as_user import run_as
from tests.support.git_server import GIT_ENV, GitServer

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(180)]


def clone(url: str, dest: Path) -> subprocess.CompletedProcess[str]:
    return run_as(["git", "-c", "credential.helper=", "-c", "credential.helper=gatepass", "clone", "-q", url, str(dest)],
                  capture_output=True, text=True, timeout=60, env=dict(os.environ, **GIT_ENV), stdin=subprocess.DEVNULL)


@pytest.fixture
def server(tmp_path):
    with GitServer(str(tmp_path / "srv"), {"deploy": "tok-right"}, repos=("repo.git",)) as srv:
        yield srv


def test_a_rejected_config_token_names_its_file_and_line(server, isolated_env, tmp_path):
    config = write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "127.0.0.1:{server.port}"\n'
                          'https = false\naccounts = [\n  { username = "deploy", token = "tok-wrong" },\n]\n')
    done = clone(server.url + "repo.git", tmp_path / "repo")
    assert done.returncode != 0 and "tok-" not in done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("gatepass:")]
    assert said == [f"gatepass: the server rejected the token of deploy@127.0.0.1:{server.port} from {config}:5; "
                    "fix it there (gatepass does not edit config files)"]
    assert config.read_text().count("tok-wrong") == 1  # and the file is untouched


def test_an_https_only_account_asked_over_http_says_how_to_allow_it(server, isolated_env, tmp_path):
    config = write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "127.0.0.1:{server.port}"\n'
                          'accounts = [{ username = "deploy", token = "tok-right" }]\n')
    done = clone(server.url + "repo.git", tmp_path / "repo")
    assert done.returncode != 0 and server.users_seen() == set()  # no token went over plain http
    said = [line for line in done.stderr.splitlines() if line.startswith("gatepass:")]
    assert said == [f"gatepass: {config}:3: deploy@127.0.0.1:{server.port} answers only https and git asked over http; "
                    "if this server really is plain http, set https = false there"]


def test_an_unknown_host_stays_silent(server, isolated_env, tmp_path):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], '[[git_provider]]\ndomain = "github.com"\n'
                 'accounts = [{ username = "me", token = "tok-me" }]\n')
    done = clone(server.url + "repo.git", tmp_path / "repo")
    assert done.returncode != 0 and "gatepass:" not in done.stderr
