"""The Secret Service backend against a real gnome-keyring on a private bus: keyring-compatible items,
and every way it can be unavailable (locked, no bus, silent bus, no service, hung service) is a quick,
clear StoreUnavailableError, never "not found"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from gatepass.errors import StoreUnavailableError
from gatepass.stores.choose import open_backend
from gatepass.stores.dbus import Connection
from gatepass.stores.secret_service import SecretServiceBackend, available
from tests.support.secret_service import is_locked, lock_default_collection

KEYRING_SS = "keyring.backends.SecretService.Keyring"


def _env(extra: dict[str, str]) -> dict[str, str]:
    return dict(os.environ, **extra)


def _keyring(env: dict[str, str], code: str) -> str:
    done = subprocess.run([sys.executable, "-c", f"import keyring.core; k = keyring.core.load_keyring({KEYRING_SS!r}); {code}"],
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _search(env: dict[str, str], service: str) -> list[dict[str, str]]:
    """Every item with this service attribute, as secret-tool (libsecret) shows it: label and attributes."""
    done = subprocess.run(["secret-tool", "search", "--all", "service", service], env=env, capture_output=True,
                          text=True, timeout=10)
    items: list[dict[str, str]] = []
    for line in (done.stdout + done.stderr).split("\n"):  # secret-tool prints the attributes on stderr
        if line.startswith("["):
            items.append({})
        elif " = " in line and items:
            key, _, value = line.partition(" = ")
            items[-1][key] = value
    return items


def test_gatepass_items_are_found_by_secret_tool_and_keyring_get(secret_service_env):
    env = _env(secret_service_env)
    SecretServiceBackend(env).set("gatepass:git:https://example.com", "alice", "from-gatepass")
    looked_up = subprocess.run(["secret-tool", "lookup", "service", "gatepass:git:https://example.com",
                                "username", "alice"], env=env, capture_output=True, text=True, timeout=10)
    assert looked_up.stdout == "from-gatepass"
    # the `keyring` command, with its own backend discovery: what a user would type
    cli = subprocess.run([sys.executable, "-m", "keyring", "get", "gatepass:git:https://example.com", "alice"],
                         env=env, capture_output=True, text=True, timeout=30)
    assert cli.stdout == "from-gatepass\n", cli.stderr
    assert SecretServiceBackend(env).delete("gatepass:git:https://example.com", "alice") is True


def test_items_from_keyring_and_secret_tool_are_found_by_gatepass(secret_service_env):
    env = _env(secret_service_env)
    _keyring(env, "k.set_password('from-keyring', 'bob', 'kr-secret')")
    subprocess.run(["secret-tool", "store", "--label=by hand", "service", "from-secret-tool", "username", "carol"],
                   input="st-secret", env=env, check=True, text=True, timeout=10)
    backend = SecretServiceBackend(env)
    assert backend.get("from-keyring", "bob") == "kr-secret"
    assert backend.get("from-secret-tool", "carol") == "st-secret"
    assert backend.delete("from-keyring", "bob") and backend.delete("from-secret-tool", "carol")
    assert _keyring(env, "print(k.get_password('from-keyring', 'bob'))") == "None\n"


def test_label_attributes_and_content_type_are_keyrings_own(secret_service_env):
    env = _env(secret_service_env)
    SecretServiceBackend(env).set("by-gatepass", "dave", "one")
    _keyring(env, "k.set_password('by-keyring', 'dave', 'two')")
    [ours], [theirs] = _search(env, "by-gatepass"), _search(env, "by-keyring")
    assert ours["label"] == "Password for 'dave' on 'by-gatepass'"
    assert theirs["label"] == "Password for 'dave' on 'by-keyring'"
    same = {k: v for k, v in ours.items() if k.startswith("attribute.") and k != "attribute.service"}
    assert same == {k: v for k, v in theirs.items() if k.startswith("attribute.") and k != "attribute.service"}
    assert same == {"attribute.username": "dave", "attribute.application": "Python keyring library"}
    SecretServiceBackend(env).delete("by-gatepass", "dave")
    SecretServiceBackend(env).delete("by-keyring", "dave")


def test_storing_over_a_keyring_item_replaces_it(secret_service_env):
    env = _env(secret_service_env)
    _keyring(env, "k.set_password('shared', 'erin', 'old')")
    SecretServiceBackend(env).set("shared", "erin", "new")
    assert len(_search(env, "shared")) == 1
    assert _keyring(env, "print(k.get_password('shared', 'erin'))") == "new\n"
    SecretServiceBackend(env).delete("shared", "erin")


def test_locked_keyring_is_a_clear_error_for_every_call_never_not_found(own_secret_service_env):
    env = _env(own_secret_service_env)
    backend = SecretServiceBackend(env)
    backend.set("s", "u", "p")
    lock_default_collection(own_secret_service_env)
    assert is_locked(own_secret_service_env)
    calls = [("get", "s", "u"), ("get", "absent", "u"), ("set", "s", "u", "p2"), ("delete", "s", "u"),
             ("delete", "absent", "u")]
    for fresh in (backend, SecretServiceBackend(env)):  # a long-lived connection and the next helper's
        for method, *args in calls:
            with pytest.raises(StoreUnavailableError, match="Secret Service: the default keyring is locked.*encrypted-file"):
                getattr(fresh, method)(*args)


def test_no_bus_is_a_quick_clear_error(tmp_path):
    started = time.monotonic()
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-such-bus"}
    with pytest.raises(StoreUnavailableError, match="Secret Service: cannot connect to the session bus"):
        SecretServiceBackend(env, timeout=1)
    with pytest.raises(StoreUnavailableError, match="DBUS_SESSION_BUS_ADDRESS is unset"):
        SecretServiceBackend({}, timeout=1)
    assert available(env) is False and available({}) is False
    assert time.monotonic() - started < 1


@pytest.fixture
def silent_socket(tmp_path):
    """A unix socket that accepts connections and never says a word."""
    path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(8)
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_silent_bus_times_out_clearly(silent_socket, tmp_path):
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={silent_socket}", "HOME": str(tmp_path)}
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="Secret Service: the session bus did not complete the handshake"):
        SecretServiceBackend(env, timeout=0.5)
    assert available(env, 0.3) is False
    assert open_backend("auto", env).name == "encrypted-file"  # auto gives up after its 0.5 s probe
    assert time.monotonic() - started < 3


def test_bus_without_a_secret_service(bare_bus_env, tmp_path):
    env = _env(bare_bus_env)
    assert available(env) is False
    assert open_backend("auto", dict(bare_bus_env, HOME=str(tmp_path))).name == "encrypted-file"
    with pytest.raises(StoreUnavailableError, match=r"ServiceUnknown\).*is a keyring daemon .* running"):
        SecretServiceBackend(env).get("s", "u")


def test_hung_secret_service_times_out_within_the_configured_timeout(bare_bus_env):
    env = _env(bare_bus_env)
    squatter = Connection(env["DBUS_SESSION_BUS_ADDRESS"], 5)  # owns the name, then never reads a message
    try:
        squatter.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName", "su",
                      ("org.freedesktop.secrets", 4))
        started = time.monotonic()
        assert available(env) is False  # the name has an owner, but it does not answer: auto takes the file
        assert time.monotonic() - started < 1.5
        backend = open_backend("secret-service", env, {"timeout": 0.5})
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"did not answer within 0\.5s"):
            backend.get("s", "u")
        assert time.monotonic() - started < 1.5
        with pytest.raises(StoreUnavailableError):  # the abandoned connection is not reused out of step
            backend.get("s", "u")
    finally:
        squatter.close()


def test_auto_picks_secret_service_when_it_answers(secret_service_env, tmp_path):
    env = dict(HOME=str(tmp_path), **secret_service_env)
    chosen = open_backend("auto", env, {"timeout": 7})
    assert chosen.name == "secret-service" and chosen.timeout == 7  # type: ignore[attr-defined]
    chosen.set("auto", "u", "v")
    assert chosen.get("auto", "u") == "v" and chosen.delete("auto", "u")
    assert open_backend("auto", {"HOME": str(tmp_path)}).name == "encrypted-file"


def test_auto_takes_the_file_when_the_keyring_is_locked(own_secret_service_env, tmp_path):
    env = dict(HOME=str(tmp_path), **own_secret_service_env)
    assert open_backend("auto", env).name == "secret-service"
    lock_default_collection(own_secret_service_env)
    assert available(env) is False
    assert open_backend("auto", env).name == "encrypted-file"
    with pytest.raises(StoreUnavailableError, match="locked"):  # named explicitly, it is an error, not a fallback
        open_backend("secret-service", env).set("s", "u", "p")


# A get answered from the Secret Service, as the launchers run it (python -I -S): none of these load. os,
# select, __future__, re and typing are what the warm path keeps out too; socket is _socket's Python
# wrapper (enum, selectors); the prompt and provider modules are for prompts and error messages only.
NOT_ON_THE_STORE_PATH = ("os", "posixpath", "select", "__future__", "re", "typing", "socket", "json", "jeepney",
                         "gatepass.stores.secret_prompt", "gatepass.stores.secret_providers", "gatepass.files")


def test_a_secret_service_get_under_python_S_loads_none_of_the_slow_modules(secret_service_env, tmp_path):
    import sysconfig
    from pathlib import Path

    env = _env(dict(secret_service_env, GATEPASS_CONFIG="/dev/null", GATEPASS_STORE_BACKEND="secret-service"))
    paths = list(dict.fromkeys([str(Path(__file__).resolve().parents[2] / "src"), sysconfig.get_paths()["purelib"],
                                sysconfig.get_paths()["platlib"]]))
    code = (f"import sys\nsys.path.extend({paths!r})\nfrom gatepass.protocol import docker\ncode = docker.main()\n"
            f"print('loaded:', ' '.join(sorted(m for m in {NOT_ON_THE_STORE_PATH!r} if m in sys.modules)), "
            "file=sys.stderr)\nsys.exit(code)")
    payload = b'{"ServerURL":"lean.example","Username":"u","Secret":"lean-secret"}'
    subprocess.run([sys.executable, "-I", "-S", "-c", code, "store"], input=payload, env=env, check=True,
                   capture_output=True)
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, "get"], input=b"lean.example", env=env,
                          check=True, capture_output=True)
    assert b'"Secret":"lean-secret"' in done.stdout
    assert done.stderr.decode().strip() == "loaded:"
    subprocess.run([sys.executable, "-I", "-S", "-c", code, "erase"], input=b"lean.example", env=env, check=True,
                   capture_output=True)
