"""CI jobs with no gatepass setup at all: environments shaped like GitHub Actions' and GitLab CI's documented
variables turn their preset on, for the real git against the loopback git server and for the docker helper
(GitLab's registry: the real docker-registry, read by skopeo through the helper)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_git import git
from tests.support.as_user import run_as
from tests.support.docker_clients import Skopeo
from tests.support.git_server import GitServer
from tests.support.oci import seed_image
from tests.support.registry import Registry, missing_tools

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(180)]
JOB_TOKEN = "job-token-canary-51f0"


def actions_env(port: int) -> dict[str, str]:
    """What a GitHub Actions step sees (docs: "Variables reference"), its workflow exporting GITHUB_TOKEN."""
    return {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": f"http://127.0.0.1:{port}",
            "GITHUB_API_URL": f"http://127.0.0.1:{port}/api/v3", "GITHUB_REPOSITORY": "acme/app",
            "GITHUB_ACTOR": "octo-bot", "GITHUB_WORKFLOW": "ci", "GITHUB_RUN_ID": "1", "RUNNER_OS": "Linux",
            "GITHUB_TOKEN": JOB_TOKEN}


def gitlab_env(port: int, registry: str = "") -> dict[str, str]:
    """What a GitLab CI job sees (docs: "Predefined CI/CD variables")."""
    env = {"CI": "true", "GITLAB_CI": "true", "CI_SERVER_HOST": "127.0.0.1", "CI_SERVER_PORT": str(port),
           "CI_SERVER_PROTOCOL": "http", "CI_SERVER_URL": f"http://127.0.0.1:{port}", "CI_PROJECT_PATH": "acme/app",
           "CI_JOB_TOKEN": JOB_TOKEN, "CI_JOB_ID": "7"}
    if registry:
        env.update(CI_REGISTRY=registry, CI_REGISTRY_USER="gitlab-ci-token", CI_REGISTRY_PASSWORD=JOB_TOKEN,
                   CI_REGISTRY_IMAGE=f"{registry}/acme/app")
    return env


def clone(tmp_path: Path, server: GitServer, monkeypatch, env: dict[str, str], name: str):  # type: ignore[no-untyped-def]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    done = git("clone", "-q", server.url + "acme/app.git", str(tmp_path / name), check=False)
    assert JOB_TOKEN not in done.stdout + done.stderr
    return done


@pytest.mark.parametrize(("shape", "user"), [(actions_env, "x-access-token"), (gitlab_env, "gitlab-ci-token")])
def test_git_clones_in_a_ci_shaped_environment_with_no_setup(tmp_path, isolated_env, monkeypatch, shape, user):
    with GitServer(str(tmp_path / "srv"), {user: JOB_TOKEN}, repos=("acme/app.git",)) as server:
        done = clone(tmp_path, server, monkeypatch, shape(server.port), "clone")
        assert done.returncode == 0, done.stderr
        assert server.users_seen() == {user} and (tmp_path / "clone" / "README").exists()


@pytest.mark.parametrize("change", [{"GATEPASS_PRESET": "none"}, {"GITHUB_ACTIONS": ""}, {"GITHUB_TOKEN": ""}])
def test_no_token_is_sent_when_detection_is_off_outside_actions_or_without_the_token(tmp_path, isolated_env,
                                                                                     monkeypatch, change):
    with GitServer(str(tmp_path / "srv"), {"x-access-token": JOB_TOKEN}, repos=("acme/app.git",)) as server:
        env = {**actions_env(server.port), **change}
        for key in [k for k, v in change.items() if not v]:
            env.pop(key)
            monkeypatch.delenv(key, raising=False)
        done = clone(tmp_path, server, monkeypatch, env, "clone")
        assert done.returncode != 0 and server.users_seen() == set()
        assert "gatepass" not in done.stderr  # nothing to say: no preset is on


def test_an_explicit_preset_without_its_token_tells_the_workflow_line(tmp_path, isolated_env, monkeypatch):
    with GitServer(str(tmp_path / "srv"), {"x-access-token": JOB_TOKEN}, repos=("acme/app.git",)) as server:
        env = {**actions_env(server.port), "GATEPASS_PRESET": "github-actions"}
        del env["GITHUB_TOKEN"]
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        done = clone(tmp_path, server, monkeypatch, env, "clone")
        assert done.returncode != 0
        assert "GATEPASS_PRESET=github-actions: GITHUB_TOKEN is not set; export it from the workflow: " \
               "env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}" in done.stderr


def helper_get(server: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_as(["docker-credential-gatepass", "get"], input=server, env=env, capture_output=True, text=True,
                          timeout=60)


def test_actions_answers_ghcr_with_the_actor_and_the_job_token(isolated_env):
    env = dict(isolated_env, **{**actions_env(1), "GITHUB_SERVER_URL": "https://github.com"})  # a github.com job
    got = helper_get("ghcr.io", env)
    assert json.loads(got.stdout) == {"ServerURL": "ghcr.io", "Username": "octo-bot", "Secret": JOB_TOKEN}

    assert got.stderr == ""
    listed = run_as(["docker-credential-gatepass", "list"], input="", env=env, capture_output=True, text=True,
                            timeout=60)
    assert json.loads(listed.stdout) == {"ghcr.io": "octo-bot"}, listed.stderr
    assert helper_get("docker.io", env).stdout == "credentials not found in native keychain\n"
    del env["GITHUB_ACTIONS"]  # the same token outside Actions: nothing
    assert helper_get("ghcr.io", env).stdout == "credentials not found in native keychain\n"

def test_an_enterprise_servers_job_gives_ghcr_nothing(isolated_env):
    env = dict(isolated_env, **actions_env(1))  # GITHUB_SERVER_URL: the loopback server, not github.com
    got = helper_get("ghcr.io", env)
    assert got.returncode == 1 and "credentials not found" in got.stdout and JOB_TOKEN not in got.stdout + got.stderr


def test_gitlab_registry_answers_skopeo_through_the_helper(tmp_path, isolated_env):
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (Debian: docker-registry apache2-utils skopeo); ./test installs them")
    with Registry({"gitlab-ci-token": JOB_TOKEN, "seeder": "pw-seed"}) as registry:
        seed_image(str(tmp_path / "layout"), registry.host, "seeder", "pw-seed")
        skopeo = Skopeo(tmp_path / "job-home", path_prefix=[Path(isolated_env["PATH"].split(":")[0])])
        skopeo.write_authfile({"credHelpers": {registry.host: "gatepass"}})
        skopeo.env.update({k: v for k, v in isolated_env.items() if k.startswith(("GATEPASS_", "XDG_"))},
                          **gitlab_env(1, registry.host))
        done = skopeo.inspect(f"docker://{registry.host}/team/hello:v1")
        assert done.returncode == 0, done.stderr
        assert JOB_TOKEN not in done.stdout + done.stderr
        got = json.loads(helper_get(registry.host, skopeo.env).stdout)
        assert (got["Username"], got["Secret"]) == ("gitlab-ci-token", JOB_TOKEN)
        skopeo.env["GATEPASS_PRESET"] = "none"  # the same job without the preset: the registry refuses skopeo
        assert skopeo.inspect(f"docker://{registry.host}/team/hello:v1").returncode != 0
