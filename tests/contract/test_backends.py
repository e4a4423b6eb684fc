"""One contract for every secret backend: memory, encrypted file (machine key, passphrase), real Secret Service."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gatepass.errors import StoreUnavailableError
from gatepass.stores.encrypted_file import EncryptedFileBackend, from_settings
from gatepass.stores.memory import MemoryBackend
from gatepass.stores.secret_service import SecretServiceBackend, available


@pytest.fixture(params=["memory", "machine-key", "passphrase", "secret-service", "keyring-adapter"])
def backend(request, tmp_path, monkeypatch):
    if request.param == "memory":
        return MemoryBackend()
    if request.param == "machine-key":
        return EncryptedFileBackend(str(tmp_path / "data" / "secrets.enc"), key_file=str(tmp_path / "cfg" / "machine.key"))
    if request.param == "passphrase":
        return EncryptedFileBackend(str(tmp_path / "data" / "secrets.enc"), passphrase="correct horse")
    env = request.getfixturevalue("secret_service_env")
    if request.param == "keyring-adapter":  # keyring's own SecretService backend, pinned by name
        from gatepass.stores import open_backend

        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return open_backend("keyring:keyring.backends.SecretService.Keyring", os.environ, {})
    return SecretServiceBackend(dict(os.environ, **env))


@pytest.mark.parametrize("service, username, secret", [
    ("gatepass:git:https://example.com", "user", "s3cret"),
    ("gatepass:git:https://example.com", "", "blank-user"),
    ("gatepass:git:https://example.com/path", "user", ""),
    ("gatepass:docker:https://index.docker.io/v1/refresh-token", "<token>", "tab\there\nnewline%25 é😀"),
])
def test_round_trip(backend, service, username, secret):
    assert backend.get(service, username) is None
    backend.set(service, username, secret)
    assert backend.get(service, username) == secret
    backend.set(service, username, secret + "-2")
    assert backend.get(service, username) == secret + "-2"
    assert backend.delete(service, username) is True
    assert backend.get(service, username) is None
    assert backend.delete(service, username) is False


def test_entries_are_independent(backend):
    backend.set("svc-a", "u", "1")
    backend.set("svc-a", "v", "2")
    backend.set("svc-b", "u", "3")
    assert [backend.get("svc-a", "u"), backend.get("svc-a", "v"), backend.get("svc-b", "u")] == ["1", "2", "3"]
    backend.delete("svc-a", "u")
    assert [backend.get("svc-a", "u"), backend.get("svc-a", "v")] == [None, "2"]
    for service, user in (("svc-a", "v"), ("svc-b", "u")):
        backend.delete(service, user)


def test_files_are_private(tmp_path):
    backend = EncryptedFileBackend(str(tmp_path / "data" / "secrets.enc"), key_file=str(tmp_path / "cfg" / "machine.key"))
    backend.set("s", "u", "p")
    for path, mode in ((tmp_path / "data" / "secrets.enc", 0o600), (tmp_path / "cfg" / "machine.key", 0o600),
                       (tmp_path / "data", 0o700), (tmp_path / "cfg", 0o700)):
        assert path.stat().st_mode & 0o777 == mode, path
    assert b"secret-value" not in (tmp_path / "data" / "secrets.enc").read_bytes()


def test_wrong_passphrase_is_a_clear_error_and_leaves_the_file(tmp_path):
    path = tmp_path / "secrets.enc"
    EncryptedFileBackend(str(path), passphrase="right").set("s", "u", "secret-value")
    before = path.read_bytes()
    wrong = EncryptedFileBackend(str(path), passphrase="wrong")
    with pytest.raises(StoreUnavailableError, match="wrong passphrase or key, or the file was tampered"):
        wrong.get("s", "u")
    with pytest.raises(StoreUnavailableError):
        wrong.set("s", "u2", "x")
    assert path.read_bytes() == before


@pytest.mark.parametrize("offset", [0, 4, 5, 10, 30, 40, -1])
def test_tampered_file_is_refused(tmp_path, offset):
    path = tmp_path / "secrets.enc"
    backend = EncryptedFileBackend(str(path), key_file=str(tmp_path / "k" / "machine.key"))
    backend.set("s", "u", "secret-value")
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(StoreUnavailableError) as info:
        backend.get("s", "u")
    assert "secret-value" not in str(info.value)


def test_machine_key_file_with_loose_mode_is_refused(tmp_path):
    key = tmp_path / "k" / "machine.key"
    backend = EncryptedFileBackend(str(tmp_path / "secrets.enc"), key_file=str(key))
    backend.set("s", "u", "p")
    key.chmod(0o644)
    with pytest.raises(StoreUnavailableError, match="chmod 600"):
        backend.get("s", "u")


def test_passphrase_from_env_and_file(tmp_path):
    env = {"HOME": str(tmp_path), "GATEPASS_STORE_PASSPHRASE": "pw"}
    assert from_settings(env, {}).passphrase == "pw"
    secret_file = tmp_path / "pass"
    secret_file.write_text("from-file\nignored\n")
    secret_file.chmod(0o600)
    assert from_settings({"HOME": str(tmp_path)}, {"passphrase_file": str(secret_file)}).passphrase == "from-file"
    secret_file.chmod(0o644)
    with pytest.raises(StoreUnavailableError, match="chmod 600"):
        from_settings({"HOME": str(tmp_path)}, {"passphrase_file": str(secret_file)})


def test_secret_service_items_are_ordinary_keyring_items(secret_service_env):
    env = dict(os.environ, **secret_service_env)
    backend = SecretServiceBackend(env)
    backend.set("gatepass:git:https://example.com", "alice", "from-gatepass")
    looked_up = subprocess.run(["secret-tool", "lookup", "service", "gatepass:git:https://example.com",
                                "username", "alice"], env=env, capture_output=True, text=True, timeout=10)
    assert looked_up.stdout == "from-gatepass"
    code = ("import keyring.core, sys; k = keyring.core.load_keyring('keyring.backends.SecretService.Keyring');"
            "print(k.get_password('gatepass:git:https://example.com', 'alice'));"
            "k.set_password('from-keyring', 'bob', 'kr-secret')")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "from-gatepass", done.stderr
    assert backend.get("from-keyring", "bob") == "kr-secret"
    backend.delete("gatepass:git:https://example.com", "alice")
    backend.delete("from-keyring", "bob")


def test_secret_service_locked_collection_is_a_clear_error_not_not_found(secret_service_env):
    from tests.support.secret_service import lock_default_collection, private_secret_service

    with private_secret_service() as env_vars:  # its own daemon: locking it must not disturb other tests
        env = dict(os.environ, **env_vars)
        backend = SecretServiceBackend(env)
        backend.set("s", "u", "p")
        lock_default_collection(env_vars)
        with pytest.raises(StoreUnavailableError, match="locked"):
            backend.set("s", "u", "p2")
        with pytest.raises(StoreUnavailableError, match="locked"):
            backend.get("s", "u")


def test_no_bus_is_a_quick_clear_error(tmp_path):
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-such-bus"}
    with pytest.raises(StoreUnavailableError, match="cannot connect to the session bus"):
        SecretServiceBackend(env, timeout=1)
    with pytest.raises(StoreUnavailableError, match="DBUS_SESSION_BUS_ADDRESS is unset"):
        SecretServiceBackend({}, timeout=1)
    assert available(env, 0.5) is False and available({}, 0.5) is False


def test_auto_picks_secret_service_only_when_it_answers(secret_service_env, tmp_path):
    from gatepass.stores import open_backend

    env = dict(HOME=str(tmp_path), **secret_service_env)
    assert open_backend("auto", env, {}).name == "secret-service"
    assert open_backend("auto", {"HOME": str(tmp_path)}, {}).name == "encrypted-file"


def test_the_fast_aesgcm_is_cryptographys_public_class():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from gatepass.stores.aead import aesgcm

    assert aesgcm() is AESGCM
