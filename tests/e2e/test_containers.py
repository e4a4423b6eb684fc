"""podman, skopeo and the docker CLI against Debian's docker-registry after `gatepass setup containers|docker`:
logins go into gatepass's store, never into auth.json or config.json.

The clients and gatepass run as an ordinary user (``as_user``: tests/support/as_user.py), so podman is
rootless podman (its user namespace, vfs storage under the test's directory, its pause process stopped
by PID after each test); the registry is the test's, as root, on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.as_user import current, run_as
from tests.support.docker_clients import DockerCLI, client_env
from tests.support.oci import seed_image
from tests.support.registry import Registry, missing_tools
from tests.support.rootless import stop_pause_process

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(300)]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    missing = missing_tools("podman")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: docker-registry apache2-utils skopeo podman); ./test installs them")
    with Registry({"alice": "pw-alice", "bob": "pw-bob"}) as reg:
        seed_image(str(tmp_path_factory.mktemp("oci") / "layout"), reg.host, "alice", "pw-alice")
        yield reg


def gatepass(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = run_as([str(BIN / "gatepass"), *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert not check or done.returncode == 0, done.stderr
    assert "pw-" not in done.stdout + done.stderr
    return done


def helper(operation: str, server: str) -> subprocess.CompletedProcess[str]:
    return run_as([str(BIN / "docker-credential-gatepass"), operation], input=server, capture_output=True, text=True,
                  timeout=60)


@pytest.fixture
def tools(isolated_env, tmp_path):
    """podman and skopeo with this test's HOME (so its registries.conf), private storage, an auth file to watch."""
    home = Path(isolated_env["HOME"])
    # podman wants a runroot under 50 characters: pytest's own tmp_path is longer
    run = tmp_path / "run" if current() else Path(tempfile.mkdtemp(prefix="gp-run-"))
    run.mkdir(mode=0o700, exist_ok=True)
    auth = tmp_path / "auth.json"
    auth.write_text("{}")  # podman logout insists the auth file exists
    env = client_env(home, [BIN], REGISTRY_AUTH_FILE=str(auth))
    Path(env["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True)
    storage = ["--root", str(tmp_path / "storage"), "--runroot", str(run), "--storage-driver", "vfs",
               "--events-backend", "none", "--cgroup-manager", "cgroupfs"]

    def podman(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_as(["podman", *storage, *args], input=stdin or "", env=env, capture_output=True, text=True,
                      timeout=120)

    def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
        return run_as(["skopeo", *args], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    yield podman, skopeo, auth
    stop_pause_process(env["XDG_RUNTIME_DIR"])  # rootless podman's, which holds its user namespace open
    shutil.rmtree(run, ignore_errors=True)


def test_podman_login_and_logout_go_through_gatepass(registry, tools):
    podman, skopeo, auth = tools
    gatepass("setup", "containers")
    login = podman("login", "--tls-verify=false", "--username", "alice", "--password-stdin", registry.host,
                   stdin="pw-alice\n")
    assert login.returncode == 0, login.stderr
    got = helper("get", registry.host)
    assert got.returncode == 0 and json.loads(got.stdout) == {"ServerURL": registry.host, "Username": "alice",
                                                             "Secret": "pw-alice"}
    assert json.loads(auth.read_text()) == {}  # nothing written there
    # skopeo (no credentials of its own) reads the login through gatepass too
    inspect = skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/team/hello:v1")
    assert inspect.returncode == 0, inspect.stderr
    logout = podman("logout", registry.host)
    assert logout.returncode == 0, logout.stderr
    assert helper("get", registry.host).stdout.strip() == "credentials not found in native keychain"


def test_without_setup_podman_login_writes_auth_json(registry, tools):
    """The control: what setup containers prevents really happens without it."""
    podman, _, auth = tools
    login = podman("login", "--tls-verify=false", "--username", "alice", "--password-stdin", registry.host,
                   stdin="pw-alice\n")
    assert login.returncode == 0, login.stderr
    assert registry.host in json.loads(auth.read_text())["auths"]


def test_podman_logout_of_a_config_account_says_where_it_lives(registry, tools, isolated_env):
    podman, _, _ = tools
    config = write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[docker_registry]]\ndomain = "http://{registry.host}"\n'
                          'accounts = [{ username = "bob", token = "pw-bob" }]\n')
    gatepass("setup", "containers")
    logout = podman("logout", registry.host)
    assert logout.returncode != 0 and "credential helper gatepass" in logout.stderr  # podman 4.3 drops the helper's text
    erase = helper("erase", registry.host)  # what podman was answered
    assert erase.returncode == 1 and f"comes from {config}:3" in erase.stdout and "remove the account there" in erase.stdout
    assert json.loads(helper("get", registry.host).stdout)["Username"] == "bob"  # still answered: it was not logged out


def test_docker_login_after_default_setup_docker_leaves_no_plaintext(registry, tools, isolated_env, tmp_path, monkeypatch):
    """credsStore gatepass: docker login to a registry with no account in the config goes to gatepass, and with
    setup containers, skopeo and podman see that login too."""
    _, skopeo, _ = tools
    docker = DockerCLI(tmp_path / "docker", home=Path(isolated_env["HOME"]), path_prefix=[BIN])
    monkeypatch.setenv("DOCKER_CONFIG", str(docker.config_dir))  # for gatepass setup docker
    gatepass("setup", "docker")
    gatepass("setup", "containers")
    login = docker.login(registry.host, "alice", "pw-alice")
    assert login.ok, login.stderr
    text = docker.config_path.read_text()
    assert "pw-alice" not in text and '"auth"' not in text
    assert json.loads(helper("get", registry.host).stdout)["Secret"] == "pw-alice"
    inspect = skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/team/hello:v1")
    assert inspect.returncode == 0, inspect.stderr
