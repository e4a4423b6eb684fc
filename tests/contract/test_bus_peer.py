"""A session bus run by another local user receives nothing (issue #12 item 4).

The attacker is a real second user made by the test; its fake Secret Service (abstract address, or
a path in a directory it owns, like a stale ``/tmp/dbus-*``) would accept every secret and choose
what ``get`` returns. gatepass checks the peer with ``SO_PEERCRED`` right after ``connect``: it
sends the bus not one byte, ``auto`` stores into the encrypted file instead, and naming
``secret-service`` is an error that says whose bus it is.
"""

from __future__ import annotations

import io
import json
import os

import pytest

from gatepass.protocol import docker, git
from gatepass.stores.choose import open_backend
from gatepass.stores.dbus import Connection, ForeignBusError
from gatepass.stores.index import Entry, Index
from tests.support.fake_bus import ATTACKER_SECRET, fake_bus, second_user, secret_service_conversation

VICTIM_SECRET = "victim-secret-7f3a"


@pytest.fixture(scope="module")
def attacker():
    with second_user() as user:
        yield user


@pytest.fixture(params=["abstract", "path"])
def squatted_bus(request, attacker):
    with fake_bus(secret_service_conversation, abstract=request.param == "abstract", user=attacker) as bus:
        yield bus


def _env(tmp_path, bus, backend: str = "auto") -> dict[str, str]:
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "GATEPASS_CONFIG": "/dev/null",
            "GATEPASS_STORE_BACKEND": backend, "DBUS_SESSION_BUS_ADDRESS": bus.address, "PATH": os.environ["PATH"]}


def _docker(action: str, data: bytes, env: dict[str, str]) -> tuple[int, str]:
    out = io.BytesIO()
    code = docker.main([action], io.BytesIO(data), out, io.BytesIO(), env)
    return code, out.getvalue().decode()


def _git(action: str, data: bytes, env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.BytesIO()
    code = git.main([action], io.BytesIO(data), out, err, env)
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_the_fake_bus_really_is_another_users(squatted_bus, attacker):
    """The premise: the listening socket belongs to the second user, so SO_PEERCRED says so."""
    with pytest.raises(ForeignBusError) as caught:
        Connection(squatted_bus.address, 5)
    assert caught.value.uid == attacker.uid != os.geteuid()
    assert squatted_bus.received() == b""


def test_auto_stores_into_the_encrypted_file_and_sends_the_bus_nothing(tmp_path, squatted_bus):
    env = _env(tmp_path, squatted_bus)
    request = json.dumps({"ServerURL": "registry.example.com", "Username": "bot", "Secret": VICTIM_SECRET}).encode()
    assert _docker("store", request, env) == (0, "")
    assert [e.backend for e in Index(env).entries()] == ["encrypted-file"]
    code, answer = _docker("get", b"registry.example.com", env)
    assert code == 0 and json.loads(answer)["Secret"] == VICTIM_SECRET
    assert _git("store", b"protocol=https\nhost=git.example.com\nusername=u\npassword=" + VICTIM_SECRET.encode()
                + b"\n", env)[0] == 0
    assert _git("get", b"protocol=https\nhost=git.example.com\n", env)[1].endswith(f"password={VICTIM_SECRET}\n")
    assert squatted_bus.received() == b""


def test_naming_secret_service_is_an_error_that_says_whose_bus_it_is(tmp_path, squatted_bus, attacker):
    env = _env(tmp_path, squatted_bus, "secret-service")
    request = json.dumps({"ServerURL": "registry.example.com", "Username": "bot", "Secret": VICTIM_SECRET}).encode()
    code, answer = _docker("store", request, env)
    assert code == 1
    assert f"uid {attacker.uid} ({attacker.name})" in answer and "not by you" in answer
    assert answer.count("\n") == 1 and VICTIM_SECRET not in answer
    assert squatted_bus.received() == b""


def test_get_of_an_entry_stored_in_the_keyring_never_answers_with_the_attackers_secret(tmp_path, squatted_bus):
    """The index says the secret is in the Secret Service (stored there from the desktop); the session
    address now names the attacker's bus (a stale variable in an ssh session)."""
    env = _env(tmp_path, squatted_bus, "secret-service")
    Index(env).update(lambda entries: [Entry("git", "https", "git.example.com", "", "u", backend="secret-service"),
                                       Entry("docker", "", "registry.example.com", "", "bot",
                                             backend="secret-service")])
    code, out, err = _git("get", b"protocol=https\nhost=git.example.com\n", env)
    assert (code, out) == (0, "") and "not by you" in err and ATTACKER_SECRET not in err
    code, answer = _docker("get", b"registry.example.com", env)
    assert code == 1 and "not by you" in answer and ATTACKER_SECRET not in answer
    assert squatted_bus.received() == b""


def test_open_backend_auto_falls_back(tmp_path, squatted_bus):
    backend = open_backend("auto", _env(tmp_path, squatted_bus))
    assert backend.name == "encrypted-file"
    assert squatted_bus.received() == b""


def test_doctor_names_a_bus_run_by_another_user(squatted_bus, attacker):
    """`gatepass doctor` says whose bus it is and what to do (issue #12: doctor reports the bus peer)."""
    from gatepass.cli.cmd_doctor import check_bus

    [(name, ok, line)] = list(check_bus({"DBUS_SESSION_BUS_ADDRESS": squatted_bus.address}))
    assert (name, ok) == ("bus", False)
    assert f"uid {attacker.uid}" in line and "not by you" in line
    assert squatted_bus.received() == b""


def test_doctor_reports_the_users_own_bus(tmp_path):
    """A bus the effective user runs is OK and named as theirs; no bus at all is OK too."""
    from gatepass.cli.cmd_doctor import check_bus
    from tests.support.fake_bus import fake_bus, secret_service_conversation

    with fake_bus(secret_service_conversation, abstract=True) as bus:
        [(_, ok, line)] = list(check_bus({"DBUS_SESSION_BUS_ADDRESS": bus.address}))
    assert ok and "(you)" in line or "(root)" in line
    [(_, ok, line)] = list(check_bus({}))
    assert ok and "unset" in line
