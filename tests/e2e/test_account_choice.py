"""Issue #19 with real clients: GATEPASS_ACCOUNT (and ``gatepass exec``) picks the second account on one
registry or git host, and GATEPASS_TRACE records a whole clone as JSON lines with no secret in them.

The first account of each pair holds a wrong token: only the restriction can make the client
succeed, and restricting to the first one must make it fail (no fallback to the other account).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.as_user import run_as
from tests.support.docker_clients import DockerCLI, Skopeo
from tests.support.git_server import GIT_ENV, GitServer
from tests.support.oci import seed_image
from tests.support.registry import Registry, missing_tools

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(300)]
BIN = Path(sys.executable).parent
CANARY = "tok-canary-7f3e9a1b2c4d"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (Debian: docker-registry apache2-utils skopeo); ./test installs them")
    with Registry({"robot-one": "pw-one", "robot-two": "pw-two"}) as reg:
        seed_image(str(tmp_path_factory.mktemp("oci") / "layout"), reg.host, "robot-two", "pw-two")
        yield reg


def two_robots(isolated_env, host: str) -> None:
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[docker_registry]]\ndomain = "http://{host}"\n'
                 'accounts = [{ username = "robot-one", token = "wrong-one" }, { username = "robot-two", token = "pw-two" }]\n')


@pytest.mark.parametrize(("account", "ok"), [(None, False), ("robot-two", True), ("robot-one", False)])
def test_skopeo_inspect_as_each_account_by_the_variable(registry, isolated_env, tmp_path, account, ok):
    two_robots(isolated_env, registry.host)
    skopeo = Skopeo(tmp_path / "home", [BIN])
    skopeo.write_authfile({"credHelpers": {registry.host: "gatepass"}})
    env = dict(skopeo.env, **{k: v for k, v in isolated_env.items() if k.startswith("GATEPASS_")})
    if account:
        env["GATEPASS_ACCOUNT"] = account
    done = run_as(["skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/team/hello:v1"],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert (done.returncode == 0) is ok, done.stderr


def test_docker_cli_through_gatepass_exec(registry, isolated_env, tmp_path, monkeypatch):
    docker = DockerCLI(tmp_path / "docker", home=Path(isolated_env["HOME"]), path_prefix=[BIN])
    docker.write_config({"credHelpers": {registry.host: "gatepass"}})
    two_robots(isolated_env, registry.host)
    for name, value in isolated_env.items():
        docker.env.setdefault(name, value)
    ref = f"{registry.host}/team/hello:v1"
    plain = run_as(["docker", "manifest", "inspect", "--insecure", ref], env=docker.env, capture_output=True,
                           text=True, timeout=120)
    chosen = run_as([str(BIN / "gatepass"), "exec", "--account", "robot-two", "--", "docker", "manifest",
                             "inspect", "--insecure", ref], env=docker.env, capture_output=True, text=True, timeout=120)
    assert plain.returncode != 0, plain.stdout
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout)["schemaVersion"] == 2  # docker's stdout came through exec untouched


def test_docker_helper_no_match_is_not_found_with_one_line_naming_the_variable(registry, isolated_env):
    two_robots(isolated_env, registry.host)
    done = run_as([str(BIN / "docker-credential-gatepass"), "get"], input=registry.host, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, GATEPASS_ACCOUNT="robot-three"))
    assert (done.returncode, done.stdout) == (1, "credentials not found in native keychain\n")
    assert done.stderr.count("\n") == 1 and "GATEPASS_ACCOUNT=robot-three" in done.stderr


def git(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **GIT_ENV, **(env or {}))
    cmd = ["git", "-c", "credential.helper=", "-c", "credential.helper=gatepass", *args]
    done = run_as(cmd, env=full, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} failed: {done.stderr}")
    return done


@pytest.fixture
def git_server(tmp_path, isolated_env):
    users = {"first": "tok-first", "second": CANARY}
    with GitServer(str(tmp_path / "srv"), users, repos=("repo.git",)) as server:
        write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "127.0.0.1:{server.port}"\n'
                     'https = false\naccounts = [{ username = "first", token = "wrong-first" }, '
                     f'{{ username = "second", token = "{CANARY}" }}]\n')
        yield server


def test_git_clone_as_the_second_of_two_unscoped_accounts(git_server, tmp_path):
    assert git("clone", "-q", git_server.url + "repo.git", str(tmp_path / "a"), check=False).returncode != 0
    git("clone", "-q", git_server.url + "repo.git", str(tmp_path / "b"), env={"GATEPASS_ACCOUNT": "second"})
    assert git_server.users_seen() == {"second"}
    done = run_as([str(BIN / "gatepass"), "exec", "-a", "second", "--", "git", "-c", "credential.helper=",
                           "-c", "credential.helper=gatepass", "clone", "-q", git_server.url + "repo.git",
                           str(tmp_path / "c")], env=dict(os.environ, **GIT_ENV), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c" / "README").exists()


def test_a_trace_over_a_whole_clone_is_json_lines_without_a_secret(git_server, tmp_path):
    trace = tmp_path / "trace" / "gatepass.jsonl"
    trace.parent.mkdir()
    git("clone", "-q", git_server.url + "repo.git", str(tmp_path / "ok"),
        env={"GATEPASS_ACCOUNT": "second", "GATEPASS_TRACE": str(trace)})
    failing = git("clone", "-q", git_server.url + "repo.git", str(tmp_path / "fails"), check=False,
                  env={"GATEPASS_TRACE": str(trace)})
    assert failing.returncode != 0
    text = trace.read_text()
    assert CANARY not in text and CANARY[:8] not in text and "wrong-first" not in text
    assert os.stat(trace).st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in text.splitlines()]
    assert {(line["helper"], line["operation"]) for line in lines} >= {("git", "get"), ("git", "store"), ("git", "erase")}
    gets = [line for line in lines if line["operation"] == "get"]
    assert gets[0]["winner"] == "second" and gets[0]["account"] == "second"
    assert {c["username"]: c["result"] for c in gets[0]["candidates"]} == {"second": "chosen", "first": "ruled out"}
    assert gets[0]["candidates"][1]["rule"] == "account" and ":" in gets[0]["candidates"][0]["where"]
    assert gets[-1]["winner"] == "first" and gets[-1]["account"] is None  # the failing fetch: first wins, wrongly
    erase = [line for line in lines if line["operation"] == "erase"]
    assert erase and erase[-1]["host"] == f"127.0.0.1:{git_server.port}"
    for line in lines:
        assert set(line) >= {"time", "helper", "operation", "protocol", "host", "path", "username", "candidates",
                             "winner", "duration_ms"}
