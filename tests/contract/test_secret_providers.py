"""Every Secret Service provider the README names, real and headless on a private bus: gnome-keyring,
KWallet (kwalletd5, opened as pam_kwallet5 opens it) and KeePassXC (a database with an exposed group).
Each passes the backend contract, git and docker store/get/list/erase through the helpers, and shares
its items with secret-tool and keyring both ways. Messages name the provider that answered and give
its own fix; a prompt that nobody answers ends within the timeout, naming the setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from gatepass.errors import StoreUnavailableError
from gatepass.stores.secret_service import SecretServiceBackend
from tests.contract.contract import BackendContract
from tests.support.secret_providers import missing_keepassxc, missing_kwallet, private_keepassxc, private_kwallet, run_client
from tests.support.secret_service import missing_tools, private_secret_service

BIN = os.path.dirname(sys.executable)
KEYRING_SS = "keyring.backends.SecretService.Keyring"


def _start(name: str):  # type: ignore[no-untyped-def]
    why = {"gnome-keyring": lambda: (", ".join(missing_tools()) and f"needs {', '.join(missing_tools())}") or None,
           "kwallet": missing_kwallet, "keepassxc": missing_keepassxc}[name]()
    if why:
        pytest.skip(why)
    return {"gnome-keyring": private_secret_service, "kwallet": private_kwallet, "keepassxc": private_keepassxc}[name]()


@pytest.fixture(scope="module", params=["gnome-keyring", "kwallet", "keepassxc"])
def provider(request):
    """(name, env) of a running provider, shared by this module's tests."""
    with _start(request.param) as env:
        yield request.param, env


@pytest.fixture(scope="module")
def kwallet_env():
    if missing_kwallet():
        pytest.skip(missing_kwallet())
    with private_kwallet() as env:
        yield env


@pytest.fixture(scope="module")
def keepassxc_env():
    if missing_keepassxc():
        pytest.skip(missing_keepassxc())
    with private_keepassxc() as env:
        yield env


class TestKWallet(BackendContract):
    @pytest.fixture
    def reopen(self, kwallet_env):
        return lambda: SecretServiceBackend(dict(os.environ, **kwallet_env))

    @pytest.fixture
    def backend(self, reopen):
        return reopen()


class TestKeePassXC(BackendContract):
    @pytest.fixture
    def reopen(self, keepassxc_env):
        return lambda: SecretServiceBackend(dict(os.environ, **keepassxc_env))

    @pytest.fixture
    def backend(self, reopen):
        return reopen()


def _run(argv: list[str], env: dict[str, str], stdin: str = "", expect: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    return run_client(argv, env, stdin, expect)  # the helpers' own sessions are plain: they never need it


def _helper_env(provider_env: dict[str, str]) -> dict[str, str]:
    return dict(os.environ, **provider_env, GATEPASS_STORE_BACKEND="secret-service")


def test_git_helper_stores_gets_and_erases(provider):
    name, provider_env = provider
    env, git = _helper_env(provider_env), os.path.join(BIN, "git-credential-gatepass")
    host = f"git-{name}.example.com"
    done = _run([git, "store"], env, f"protocol=https\nhost={host}\nusername=dev\npassword=typed-{name}\n\n")
    assert done.returncode == 0, done.stderr
    done = _run([git, "get"], env, f"protocol=https\nhost={host}\n\n")
    assert done.returncode == 0 and f"password=typed-{name}" in done.stdout.splitlines(), done.stderr
    looked_up = _run(["secret-tool", "lookup", "service", f"gatepass:git:https://{host}", "username", "dev"], env,
                     expect=f"typed-{name}")
    assert looked_up.stdout == f"typed-{name}"
    done = _run([git, "erase"], env, f"protocol=https\nhost={host}\nusername=dev\npassword=typed-{name}\n\n")
    assert done.returncode == 0, done.stderr
    assert "password=" not in _run([git, "get"], env, f"protocol=https\nhost={host}\n\n").stdout
    assert _run(["secret-tool", "lookup", "service", f"gatepass:git:https://{host}", "username", "dev"], env).stdout == ""


def test_docker_helper_stores_gets_lists_and_erases(provider):
    name, provider_env = provider
    env, docker = _helper_env(provider_env), os.path.join(BIN, "docker-credential-gatepass")
    server = f"registry-{name}.example.com"
    payload = json.dumps({"ServerURL": server, "Username": "ci", "Secret": f"pushed-{name}"})
    done = _run([docker, "store"], env, payload)
    assert done.returncode == 0, done.stdout + done.stderr
    done = _run([docker, "get"], env, server)
    assert json.loads(done.stdout) == {"ServerURL": server, "Username": "ci", "Secret": f"pushed-{name}"}
    assert json.loads(_run([docker, "list"], env).stdout).get(server) == "ci"
    # keyring's own command-line tool, with its own backend discovery, sees the item
    shown = _run([sys.executable, "-m", "keyring", "get", f"gatepass:docker:{server}", "ci"], env,
                 expect=f"pushed-{name}\n")
    assert shown.stdout == f"pushed-{name}\n", shown.stderr
    done = _run([docker, "erase"], env, server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _run([docker, "get"], env, server).stdout.strip() == "credentials not found in native keychain"
    assert server not in json.loads(_run([docker, "list"], env).stdout)


def test_items_are_shared_with_secret_tool_and_keyring_both_ways(provider):
    name, provider_env = provider
    env = dict(os.environ, **provider_env)
    SecretServiceBackend(env).set(f"ours-{name}", "alice", "from-gatepass")
    assert _run(["secret-tool", "lookup", "service", f"ours-{name}", "username", "alice"], env,
                expect="from-gatepass").stdout == "from-gatepass"
    backend = SecretServiceBackend(env)
    for _ in range(4):  # a DH session that went wrong (KWALLET_SHORT_KEY's note) may store what did not decrypt
        done = _run([sys.executable, "-c", f"import keyring.core; k = keyring.core.load_keyring({KEYRING_SS!r}); "
                                          f"k.set_password('theirs-{name}', 'bob', 'from-keyring')"], env)
        assert done.returncode == 0, done.stderr
        stored = _run(["secret-tool", "store", "--label=by hand", "service", f"tool-{name}", "username", "carol"], env,
                      "from-secret-tool")
        assert stored.returncode == 0, stored.stderr
        if (backend.get(f"theirs-{name}", "bob"), backend.get(f"tool-{name}", "carol")) == ("from-keyring",
                                                                                             "from-secret-tool"):
            break
    assert backend.get(f"theirs-{name}", "bob") == "from-keyring"
    assert backend.get(f"tool-{name}", "carol") == "from-secret-tool"
    for service, user in ((f"ours-{name}", "alice"), (f"theirs-{name}", "bob"), (f"tool-{name}", "carol")):
        assert backend.delete(service, user) is True
        assert backend.get(service, user) is None


def test_a_closed_kwallet_names_kwallet_and_its_tools():
    if missing_kwallet():
        pytest.skip(missing_kwallet())
    with private_kwallet() as provider_env:
        env = dict(os.environ, **provider_env)
        SecretServiceBackend(env).set("s", "u", "p")
        subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
                        "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock",
                        "array:objpath:/org/freedesktop/secrets/collection/kdewallet"],
                       env=env, check=True, capture_output=True, timeout=10)  # closes the wallet
        started = time.monotonic()
        for call in (lambda b: b.get("s", "u"), lambda b: b.set("s", "u", "p2"), lambda b: b.delete("s", "u")):
            with pytest.raises(StoreUnavailableError) as caught:
                call(SecretServiceBackend(env, timeout=2))
            message = str(caught.value)
            assert "locked (KWallet); open the wallet (kwalletmanager5" in message and "encrypted-file" in message
            assert "gnome-keyring" not in message and "seahorse" not in message
        assert time.monotonic() - started < 2  # a closed wallet is not "unlocked" through a window


def test_keepassxc_confirm_access_is_a_clear_timeout_naming_the_setting():
    """KeePassXC's defaults (both confirmations on) ask the user to approve each new client's read.
    Headless nobody can: the read ends within the timeout, names KeePassXC and its setting, and the
    prompt is withdrawn. Storing, reading back and erasing one's own item need no approval."""
    if missing_keepassxc():
        pytest.skip(missing_keepassxc())
    with private_keepassxc(confirm_access=True, confirm_delete=True) as provider_env:
        env = dict(os.environ, **provider_env)
        SecretServiceBackend(env).set("approved-once", "u", "s3cr3t-value")  # its creator may read it back
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            SecretServiceBackend(env, timeout=1).get("approved-once", "u")  # a new client (the next helper)
        assert time.monotonic() - started < 2
        message = str(caught.value)
        assert message.startswith("Secret Service: KeePassXC asked for a confirmation to read the item")
        assert '"Confirm when passwords are retrieved by clients"' in message and "encrypted-file" in message
        assert "s3cr3t-value" not in message
        backend = SecretServiceBackend(env, timeout=2)  # store and erase of one's own item need no approval
        backend.set("own", "u", "v")
        assert backend.get("own", "u") == "v" and backend.delete("own", "u") is True


def _without_alias_objects(conn, record, victim_uid):  # type: ignore[no-untyped-def]
    """fake_bus's Secret Service, but with no object at /org/freedesktop/secrets/aliases/*, as the spec
    allows: every call there is UnknownObject (the paths asked for are recorded)."""
    from jeepney import new_error
    from jeepney.low_level import HeaderFields, MessageType, Parser

    from tests.support.fake_bus import _reply, accept_sasl

    first = accept_sasl(conn, record)
    if first is None:
        return
    parser, serial = Parser(), 1000
    parser.add_data(first)
    while True:
        message = parser.get_next_message()
        while message is not None:
            if message.header.message_type == MessageType.method_call:
                path = message.header.fields.get(HeaderFields.path, "")
                record(f"{message.header.fields.get(HeaderFields.member)} {path}\n".encode())
                answer = (new_error(message, "org.freedesktop.DBus.Error.UnknownObject") if "/aliases/" in path
                          else _reply(message, victim_uid))
                serial += 1
                conn.sendall(answer.serialise(serial))
            message = parser.get_next_message()
        chunk = conn.recv(65536)
        if not chunk:
            return
        parser.add_data(chunk)


def test_a_provider_without_the_alias_object_is_asked_on_the_collections_path():
    from tests.support.fake_bus import ATTACKER_SECRET, fake_bus

    with fake_bus(_without_alias_objects) as bus:
        backend = SecretServiceBackend({"DBUS_SESSION_BUS_ADDRESS": bus.address}, timeout=2)
        assert backend.get("s", "u") == ATTACKER_SECRET  # the fake's one secret: found through the fallback
        asked = [line for line in bus.received().decode("utf-8", "replace").split("\n") if line.startswith("Search")]
        assert asked == ["SearchItems /org/freedesktop/secrets/aliases/default",
                         "SearchItems /org/freedesktop/secrets/collection/login"]
        assert backend.get("s", "u") == ATTACKER_SECRET  # the next call goes to the collection's path at once
        asked = [line for line in bus.received().decode("utf-8", "replace").split("\n") if line.startswith("Search")]
        assert asked[2:] == ["SearchItems /org/freedesktop/secrets/collection/login"]


@pytest.mark.parametrize("name", ["gnome-keyring", "kwallet", "keepassxc"])
def test_each_provider_as_an_unprivileged_user(name):
    """The same helpers' round trip with the bus, the provider, the helpers and the tools all run by a
    user the test creates (no root anywhere in the conversation)."""
    from tests.support.local_user import local_user, python_for

    why = {"gnome-keyring": lambda: missing_tools() and f"needs {', '.join(missing_tools())}",
           "kwallet": missing_kwallet, "keepassxc": missing_keepassxc}[name]()
    if why:
        pytest.skip(why)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with local_user() as user:
        argv = python_for(user, f"import json, sys\nsys.path.insert(0, {root!r})\n"
                                "from tests.support.secret_providers import scenario\n"
                                f"print(json.dumps(scenario({name!r})))")
        done = user.run(argv, env={"LANG": "C.UTF-8", "TMPDIR": "/tmp"}, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout)
    assert out["uid"] == user.uid != 0
    assert out["git store"][0] == 0, out
    assert "password=typed" in out["git get"][1].splitlines(), out
    assert out["secret-tool lookup"][1] == "typed", out
    assert json.loads(out["docker get"][1]) == {"ServerURL": "registry.example.com", "Username": "ci", "Secret": "pushed"}
    assert json.loads(out["docker list"][1]).get("registry.example.com") == "ci", out
    assert out["keyring get"][1] == "pushed\n", out
    assert out["git erase"][0] == 0 and out["docker erase"][0] == 0, out
    assert "password=" not in out["git get after erase"][1]
    assert out["docker get after erase"][1].strip() == "credentials not found in native keychain"


def test_keepassxc_confirm_deletion_without_a_recycle_bin_is_a_clear_timeout_naming_the_setting():
    """Deleting for good, KeePassXC asks in a window (its Prompt call itself does not return): the erase
    ends within the timeout, names the setting, and the item is still there."""
    if missing_keepassxc():
        pytest.skip(missing_keepassxc())
    with private_keepassxc(confirm_delete=True, recycle_bin=False) as provider_env:
        env = dict(os.environ, **provider_env)
        SecretServiceBackend(env).set("kept", "u", "v")
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            SecretServiceBackend(env, timeout=1).delete("kept", "u")
        assert time.monotonic() - started < 2
        message = str(caught.value)
        assert message.startswith("Secret Service: KeePassXC asked for a confirmation to erase the item")
        assert '"Confirm when clients request entry deletion"' in message and message.count("\n") == 0
        assert SecretServiceBackend(env).get("kept", "u") == "v"


def test_kwallet_without_a_default_collection_names_kwallet_and_its_tools():
    """The first KDE login: pam_kwallet5 made the wallet after kwalletd5 started, and kwalletd5's Secret
    Service only knows the wallets it found at start. The message is KWallet's, not GNOME's."""
    if missing_kwallet():
        pytest.skip(missing_kwallet())
    with private_kwallet(first_login=True) as provider_env:
        with pytest.raises(StoreUnavailableError) as caught:
            SecretServiceBackend(dict(os.environ, **provider_env), timeout=2).get("s", "u")
    message = str(caught.value)
    assert message.startswith("Secret Service: KWallet has no default collection; create the default wallet")
    assert "kwalletd restarts" in message and "seahorse" not in message and "gnome" not in message
