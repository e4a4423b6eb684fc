"""Real docker clients against a real registry, authenticated by docker-credential-gatepass.

No docker engine runs here: the docker CLI logs in client-side and `docker manifest` talks to
the registry itself. skopeo, docker-py and oras-py are used unmodified. Each client succeeds with
the right account and fails with a wrong one.

The clients and gatepass run as an ordinary user (``as_user``: tests/support/as_user.py) with a HOME
and DOCKER_CONFIG of their own; the registry is the test's, as root, on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.as_user import python_argv, run_as
from tests.support.oci import seed_image
from tests.support.registry import Registry, missing_tools

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(180)]
USERS = {"alice": "pw-alice", "bob": "pw-bob"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (Debian: docker-registry apache2-utils skopeo); ./test installs them")
    with Registry(USERS) as reg:
        image = seed_image(str(tmp_path_factory.mktemp("oci") / "layout"), reg.host, "alice", "pw-alice")
        reg.image = image
        yield reg


@pytest.fixture
def docker_env(isolated_env, registry, monkeypatch):
    """DOCKER_CONFIG in the test's HOME, wired to gatepass for this registry; no engine."""
    config_dir = Path(isolated_env["HOME"]) / ".docker"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"credHelpers": {registry.host: "gatepass"}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    return dict(os.environ)


def configure(isolated_env, registry, user: str, token: str) -> None:
    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 f'[[docker_registry]]\ndomain = "http://{registry.host}"\n'
                 f'accounts = [{{ username = "{user}", token = "{token}" }}]\n')


def run(*cmd: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_as(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=60)


def helper(action: str, stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run("docker-credential-gatepass", action, env=env, stdin=stdin)


def test_docker_login_stores_and_logout_erases(registry, docker_env, isolated_env):
    configure(isolated_env, registry, "alice", "pw-alice")
    done = run("docker", "login", registry.host, "-u", "bob", "--password-stdin", env=docker_env, stdin="pw-bob\n")
    assert done.returncode == 0, done.stderr
    config_json = (Path(docker_env["DOCKER_CONFIG"]) / "config.json").read_text()
    assert "pw-bob" not in config_json and "auth\"" not in config_json
    got = json.loads(helper("get", registry.host, docker_env).stdout)
    assert (got["Username"], got["Secret"]) == ("bob", "pw-bob")  # the store beats the user file
    assert run("docker", "logout", registry.host, env=docker_env).returncode == 0
    got = json.loads(helper("get", registry.host, docker_env).stdout)
    assert got["Username"] == "alice"  # back to the config account


def test_docker_login_with_wrong_password_stores_nothing(registry, docker_env):
    done = run("docker", "login", registry.host, "-u", "bob", "--password-stdin", env=docker_env, stdin="nope\n")
    assert done.returncode != 0
    assert helper("get", registry.host, docker_env).stdout == "credentials not found in native keychain\n"


@pytest.mark.parametrize("token, ok", [("pw-alice", True), ("wrong", False)])
def test_docker_manifest_inspect(registry, docker_env, isolated_env, token, ok):
    configure(isolated_env, registry, "alice", token)
    done = run("docker", "manifest", "inspect", "--insecure", f"{registry.host}/team/hello:v1", env=docker_env)
    assert (done.returncode == 0) is ok, done.stderr
    if ok:
        assert json.loads(done.stdout)["schemaVersion"] == 2


def test_docker_manifest_create_and_push(registry, docker_env, isolated_env):
    configure(isolated_env, registry, "alice", "pw-alice")
    ref = f"{registry.host}/team/hello:v1"
    listed = f"{registry.host}/team/hello:multi"
    assert run("docker", "manifest", "create", "--insecure", listed, ref, env=docker_env).returncode == 0
    done = run("docker", "manifest", "push", "--insecure", listed, env=docker_env)
    assert done.returncode == 0, done.stderr
    assert registry.get("/v2/team/hello/manifests/multi", "alice", "pw-alice") == 200


@pytest.mark.parametrize("token, ok", [("pw-alice", True), ("wrong", False)])
def test_skopeo_push_pull_inspect_via_cred_helpers(registry, docker_env, isolated_env, tmp_path, token, ok):
    configure(isolated_env, registry, "alice", token)
    authfile = tmp_path / "auth.json"  # skopeo ignores credsStore; credHelpers is what it reads
    authfile.write_text(json.dumps({"credHelpers": {registry.host: "gatepass"}}))
    flags = ["--authfile", str(authfile)]
    target = f"docker://{registry.host}/team/copied:{token}"
    layout, _, tag = registry.image.removeprefix("oci:").rpartition(":")
    shutil.copytree(layout, tmp_path / "image")  # the user's own copy of the image to push
    push = run("skopeo", "copy", *flags, "--dest-tls-verify=false", f"oci:{tmp_path}/image:{tag}", target,
               env=docker_env)
    assert (push.returncode == 0) is ok, push.stderr
    inspect = run("skopeo", "inspect", *flags, "--tls-verify=false", f"docker://{registry.host}/team/hello:v1",
                  env=docker_env)
    assert (inspect.returncode == 0) is ok, inspect.stderr
    pull = run("skopeo", "copy", *flags, "--src-tls-verify=false", f"docker://{registry.host}/team/hello:v1",
               f"oci:{tmp_path}/pulled:v1", env=docker_env)
    assert (pull.returncode == 0) is ok, pull.stderr


def test_docker_py_resolve_authconfig(registry, docker_env, isolated_env):
    configure(isolated_env, registry, "alice", "pw-alice")
    code = ("import docker.auth, json, os; cfg = docker.auth.load_config(os.environ['DOCKER_CONFIG'] + '/config.json');"
            f"print(json.dumps(docker.auth.resolve_authconfig(cfg, {registry.host!r})))")
    done = run(*python_argv(code), env=docker_env)
    assert done.returncode == 0, done.stderr
    auth = json.loads(done.stdout)
    assert (auth["Username"], auth["Password"]) == ("alice", "pw-alice")


@pytest.mark.parametrize("token, ok", [("pw-alice", True), ("wrong", False)])
def test_oras_push_pull(registry, docker_env, isolated_env, tmp_path, token, ok):
    configure(isolated_env, registry, "alice", token)
    artifact = tmp_path / "artifact.txt"
    artifact.write_text("payload\n")
    code = f"""
import os, sys, oras.client
client = oras.client.OrasClient(hostname={registry.host!r}, insecure=True, auth_backend="basic")
target = {registry.host!r} + "/team/artifact:v1"
os.chdir({str(tmp_path)!r})
try:
    client.push(files=["artifact.txt"], target=target)
    client.pull(target=target, outdir="out")
except Exception as exc:
    print("failed", type(exc).__name__); sys.exit(3)
print(open("out/artifact.txt").read().strip())
"""
    done = run(*python_argv(code), env=docker_env)
    if ok:
        assert done.returncode == 0 and done.stdout.strip().endswith("payload"), done.stdout + done.stderr
    else:
        assert done.returncode != 0


def test_docker_logout_of_a_config_account_is_refused_for_every_spelling_docker_erases(registry, docker_env, isolated_env):
    """docker logout HOST erases HOST, http://HOST and https://HOST and calls it done if any one
    works: a login that lives in the config file is refused for each. (docker 28 lists HOST twice,
    so its "could not erase" warning never shows for a registry other than Docker Hub; podman's does.)"""
    configure(isolated_env, registry, "alice", "pw-alice")
    for server in (registry.host, f"http://{registry.host}", f"https://{registry.host}"):
        done = helper("erase", server, docker_env)
        assert done.returncode == 1, (server, done.stdout)
        assert f"comes from {isolated_env['GATEPASS_USER_CONFIG']}:3" in done.stdout
    assert json.loads(helper("get", registry.host, docker_env).stdout)["Username"] == "alice"


def test_docker_logout_of_a_docker_hub_config_account_warns(docker_env, isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], '[[docker_registry]]\ndomain = "docker.io"\n'
                 'accounts = [{ username = "hubbot", token = "pw-hub" }]\n')
    config_json = Path(docker_env["DOCKER_CONFIG"]) / "config.json"
    config_json.write_text(json.dumps({"credsStore": "gatepass"}))
    done = run("docker", "logout", env=docker_env)
    assert "WARNING: could not erase credentials" in done.stderr and "comes from" in done.stderr, done.stderr
