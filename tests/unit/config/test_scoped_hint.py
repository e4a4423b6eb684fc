"""An organization-scoped account git cannot reach because it sent no path: the answer for that host
carries one stderr line naming `gatepass setup git` (git otherwise silently uses the unscoped account)."""

from __future__ import annotations

import io
import os
import subprocess

import pytest

from gatepass.protocol import git
from tests.conftest import write_config

CONFIG = """
[[git_provider]]
domain = "github.com"
accounts = [
  { username = "me", token = "tok-me" },
  { username = "acme-bot", token = "tok-acme", organizations = ["acme"] },
]
"""


@pytest.fixture
def config(isolated_env):
    return write_config(isolated_env["GATEPASS_USER_CONFIG"], CONFIG)


def get(request: str) -> tuple[bytes, str]:
    out, err = io.BytesIO(), io.BytesIO()
    git.main(["get"], io.BytesIO(request.encode()), out, err, dict(os.environ))
    return out.getvalue(), err.getvalue().decode()


def test_no_path_no_username_names_setup_git(config):
    out, err = get("protocol=https\nhost=github.com\n")
    assert out == b"username=me\npassword=tok-me\n"
    assert err == ("gatepass: git sent no repository path for github.com, so me answered and acme-bot (organization "
                   "acme) cannot; run: gatepass setup git (or: git config --global credential.useHttpPath true)\n")


def test_no_line_when_git_can_reach_the_scoped_account(config):
    assert get("protocol=https\nhost=github.com\npath=acme/app.git\n") == (b"username=acme-bot\npassword=tok-acme\n", "")
    assert get("protocol=https\nhost=github.com\npath=other/app.git\n")[1] == ""
    assert get("protocol=https\nhost=github.com\nusername=acme-bot\n")[1] == ""
    subprocess.run(["git", "config", "--global", "credential.https://github.com/acme.username", "acme-bot"], check=True)
    assert get("protocol=https\nhost=github.com\n") == (b"username=me\npassword=tok-me\n", "")  # setup git's wiring


def test_no_line_without_scoped_accounts(isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], '[[git_provider]]\naccounts = [{ username = "me", token = "t" }]\n')
    assert get("protocol=https\nhost=github.com\n")[1] == ""
