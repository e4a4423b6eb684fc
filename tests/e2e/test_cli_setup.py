"""`gatepass setup` with the installed commands, then real git and docker clients using what it wrote.

git: after `gatepass setup git --global`, a plain `git clone` (no -c overrides: only what setup
put in the global config) authenticates through gatepass, with the organization's account for
its repository even without credential.useHttpPath. docker: after `gatepass setup docker`, the
helper config.json names answers, for the CLI-free path (docker-credential-<name> get), for
docker-py, and for skopeo against a real registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.as_user import launcher, python_argv, run_as
from tests.support.git_server import GIT_ENV, GitServer
from tests.support.oci import seed_image
from tests.support.registry import Registry, missing_tools

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(180)]
BIN = Path(sys.executable).parent
NO_OP_HELPER = "!f() { cat >/dev/null; }; f"  # a helper that was there before and answers nothing


def run(*cmd: str, stdin: str | None = None, check: bool = True, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    done = run_as(cmd, input=stdin, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **GIT_ENV, **(env or {})),
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd}: exit {done.returncode}: {done.stderr}")
    return done


def gatepass(*args: str) -> subprocess.CompletedProcess[str]:
    done = run(str(BIN / "gatepass"), *args)
    assert "tok-" not in done.stdout + done.stderr
    return done


def global_helpers() -> list[str]:
    return run("git", "config", "--global", "--get-all", "credential.helper", check=False).stdout.splitlines()


@pytest.fixture
def server(tmp_path, isolated_env):
    users = {"deploy": "tok-deploy", "acme-bot": "tok-acme"}
    with GitServer(str(tmp_path / "srv"), users, repos=("repo.git", "acme/app.git")) as srv:
        write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[git_provider]]
domain = "127.0.0.1:{srv.port}"
https = false
accounts = [
  {{ username = "deploy", token = "tok-deploy" }},
  {{ username = "acme-bot", token = "tok-acme", organizations = ["acme"] }},
]
""")
        yield srv


def test_setup_git_global_then_plain_git_clone_uses_gatepass(server, tmp_path):
    run("git", "config", "--global", "--add", "credential.helper", NO_OP_HELPER)
    gatepass("setup", "git", "--global")
    assert global_helpers() == ["", launcher("git-credential-gatepass")]  # gatepass alone, by absolute path
    assert run("git", "config", "--global", "--get", f"credential.http://127.0.0.1:{server.port}/acme.username").stdout \
        == "acme-bot\n"
    run("git", "clone", "-q", server.url + "repo.git", str(tmp_path / "repo"), env={"PATH": "/usr/bin:/bin"})
    assert server.users_seen() == {"deploy"}  # found without PATH


def test_organization_account_answers_without_use_http_path(server, tmp_path):
    gatepass("setup", "git")
    assert run("git", "config", "--get", "credential.useHttpPath", check=False).stdout == ""
    run("git", "clone", "-q", server.url + "acme/app.git", str(tmp_path / "app"))
    assert server.users_seen() == {"acme-bot"}  # the username key made git ask for acme-bot
    explained = json.loads(gatepass("explain", server.url + "acme/app.git", "--no-use-http-path", "--json").stdout)
    assert explained["chosen"]["username"] == "acme-bot"


def test_setup_git_undo_then_git_no_longer_asks_gatepass(server, tmp_path):
    run("git", "config", "--global", "--add", "credential.helper", NO_OP_HELPER)
    gatepass("setup", "git")
    gatepass("setup", "git", "--undo")
    assert global_helpers() == [NO_OP_HELPER]
    done = run("git", "clone", "-q", server.url + "repo.git", str(tmp_path / "repo"), check=False)
    assert done.returncode != 0 and server.users_seen() == set()


# --- docker -------------------------------------------------------------------------------------

@pytest.fixture
def docker_config(isolated_env, monkeypatch):
    path = Path(isolated_env["HOME"]) / ".docker"
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    return path / "config.json"


def helper_get(name: str, server: str) -> dict:
    done = run(f"docker-credential-{name}", "get", stdin=server)
    return json.loads(done.stdout)


def test_setup_docker_then_the_helper_config_json_names_answers(isolated_env, docker_config):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], """
[[docker_registry]]
accounts = [{ username = "hub", token = "tok-hub" }]
[[docker_registry]]
domain = "http://127.0.0.1:5000"
accounts = [{ username = "local", token = "tok-local" }]
""")
    gatepass("setup", "docker")
    helpers = json.loads(docker_config.read_text())["credHelpers"]
    assert set(helpers) == {"https://index.docker.io/v1/", "docker.io", "127.0.0.1:5000"}
    answers = {key: helper_get(name, key) for key, name in helpers.items()}  # what docker and skopeo do with it
    assert answers["127.0.0.1:5000"] == {"ServerURL": "127.0.0.1:5000", "Username": "local", "Secret": "tok-local"}
    assert answers["docker.io"]["Username"] == answers["https://index.docker.io/v1/"]["Username"] == "hub"
    code = ("import docker.auth, json, os; cfg = docker.auth.load_config(os.environ['DOCKER_CONFIG'] + '/config.json');"
            "print(json.dumps([docker.auth.resolve_authconfig(cfg, r) for r in ('127.0.0.1:5000', None)]))")
    local, hub = json.loads(run(*python_argv(code)).stdout)  # docker-py reads credHelpers itself
    assert (local["Username"], local["Password"], hub["Username"]) == ("local", "tok-local", "hub")
    gatepass("setup", "docker", "--undo")
    assert not docker_config.exists()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (Debian: docker-registry apache2-utils skopeo); ./test installs them")
    with Registry({"alice": "pw-alice"}) as reg:
        seed_image(str(tmp_path_factory.mktemp("oci") / "layout"), reg.host, "alice", "pw-alice")
        yield reg


@pytest.mark.parametrize("token, ok", [("pw-alice", True), ("wrong", False)])
def test_skopeo_reads_the_credhelpers_setup_docker_wrote(registry, isolated_env, docker_config, token, ok):
    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 f'[[docker_registry]]\ndomain = "http://{registry.host}"\naccounts = [{{ username = "alice", token = "{token}" }}]\n')
    gatepass("setup", "docker")
    inspect = run("skopeo", "inspect", "--authfile", str(docker_config), "--tls-verify=false",
                  f"docker://{registry.host}/team/hello:v1", check=False)
    assert (inspect.returncode == 0) is ok, inspect.stderr
