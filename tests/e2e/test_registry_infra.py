"""The real-registry test infrastructure works on its own, and the clients call helpers as recorded.

Part one uses no credential helper at all: Debian's docker-registry with htpasswd auth, a tiny OCI
image built here, and the docker CLI (no engine), skopeo, docker-py and oras-py with plain
config-file credentials, each passing with the right password and failing with a wrong one.
Part two pins, with a recording helper, exactly what each client sends a docker credential helper
(issue 4): the action names and the server strings on stdin.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.docker_clients import DockerCLI, Skopeo, auths_entry, client_env, docker_py_resolve, oras_push_pull
from tests.support.oci import PushError, push_layout, write_layout
from tests.support.recorder_helper import NOT_FOUND, install_recorder, read_calls, set_creds
from tests.support.registry import Registry, skip_without_tools

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
USERS = {"alice": "pw-alice", "bob": "pw:bob with spaces"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    skip_without_tools("docker")
    with Registry(USERS) as reg:
        reg.layout = write_layout(str(tmp_path_factory.mktemp("oci") / "layout"))
        push_layout(reg.layout, reg.url, "team/hello", "v1", "alice", USERS["alice"])
        yield reg


@pytest.fixture
def docker(tmp_path: Path) -> DockerCLI:
    return DockerCLI(tmp_path / "home" / ".docker", home=tmp_path / "home")


# -- part one: the infrastructure, no credential helper ------------------------------------------

def test_registry_demands_auth_and_checks_bcrypt_htpasswd(registry):
    assert registry.url == f"http://127.0.0.1:{registry.port}"
    assert registry.get("/v2/") == 401
    assert registry.get("/v2/", "alice", USERS["alice"]) == 200
    assert registry.get("/v2/", "bob", USERS["bob"]) == 200
    assert registry.get("/v2/", "alice", USERS["bob"]) == 401
    entries = Path(registry.dir, "htpasswd").read_text().splitlines()
    assert [line.split(":", 1)[0] for line in entries] == ["alice", "bob"]
    assert all(line.split(":", 1)[1].startswith("$2y$") for line in entries)  # distribution takes bcrypt only
    assert "No HTTP secret provided" not in registry.log_text()


def test_registry_stops_by_pid_and_serves_localhost(monkeypatch):
    # skopeo/podman users export REGISTRY_AUTH_FILE; distribution would read it as auth.file and refuse to start
    monkeypatch.setenv("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
    reg = Registry({"carol": "pw"}, hostname="localhost").start()
    pid, root = reg.pid, reg.dir
    assert reg.host == f"localhost:{reg.port}" and reg.aliases == (f"127.0.0.1:{reg.port}", reg.host)
    assert reg.get("/v2/") == 401 and reg.get("/v2/", "carol", "pw") == 200
    reg.stop()
    reg.stop()
    assert reg.proc is not None and reg.proc.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not os.path.exists(root)


def test_push_layout_needs_the_right_password(registry, tmp_path):
    layout = write_layout(str(tmp_path / "layout"), tag="other", text="other\n")
    with pytest.raises(PushError) as refused:
        push_layout(layout, registry.url, "team/pushed", "v1", "alice", "wrong")
    assert refused.value.status == 401
    assert push_layout(layout, registry.url, "team/pushed", "v1", "bob", USERS["bob"]) == layout.manifest_digest
    assert registry.get("/v2/team/pushed/manifests/v1", "alice", USERS["alice"]) == 200
    assert registry.get(f"/v2/team/pushed/blobs/{layout.layer_digest}", "alice", USERS["alice"], "HEAD") == 200


def test_docker_login_without_helper_stores_base64_auth(registry, docker):
    assert not docker.login(registry.host, "bob", "wrong").ok
    assert docker.read_config().get("auths", {}).get(registry.host) is None
    done = docker.login(registry.host, "bob", USERS["bob"])
    assert done.ok and "Login Succeeded" in done.stdout, done.stderr
    assert docker.read_config()["auths"][registry.host] == auths_entry("bob", USERS["bob"])
    assert docker.logout(registry.host).ok
    assert registry.host not in docker.read_config().get("auths", {})


def test_docker_manifest_inspect_works_after_login_only(registry, docker):
    ref = f"{registry.host}/team/hello:v1"
    before = docker.manifest_inspect(ref)
    assert not before.ok and "no basic auth credentials" in before.stderr
    assert docker.login(registry.host, "alice", USERS["alice"]).ok
    after = docker.manifest_inspect(ref)
    assert after.ok, after.stderr
    assert after.json()["config"]["digest"] == registry.layout.config_digest


def test_docker_manifest_create_and_push(registry, docker):
    assert docker.login(registry.host, "alice", USERS["alice"]).ok
    listed = f"{registry.host}/team/hello:multi"
    assert docker.manifest_create(listed, f"{registry.host}/team/hello:v1").ok
    done = docker.manifest_push(listed)
    assert done.ok, done.stderr
    assert registry.get("/v2/team/hello/manifests/multi", "alice", USERS["alice"]) == 200


@pytest.mark.parametrize("password, ok", [(USERS["alice"], True), ("wrong", False)])
def test_skopeo_copy_and_inspect_with_auth_file(registry, tmp_path, password, ok):
    skopeo = Skopeo(tmp_path / "home")
    skopeo.login_file(registry.host, "alice", password)
    target = f"docker://{registry.host}/team/copied:{'good' if ok else 'bad'}"
    push = skopeo.copy(registry.layout.ref, target)
    assert push.ok is ok, push.stderr
    inspect = skopeo.inspect(f"docker://{registry.host}/team/hello:v1")
    assert inspect.ok is ok, inspect.stderr
    pull = skopeo.copy(f"docker://{registry.host}/team/hello:v1", f"oci:{tmp_path}/pulled:v1")
    assert pull.ok is ok, pull.stderr
    if ok:
        assert inspect.json()["Digest"] == registry.layout.manifest_digest
        assert "unauthorized" not in push.stderr
    else:
        assert "unauthorized" in inspect.stderr


def test_docker_py_resolves_auths_from_config(registry, docker):
    docker.write_config({"auths": {registry.host: auths_entry("bob", USERS["bob"])}})
    auth = docker_py_resolve(docker.config_path, registry.host, docker.env).json()
    assert (auth["username"], auth["password"], auth["serveraddress"]) == ("bob", USERS["bob"], registry.host)
    assert docker_py_resolve(docker.config_path, "127.0.0.2:1", docker.env).json() is None


@pytest.mark.parametrize("password, ok", [(USERS["alice"], True), ("wrong", False)])
def test_oras_push_pull_with_basic_auth(registry, tmp_path, password, ok):
    env = client_env(tmp_path / "home")
    target = f"{registry.host}/team/artifact:{'good' if ok else 'bad'}"
    done = oras_push_pull(registry.host, target, tmp_path / "work", env, user="alice", password=password)
    assert done.ok is ok, done.stdout + done.stderr
    if ok:
        assert done.json() == {"push": 201, "pulled": ["payload\n"]}
    else:
        assert "UNAUTHORIZED" in done.json()["error"]


def test_oras_reads_only_home_docker_config(registry, tmp_path, docker):
    docker.write_config({"auths": {registry.host: auths_entry("alice", USERS["alice"])}})
    target = f"{registry.host}/team/artifact:home"
    assert oras_push_pull(registry.host, target, tmp_path / "a", docker.env).ok  # HOME/.docker/config.json
    elsewhere = client_env(tmp_path / "other", DOCKER_CONFIG=str(docker.config_dir))
    done = oras_push_pull(registry.host, target, tmp_path / "b", elsewhere, push=False)
    assert not done.ok and "_basic_auth" in done.json()["error"]  # DOCKER_CONFIG is not read


# -- part two: what each client sends a credential helper ----------------------------------------

@pytest.fixture
def recorder(tmp_path: Path) -> tuple[Path, Path]:
    """(bin dir to put first on PATH, state dir) of a docker-credential-recorder."""
    install_recorder(tmp_path / "bin", tmp_path / "state")
    return tmp_path / "bin", tmp_path / "state"


def calls(state: Path) -> list[tuple[str, str]]:
    return [(call.action, call.stdin) for call in read_calls(state)]


def test_recorder_speaks_the_helper_protocol(recorder):
    bin_dir, state = recorder
    helper = str(bin_dir / "docker-credential-recorder")

    def run(action: str, data: str = "") -> tuple[int, str]:
        done = subprocess.run([helper, action], input=data, capture_output=True, text=True, timeout=30)
        return done.returncode, done.stdout

    assert run("get", "h:1") == (1, NOT_FOUND + "\n")
    assert run("store", json.dumps({"ServerURL": "h:1", "Username": "u", "Secret": "s"})) == (0, "")
    assert json.loads(run("get", "h:1\n")[1]) == {"ServerURL": "h:1", "Username": "u", "Secret": "s"}
    assert json.loads(run("list")[1]) == {"h:1": "u"}
    assert run("erase", "h:1") == (0, "") and run("erase", "h:1") == (0, "")
    assert run("nonsense") == (1, "unknown action\n")
    assert calls(state)[0] == ("get", "h:1") and ("list", "") in calls(state)


@pytest.mark.parametrize("wiring", ["credsStore", "credHelpers"])
def test_docker_cli_calls_store_get_erase_with_bare_host(registry, tmp_path, recorder, wiring):
    bin_dir, state = recorder
    host = registry.host
    docker = DockerCLI(tmp_path / "home" / ".docker", home=tmp_path / "home", path_prefix=[bin_dir])
    docker.write_config({"credsStore": "recorder"} if wiring == "credsStore" else {"credHelpers": {host: "recorder"}})
    assert not docker.login(host, "alice", "wrong").ok
    assert calls(state) == []  # a failed login stores nothing
    assert docker.login(host, "alice", USERS["alice"]).ok
    stored = {"ServerURL": host, "Username": "alice", "Secret": USERS["alice"]}
    assert calls(state) == [("store", json.dumps(stored, separators=(",", ":")) + "\n")]
    assert docker.read_config()["auths"] == {host: {}}  # a marker, no secret
    assert docker.manifest_inspect(f"{host}/team/hello:v1").ok
    assert calls(state)[1:] == [("get", host), ("get", host)]
    assert docker.logout(host).ok
    erased = [data for action, data in calls(state)[3:] if action == "erase"]
    # logout tries HOST twice, then http:// and https://; only credsStore routes the prefixed keys to a helper
    assert erased == ([host, host, f"http://{host}", f"https://{host}"] if wiring == "credsStore" else [host, host])


def test_skopeo_uses_cred_helpers_and_ignores_creds_store(registry, tmp_path, recorder):
    bin_dir, state = recorder
    set_creds(state, {registry.host: {"Username": "alice", "Secret": USERS["alice"]}})
    skopeo = Skopeo(tmp_path / "home", path_prefix=[bin_dir])
    ref = f"docker://{registry.host}/team/hello:v1"
    skopeo.write_authfile({"credsStore": "recorder"})
    assert not skopeo.inspect(ref).ok and calls(state) == []
    skopeo.write_authfile({"credHelpers": {registry.host: "recorder"}})
    assert skopeo.inspect(ref).ok
    assert skopeo.copy(registry.layout.ref, f"docker://{registry.host}/team/via-helper:v1").ok
    assert set(calls(state)) == {("get", registry.host)}


def test_docker_py_and_oras_get_with_bare_host(registry, tmp_path, recorder):
    bin_dir, state = recorder
    set_creds(state, {registry.host: {"Username": "alice", "Secret": USERS["alice"]}})
    docker = DockerCLI(tmp_path / "home" / ".docker", home=tmp_path / "home", path_prefix=[bin_dir])
    docker.write_config({"credHelpers": {registry.host: "recorder"}})
    auth = docker_py_resolve(docker.config_path, registry.host, docker.env).json()
    assert (auth["Username"], auth["Password"]) == ("alice", USERS["alice"])
    assert calls(state) == [("get", registry.host)]
    done = oras_push_pull(registry.host, f"{registry.host}/team/artifact:helper", tmp_path / "work", docker.env)
    assert done.ok, done.stdout + done.stderr
    assert set(calls(state)[1:]) == {("get", registry.host)}



def test_helper_error_is_fatal_but_not_found_is_anonymous(registry, tmp_path, recorder):
    """Why the exact not-found message matters: any other helper failure stops skopeo and docker-py."""
    bin_dir, state = recorder
    skopeo = Skopeo(tmp_path / "home", path_prefix=[bin_dir])
    skopeo.write_authfile({"credHelpers": {registry.host: "recorder"}})
    docker = DockerCLI(tmp_path / "home" / ".docker", home=tmp_path / "home", path_prefix=[bin_dir])
    docker.write_config({"credHelpers": {registry.host: "recorder"}})
    ref = f"docker://{registry.host}/team/hello:v1"
    set_creds(state, {})  # "credentials not found in native keychain": go on without credentials
    assert "unauthorized" in skopeo.inspect(ref).stderr
    assert docker_py_resolve(docker.config_path, registry.host, docker.env).json() is None
    set_creds(state, {registry.host: {"Error": "keyring is locked"}})
    assert "error getting credentials" in skopeo.inspect(ref).stderr
    failed = docker_py_resolve(docker.config_path, registry.host, docker.env)
    assert not failed.ok and "keyring is locked" in failed.stderr
    assert "no basic auth credentials" in docker.manifest_inspect(ref.removeprefix("docker://")).stderr  # swallowed


def test_logout_when_erase_fails(registry, tmp_path, recorder):
    """docker logout ignores a failing erase; skopeo logout fails (1.9.3 even overflows its stack)."""
    bin_dir, state = recorder
    set_creds(state, {registry.host: {"Error": "erase failed"}})
    docker = DockerCLI(tmp_path / "home" / ".docker", home=tmp_path / "home", path_prefix=[bin_dir])
    docker.write_config({"credsStore": "recorder"})
    assert docker.logout(registry.host).ok
    skopeo = Skopeo(tmp_path / "home", path_prefix=[bin_dir])
    skopeo.write_authfile({"credHelpers": {registry.host: "recorder"}})
    assert not skopeo.run("logout", "--authfile", str(skopeo.authfile), registry.host).ok
    set_creds(state, {registry.host: {"Username": "alice", "Secret": USERS["alice"]}})
    assert skopeo.run("logout", "--authfile", str(skopeo.authfile), registry.host).ok
    assert calls(state)[-1] == ("erase", registry.host)


def test_docker_keys_localhost_and_loopback_apart_and_oras_tries_both(tmp_path, recorder):
    skip_without_tools("docker")
    bin_dir, state = recorder
    with Registry({"alice": "pw-alice"}, hostname="localhost") as reg:
        loopback, localhost = reg.aliases
        push_layout(write_layout(str(tmp_path / "layout")), reg.url, "team/hello", "v1", "alice", "pw-alice")
        docker = DockerCLI(tmp_path / "home" / ".docker", home=tmp_path / "home", path_prefix=[bin_dir])
        docker.write_config({"credsStore": "recorder"})
        assert docker.login(localhost, "alice", "pw-alice").ok
        assert json.loads(read_calls(state)[0].stdin)["ServerURL"] == localhost
        assert not docker.manifest_inspect(f"{loopback}/team/hello:v1").ok
        assert {data for _, data in calls(state)[1:]} == {loopback}
        before = len(calls(state))
        done = oras_push_pull(loopback, f"{loopback}/team/artifact:v1", tmp_path / "work", docker.env)
        assert done.ok, done.stdout + done.stderr
        assert [data for _, data in calls(state)[before:before + 2]] == [loopback, localhost]  # iter_localhosts
