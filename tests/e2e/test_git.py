"""Real git against a real smart-HTTP server with Basic auth, answered by git-credential-gatepass.

git and gatepass run as an ordinary user (``as_user``: tests/support/as_user.py) with a HOME, a user
layer and clones of their own; the global and host layers are root's, shared with the user's group
(0640), as an administrator shares /etc/gatepass; the server is the test's, as root.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.as_user import run_as, system_layer
from tests.support.git_server import GIT_ENV, GitServer

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(120)]


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **GIT_ENV)
    env.pop("GIT_CONFIG_NOSYSTEM", None)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    # Only gatepass answers: the empty value resets helpers from any other config.
    cmd = ["git", "-c", "credential.helper=", "-c", "credential.helper=gatepass", *args]
    done = run_as(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} failed: {done.stderr}")
    return done


def provider(domain: str, *accounts: str, https: bool = False, extra: str = "") -> str:
    lines = ",\n  ".join(accounts)
    return (f'[[git_provider]]\ndomain = "{domain}"\nhttps = {str(https).lower()}\n{extra}'
            f'accounts = [\n  {lines},\n]\n')


@pytest.fixture
def server(tmp_path_factory):
    users = {"deploy": "tok-deploy", "ci": "tok-ci", "acme-bot": "tok-acme", "hostbot": "tok-host"}
    with GitServer(str(tmp_path_factory.mktemp("srv")), users, repos=("repo.git", "acme/app.git")) as srv:
        yield srv


def domain_of(srv: GitServer) -> str:
    return f"127.0.0.1:{srv.port}"


@pytest.mark.parametrize("layer", ["GATEPASS_GLOBAL_CONFIG", "GATEPASS_HOST_CONFIG", "GATEPASS_USER_CONFIG"])
def test_clone_and_push_with_account_from_each_layer(server, tmp_path, isolated_env, layer):
    text = provider(domain_of(server), '{ username = "deploy", token = "tok-deploy" }')
    if layer == "GATEPASS_USER_CONFIG":
        write_config(isolated_env[layer], text)
    else:
        system_layer(isolated_env[layer], text)  # root's, 0640, the user's group
    clone = tmp_path / "clone"
    git("clone", "-q", server.url + "repo.git", str(clone))
    (clone / "new.txt").write_text("pushed\n")
    git("add", "new.txt", cwd=clone)
    git("commit", "-qm", "push through gatepass", cwd=clone)
    git("push", "-q", "origin", "main", cwd=clone)
    assert server.users_seen() == {"deploy"}
    assert "tok-deploy" not in (clone / ".git" / "config").read_text()
    log = subprocess.run(["git", "--git-dir", os.path.join(server.root, "repo.git"), "log", "--format=%s", "-1"],
                         capture_output=True, text=True, check=True).stdout  # on the server's side, as its owner
    assert log.strip() == "push through gatepass"


def test_clone_from_host_dropin_file(server, tmp_path):
    system_layer(tmp_path / "etc" / "host.d" / "50-git.toml",
                 provider(domain_of(server), '{ username = "hostbot", token_file = "hostbot.token" }'))
    system_layer(tmp_path / "etc" / "host.d" / "hostbot.token", "tok-host\n")
    git("clone", "-q", server.url + "repo.git", str(tmp_path / "c"))
    assert server.users_seen() == {"hostbot"}


def test_higher_layer_wins(server, tmp_path, isolated_env):
    system_layer(isolated_env["GATEPASS_GLOBAL_CONFIG"], provider(domain_of(server), '{ username = "ci", token = "tok-ci" }'))
    write_config(isolated_env["GATEPASS_USER_CONFIG"], provider(domain_of(server), '{ username = "deploy", token = "tok-deploy" }'))
    git("clone", "-q", server.url + "repo.git", str(tmp_path / "c"))
    assert server.users_seen() == {"deploy"}


def test_wrong_token_fails_with_authentication_failed_and_does_not_hang(server, tmp_path, isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], provider(domain_of(server), '{ username = "deploy", token = "tok-refused-9" }'))
    done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "c"), check=False)
    assert done.returncode != 0 and "Authentication failed" in done.stderr
    assert "tok-refused-9" not in done.stderr  # a token value unlike any path (this test's own name holds "wrong")
    assert "the server rejected the token of deploy@" in done.stderr  # and the file to fix it in is named


def test_broken_host_dropin_reports_and_other_layers_still_answer(server, tmp_path, isolated_env):
    system_layer(tmp_path / "etc" / "host.d" / "10-typo.toml", "[[git_provider]\n")
    system_layer(isolated_env["GATEPASS_GLOBAL_CONFIG"], provider(domain_of(server), '{ username = "ci", token = "tok-ci" }'))
    done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "c"))
    assert "10-typo.toml:1" in done.stderr and server.users_seen() == {"ci"}


def test_two_accounts_picked_by_username_in_url(server, tmp_path, isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], provider(
        domain_of(server), '{ username = "deploy", token = "tok-deploy" }', '{ username = "ci", token = "tok-ci" }'))
    url = server.url.replace("http://", "http://ci@") + "repo.git"
    git("clone", "-q", url, str(tmp_path / "c"))
    assert server.users_seen() == {"ci"}
    assert "tok-ci" not in (tmp_path / "c" / ".git" / "config").read_text()


def test_two_accounts_picked_by_organization(server, tmp_path, isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], provider(
        domain_of(server), '{ username = "deploy", token = "tok-deploy" }',
        '{ username = "acme-bot", token = "tok-acme", organizations = ["acme"] }'))
    git("-c", "credential.useHttpPath=true", "clone", "-q", server.url + "acme/app.git", str(tmp_path / "a"))
    assert server.users_seen() == {"acme-bot"}
    git("-c", "credential.useHttpPath=true", "clone", "-q", server.url + "repo.git", str(tmp_path / "b"))
    assert server.users_seen() == {"acme-bot", "deploy"}


def test_https_only_domain_is_not_answered_for_http_remote(server, tmp_path, isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 provider(domain_of(server), '{ username = "deploy", token = "tok-deploy" }', https=True))
    done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "c"), check=False)
    assert done.returncode != 0 and server.users_seen() == set()


def test_lookalike_host_gets_nothing(server, tmp_path, isolated_env):
    port = server.port
    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 provider(f"github.com:{port}", '{ username = "deploy", token = "tok-deploy" }'))
    resolve = ["-c", f"http.curloptResolve=github.com:{port}:127.0.0.1",
               "-c", f"http.curloptResolve=github.com.evil.test:{port}:127.0.0.1"]
    done = git(*resolve, "clone", "-q", f"http://github.com.evil.test:{port}/repo.git", str(tmp_path / "evil"),
               check=False)
    assert done.returncode != 0 and server.users_seen() == set()
    git(*resolve, "clone", "-q", f"http://github.com:{port}/repo.git", str(tmp_path / "good"))
    assert server.users_seen() == {"deploy"}
