"""A locked or hung keyring reaches the helpers as an error that names it (issue #12 item 6): docker
gets it on stdout with exit 1, never "credentials not found in native keychain" (which docker turns
into a silent "no credentials"); git gets exactly one stderr line. Against a real gnome-keyring that
is locked, and a real bus where the Secret Service name is owned by a process that never answers.
"""

from __future__ import annotations

import io
import json
import os

from gatepass.protocol import docker, git
from gatepass.stores.dbus import Connection
from gatepass.stores.index import Entry, Index
from tests.conftest import write_config
from tests.support.secret_service import lock_default_collection


def _docker(action: str, data: bytes, env: dict[str, str]) -> tuple[int, str]:
    out = io.BytesIO()
    code = docker.main([action], io.BytesIO(data), out, io.BytesIO(), env)
    return code, out.getvalue().decode()


def _git(action: str, data: bytes, env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.BytesIO()
    code = git.main([action], io.BytesIO(data), out, err, env)
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_a_locked_keyring_is_named_to_docker_and_git(own_secret_service_env, tmp_path):
    env = dict(os.environ, GATEPASS_STORE_BACKEND="secret-service", **own_secret_service_env)
    login = json.dumps({"ServerURL": "registry.example.com", "Username": "bot", "Secret": "s3cret"}).encode()
    assert _docker("store", login, env) == (0, "")
    assert _git("store", b"protocol=https\nhost=git.example.com\nusername=u\npassword=p\n", env)[0] == 0
    assert json.loads(_docker("get", b"registry.example.com", env)[1])["Secret"] == "s3cret"
    lock_default_collection(own_secret_service_env)

    code, answer = _docker("get", b"registry.example.com", env)
    assert code == 1 and answer.count("\n") == 1
    assert "Secret Service: the default keyring is locked" in answer and docker.NOT_FOUND not in answer
    code, out, err = _git("get", b"protocol=https\nhost=git.example.com\n", env)
    assert (code, out) == (0, "")
    assert err.count("\n") == 1 and err.startswith("gatepass: Secret Service: the default keyring is locked")


def test_a_config_account_still_answers_when_the_keyring_is_locked(own_secret_service_env, isolated_env):
    """The error is the outcome only when nothing else answers: a readable config account wins."""
    env = dict(os.environ, GATEPASS_STORE_BACKEND="secret-service", **own_secret_service_env)
    login = json.dumps({"ServerURL": "registry.example.com", "Username": "bot", "Secret": "stored"}).encode()
    assert _docker("store", login, env) == (0, "")
    lock_default_collection(own_secret_service_env)
    write_config(isolated_env["GATEPASS_USER_CONFIG"], '[[docker_registry]]\ndomain = "registry.example.com"\n'
                 'accounts = [{ username = "cfg", token = "from-config" }]\n')
    code, answer = _docker("get", b"registry.example.com", env)
    assert code == 0 and json.loads(answer)["Secret"] == "from-config"


def test_a_hung_keyring_is_named_to_docker_and_git(bare_bus_env, isolated_env):
    env = dict(os.environ, GATEPASS_STORE_BACKEND="secret-service", **bare_bus_env)
    write_config(isolated_env["GATEPASS_USER_CONFIG"], "[store]\ntimeout = 0.5\n")
    Index(env).update(lambda entries: [Entry("git", "https", "git.example.com", "", "u", backend="secret-service"),
                                       Entry("docker", "", "registry.example.com", "", "bot",
                                             backend="secret-service")])
    squatter = Connection(env["DBUS_SESSION_BUS_ADDRESS"], 5)  # owns the name, then never reads a message
    try:
        squatter.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName", "su",
                      ("org.freedesktop.secrets", 4))
        code, answer = _docker("get", b"registry.example.com", env)
        assert code == 1 and answer.count("\n") == 1
        assert "did not answer within 0.5s; is the keyring daemon hung?" in answer
        code, out, err = _git("get", b"protocol=https\nhost=git.example.com\n", env)
        assert (code, out) == (0, "") and err.count("\n") == 1 and "is the keyring daemon hung?" in err
    finally:
        squatter.close()
