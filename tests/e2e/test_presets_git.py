"""A CI job with no config file: ``GATEPASS_PRESET`` alone lets a real ``git clone`` through."""

from __future__ import annotations

import os

import pytest

from tests.e2e.test_git import git
from tests.support.git_server import GitServer

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(120)]


@pytest.mark.parametrize(("preset", "user", "variable", "server_env"), [
    ("github-actions", "x-access-token", "GITHUB_TOKEN", lambda port: {"GITHUB_SERVER_URL": f"http://127.0.0.1:{port}"}),
    ("gitlab-ci", "gitlab-ci-token", "CI_JOB_TOKEN",
     lambda port: {"CI_SERVER_HOST": "127.0.0.1", "CI_SERVER_PORT": str(port), "CI_SERVER_PROTOCOL": "http"}),
])
def test_clone_with_only_the_preset_in_the_environment(tmp_path, monkeypatch, preset, user, variable, server_env):
    with GitServer(str(tmp_path / "srv"), {user: "job-token-1"}, repos=("acme/app.git",)) as server:
        monkeypatch.setenv("GATEPASS_CONFIG", os.devnull)
        monkeypatch.setenv("GATEPASS_PRESET", preset)
        monkeypatch.setenv(variable, "job-token-1")
        for name, value in server_env(server.port).items():
            monkeypatch.setenv(name, value)
        done = git("clone", "-q", server.url + "acme/app.git", str(tmp_path / "clone"))
        assert server.users_seen() == {user}
        assert "job-token-1" not in done.stderr and (tmp_path / "clone" / "README").exists()
