"""End to end: real ``git clone`` through a GitHub App token that gatepass mints from a loopback GitHub API.

The git server accepts exactly the token the API minted last (``x-access-token``); the API
verifies the app's JWT with PyJWT and counts calls, so a cached token shows as no second call.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.e2e.test_git import git
from tests.e2e.test_github_app import APP_ID, app_key
from tests.support.as_user import run_as
from tests.support.git_server import GitServer
from tests.support.github_api import GitHubAPI

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(180)]
BIN = Path(sys.executable).parent


@pytest.fixture
def servers(tmp_path: Path, isolated_env: dict[str, str]):
    key = tmp_path / "keys" / "app.pem"
    key.parent.mkdir()
    public = app_key(key)
    with GitServer(str(tmp_path / "srv"), {}, repos=("acme/app.git", "nobody/x.git")) as git_server:
        def minted(token: str) -> None:
            git_server.set_user("x-access-token", token)
            minted_tokens.append(token)
        minted_tokens: list[str] = []
        with GitHubAPI(APP_ID, public, {"acme": 7}, on_mint=minted) as api:
            spec = f'github_app = {{ app_id = {APP_ID}, private_key_file = "{key}", api_url = "{api.url}" }}'
            write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[git_provider]]
domain = "127.0.0.1:{git_server.port}"
https = false
accounts = [{{ username = "x-access-token", organizations = ["acme", "nobody"], {spec} }}]
""")
            yield git_server, api, minted_tokens, key


def helper_get(request: bytes) -> subprocess.CompletedProcess[bytes]:
    return run_as([str(BIN / "git-credential-gatepass"), "get"], input=request, capture_output=True,
                          timeout=60, env=os.environ.copy())


def test_clone_through_a_minted_token_and_no_second_api_call_while_it_lives(servers, tmp_path, isolated_env):
    git_server, api, minted, key = servers
    first = git("-c", "credential.useHttpPath=true", "clone", "-q", git_server.url + "acme/app.git",
                str(tmp_path / "one"))
    assert (tmp_path / "one" / "README").exists() and git_server.users_seen() == {"x-access-token"}
    assert [c[:2] for c in api.calls] == [("GET", "/repos/acme/app/installation"),
                                          ("POST", "/app/installations/7/access_tokens")]
    second = git("-c", "credential.useHttpPath=true", "clone", "-q", git_server.url + "acme/app.git",
                 str(tmp_path / "two"))
    assert len(api.calls) == 2, "the cached token answered"
    for done in (first, second):
        assert minted[0] not in done.stderr and "PRIVATE KEY" not in done.stderr
    assert minted[0] not in (tmp_path / "one" / ".git" / "config").read_text()
    # git approved the token after the clone: it is what the config gives, so the store kept nothing,
    # and the only file holding it is its 0600 engine cache entry
    holders = [p for p in tmp_path.rglob("*") if p.is_file() and minted[0].encode() in p.read_bytes()]
    assert all(str(p).startswith(isolated_env["HOME"]) for p in holders)  # HOME lies within tmp_path
    assert [p.parent.name for p in holders] == ["tokens"] and holders[0].stat().st_mode & 0o777 == 0o600


def test_without_use_http_path_the_single_scoped_org_is_looked_up(servers, tmp_path, isolated_env):
    git_server, api, _, key = servers
    path = Path(isolated_env["GATEPASS_USER_CONFIG"])
    path.write_text(path.read_text().replace('["acme", "nobody"]', '["acme"]'))
    git("clone", "-q", git_server.url + "acme/app.git", str(tmp_path / "one"))
    assert [c[:2] for c in api.calls][0] == ("GET", "/orgs/acme/installation")


def test_get_answers_with_the_expiry_git_should_drop_it_at(servers):
    git_server, _, minted, _ = servers
    done = helper_get(f"protocol=http\nhost=127.0.0.1:{git_server.port}\npath=acme/app.git\n".encode())
    lines = done.stdout.decode().splitlines()
    assert lines[:2] == ["username=x-access-token", f"password={minted[0]}"]
    expiry = int(lines[2].removeprefix("password_expiry_utc="))
    assert abs(expiry - (time.time() + 3300)) < 120 and done.stderr == b""


def test_organization_without_installation_gives_no_answer_and_one_line(servers):
    git_server, api, _, _ = servers
    done = helper_get(f"protocol=http\nhost=127.0.0.1:{git_server.port}\npath=nobody/x.git\n".encode())
    assert done.stdout == b"" and done.returncode == 0
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and "GitHub App 4242 is not installed on repository nobody/x" in lines[0]
    assert [c[2] for c in api.calls] == [404]


def test_a_wrong_key_is_refused_within_ten_seconds_and_nothing_leaks(servers, tmp_path):
    git_server, api, minted, key = servers
    app_key(key)  # replace the key file with one GitHub does not know
    pem = key.read_text()
    started = time.monotonic()
    done = git("-c", "credential.useHttpPath=true", "clone", "-q", git_server.url + "acme/app.git",
               str(tmp_path / "one"), check=False)
    assert done.returncode != 0 and time.monotonic() - started < 10
    assert "GitHub answered 401" in done.stderr and minted == []
    body = "".join(pem.splitlines()[1:-1])
    assert "PRIVATE KEY" not in done.stderr and body[:40] not in done.stderr
