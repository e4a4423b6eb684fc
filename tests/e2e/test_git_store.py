"""The store layer end to end: git remembers what the user typed, forgets what the server rejected,
and parallel or killed writers lose nothing.

git, the helper and the Secret Service run as an ordinary user (``as_user``: tests/support/as_user.py),
and the store is read back as that user: root trusts none of a user's files. The SIGKILL-at-every-step
test drives no client (it hooks the helper's own file-system calls in one process) and runs as the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from gatepass.stores.index import Index
from tests.e2e.test_git import git
from tests.support.as_user import popen_as, python_argv, run_as
from tests.support.git_server import GitServer
from tests.support.secret_service import missing_tools, private_secret_service

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
HELPER = str(Path(sys.executable).parent / "git-credential-gatepass")


@pytest.fixture(params=["encrypted-file", "secret-service"])
def backend(request, monkeypatch):
    monkeypatch.setenv("GATEPASS_STORE_BACKEND", request.param)
    if request.param == "encrypted-file":
        yield request.param
        return
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())}; ./test installs them")
    with private_secret_service() as env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield request.param


def stored(env: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(username, backend, host) of each index entry, read by whoever the helper runs as."""
    code = ("import json, os\nfrom gatepass.stores.index import Index\n"
            "print(json.dumps([[e.username, e.backend, e.host] for e in Index(os.environ).entries()]))")
    done = run_as(python_argv(code), env=env, capture_output=True, text=True, timeout=60, check=True)
    return [tuple(entry) for entry in json.loads(done.stdout)]


def askpass(tmp_path: Path, username: str, password: str) -> str:
    script = tmp_path / "askpass.sh"
    script.write_text(f'#!/bin/sh\ncase "$1" in Username*) echo {username};; *) echo {password};; esac\n')
    script.chmod(0o700)
    return str(script)


@pytest.mark.as_user
def test_typed_token_is_stored_reused_and_erased_when_revoked(backend, tmp_path, tmp_path_factory, monkeypatch):
    with GitServer(str(tmp_path_factory.mktemp("srv")), {"dev": "typed-token"}) as server:
        monkeypatch.setenv("GIT_ASKPASS", askpass(tmp_path, "dev", "typed-token"))
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "first"))
        assert stored() == [("dev", backend, f"127.0.0.1:{server.port}")]
        assert "typed-token" not in (Path(Index(os.environ).path)).read_text()

        monkeypatch.setenv("GIT_ASKPASS", "/bin/false")  # no prompt possible: the store must answer
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "second"))

        server._server.users["dev"] = "rotated"  # the server revokes the token
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "third"), check=False)
        assert done.returncode != 0
        assert stored() == []


def approve(username: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = popen_as([HELPER, "store"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    proc.stdin.write(f"protocol=https\nhost=example.com\nusername={username}\npassword=pw-{username}\n".encode())
    proc.stdin.close()
    return proc


@pytest.mark.as_user
def test_fifty_parallel_stores_leave_fifty_entries(backend):
    env = dict(os.environ)
    procs = [approve(f"user{i:02d}", env) for i in range(50)]
    for proc in procs:
        assert proc.wait(60) == 0
        assert proc.stderr is not None and proc.stderr.read() == b""
    assert sorted(username for username, _, _ in stored(env)) == [f"user{i:02d}" for i in range(50)]
    done = run_as([HELPER, "get"], input=b"protocol=https\nhost=example.com\nusername=user37\n",
                          capture_output=True, env=env, check=True)
    assert done.stdout == b"username=user37\npassword=pw-user37\n"


GIT_STORE = """
from gatepass.protocol import git
assert git.main(["store"]) == 0
"""


def test_sigkill_at_every_step_of_git_store_leaves_a_whole_index_and_no_entry_without_its_secret(tmp_path):
    """The whole helper (secrets.enc written, then the index), killed at each of its file-system calls in
    turn (tests/support/stepkill.py): the index always parses, an entry is there only with its secret,
    and the next store completes and sweeps what the killed one left."""
    from gatepass.stores.encrypted_file import from_settings
    from tests.support import stepkill

    request = b"protocol=https\nhost=example.com\nusername=k\npassword=pw-k\n"

    def env_for(name: str) -> dict[str, str]:
        home = tmp_path / name
        return dict(os.environ, GATEPASS_STORE_BACKEND="encrypted-file", XDG_DATA_HOME=str(home / "data"),
                    XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"))

    calls = stepkill.trace(GIT_STORE, [], env_for("trace"), request)
    for point in stepkill.points(calls):
        env = env_for(f"kill-{point}")
        stepkill.kill_at(point, GIT_STORE, [], env, request)
        entries = Index(env).entries()  # raises if the kill had torn the index
        if entries:
            assert from_settings(env, {}).get(entries[0].service(), "k") == "pw-k", point
        assert subprocess.run([HELPER, "store"], input=request, env=env, capture_output=True).returncode == 0
        assert [e.username for e in Index(env).entries()] == ["k"], point
