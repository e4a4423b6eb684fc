"""The encrypted-file backend's own promises: private files, an authenticated format (wrong key or any
flipped byte is a clear error and the file stays as it was), keys kept apart, parallel writers lose nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatepass.errors import ConfigError, StoreUnavailableError
from gatepass.stores.choose import open_backend
from gatepass.stores.encrypted_file import HEADER_LEN, MAGIC, EncryptedFileBackend, from_settings

ROOT = Path(__file__).resolve().parents[2]


def machine(tmp_path: Path) -> EncryptedFileBackend:
    return EncryptedFileBackend(str(tmp_path / "data" / "secrets.enc"), key_file=str(tmp_path / "cfg" / "machine.key"))


def test_files_are_private_and_hold_no_plaintext(tmp_path):
    machine(tmp_path).set("service-name", "user-name", "secret-value")
    for path, mode in ((tmp_path / "data" / "secrets.enc", 0o600), (tmp_path / "cfg" / "machine.key", 0o600),
                       (tmp_path / "data", 0o700), (tmp_path / "cfg", 0o700)):
        assert path.stat().st_mode & 0o777 == mode, path
    blob = (tmp_path / "data" / "secrets.enc").read_bytes()
    assert blob[:5] == MAGIC + b"\x01"
    for plain in (b"secret-value", b"service-name", b"user-name"):
        assert plain not in blob
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["secrets.enc", "secrets.enc.lock"]


def test_default_paths_keep_the_key_apart_from_the_file(tmp_path):
    env = {"HOME": str(tmp_path)}
    backend = from_settings(env, {})
    assert backend.path == str(tmp_path / ".local/share/gatepass/secrets.enc")
    assert backend.key_file == str(tmp_path / ".config/gatepass/machine.key")
    env = {"HOME": "/nonexistent", "XDG_DATA_HOME": str(tmp_path / "d"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    backend = from_settings(env, {})
    assert (backend.path, backend.key_file) == (str(tmp_path / "d/gatepass/secrets.enc"),
                                                str(tmp_path / "c/gatepass/machine.key"))


def test_wrong_passphrase_is_a_clear_error_and_leaves_the_file(tmp_path):
    path = tmp_path / "secrets.enc"
    EncryptedFileBackend(str(path), passphrase="right").set("s", "u", "secret-value")
    before = path.read_bytes()
    wrong = EncryptedFileBackend(str(path), passphrase="wrong")
    for call in (lambda: wrong.get("s", "u"), lambda: wrong.set("s", "u2", "x"), lambda: wrong.delete("s", "u")):
        with pytest.raises(StoreUnavailableError, match="wrong passphrase or key, or the file was tampered"):
            call()
    assert path.read_bytes() == before
    assert EncryptedFileBackend(str(path), passphrase="right").get("s", "u") == "secret-value"


def test_a_passphrase_file_needs_the_passphrase_and_a_machine_key_file_needs_its_key(tmp_path):
    path = tmp_path / "secrets.enc"
    EncryptedFileBackend(str(path), passphrase="pw").set("s", "u", "v")
    with pytest.raises(StoreUnavailableError, match="passphrase-protected; set GATEPASS_STORE_PASSPHRASE"):
        EncryptedFileBackend(str(path), key_file=str(tmp_path / "k" / "machine.key")).get("s", "u")
    other = tmp_path / "other.enc"
    EncryptedFileBackend(str(other), key_file=str(tmp_path / "k" / "machine.key")).set("s", "u", "v")
    with pytest.raises(StoreUnavailableError, match="machine key, but a passphrase is configured"):
        EncryptedFileBackend(str(other), passphrase="pw").get("s", "u")


def test_a_lost_machine_key_is_an_error_never_a_new_key_over_old_secrets(tmp_path):
    backend = machine(tmp_path)
    backend.set("s", "u", "v")
    before = (tmp_path / "data" / "secrets.enc").read_bytes()
    (tmp_path / "cfg" / "machine.key").unlink()
    for call in (lambda: backend.get("s", "u"), lambda: backend.set("s", "u2", "x")):
        with pytest.raises(StoreUnavailableError, match="machine key .* is missing"):
            call()
    assert not (tmp_path / "cfg" / "machine.key").exists()
    assert (tmp_path / "data" / "secrets.enc").read_bytes() == before


@pytest.mark.parametrize("offset", [0, 3, 4, 5, 6, 21, 22, 33, HEADER_LEN, HEADER_LEN + 5, -1])
def test_any_flipped_byte_is_refused_and_the_file_left_alone(tmp_path, offset):
    backend = machine(tmp_path)
    backend.set("s", "u", "secret-value")
    path = tmp_path / "data" / "secrets.enc"
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    for call in (lambda: backend.get("s", "u"), lambda: backend.set("s", "u", "new")):
        with pytest.raises(StoreUnavailableError) as info:
            call()
        assert "secret-value" not in str(info.value) and str(path) in str(info.value)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("cut", [0, 4, HEADER_LEN, HEADER_LEN + 15])
def test_truncated_file_is_refused(tmp_path, cut):
    backend = machine(tmp_path)
    backend.set("s", "u", "v")
    path = tmp_path / "data" / "secrets.enc"
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(StoreUnavailableError, match="not a gatepass encrypted file"):
        backend.get("s", "u")


def test_newer_format_version_asks_for_an_upgrade(tmp_path):
    backend = machine(tmp_path)
    backend.set("s", "u", "v")
    path = tmp_path / "data" / "secrets.enc"
    data = bytearray(path.read_bytes())
    data[4] = 2
    path.write_bytes(bytes(data))
    with pytest.raises(StoreUnavailableError, match="format version 2; upgrade gatepass"):
        backend.get("s", "u")


def test_machine_key_with_loose_mode_is_refused(tmp_path):
    backend = machine(tmp_path)
    backend.set("s", "u", "p")
    (tmp_path / "cfg" / "machine.key").chmod(0o644)
    with pytest.raises(StoreUnavailableError, match="chmod 600"):
        backend.get("s", "u")


def test_passphrase_from_env_variable_and_file(tmp_path):
    assert from_settings({"HOME": str(tmp_path), "GATEPASS_STORE_PASSPHRASE": "pw"}, {}).passphrase == "pw"
    assert from_settings({"HOME": str(tmp_path), "MY_PW": "named"}, {"passphrase_env": "MY_PW"}).passphrase == "named"
    with pytest.raises(StoreUnavailableError, match="passphrase_env names is not set"):
        from_settings({"HOME": str(tmp_path)}, {"passphrase_env": "MY_PW"})
    secret_file = tmp_path / "pass"
    secret_file.write_text("from-file\nignored\n")
    secret_file.chmod(0o600)
    backend = from_settings({"HOME": str(tmp_path)}, {"passphrase_file": str(secret_file)})
    assert backend.passphrase == "from-file" and backend.key_file is None
    secret_file.chmod(0o644)
    with pytest.raises(StoreUnavailableError, match="chmod 600"):
        from_settings({"HOME": str(tmp_path)}, {"passphrase_file": str(secret_file)})
    with pytest.raises(StoreUnavailableError, match="cannot read the \\[store\\] passphrase_file"):
        from_settings({"HOME": str(tmp_path)}, {"passphrase_file": str(tmp_path / "absent")})


def test_scrypt_runs_once_per_backend_object(tmp_path):
    backend = EncryptedFileBackend(str(tmp_path / "secrets.enc"), passphrase="pw")
    for i in range(3):
        backend.set("s", f"u{i}", "v")
        backend.get("s", "u0")
    assert len(backend._derived) == 1  # one salt, one derivation, reused by every load and save


def test_constructor_wants_exactly_one_key_source(tmp_path):
    for kwargs in ({}, {"passphrase": "a", "key": bytes(32)}, {"key_file": "k", "passphrase": "a"}):
        with pytest.raises(ValueError):
            EncryptedFileBackend(str(tmp_path / "f"), **kwargs)
    with pytest.raises(ValueError, match="32 bytes"):
        EncryptedFileBackend(str(tmp_path / "f"), key=bytes(16))


WRITER = """
import sys
from gatepass.stores.encrypted_file import EncryptedFileBackend
data, key, name = sys.argv[1:]
EncryptedFileBackend(data, key_file=key).set("svc", name, "secret-" + name)
"""


def test_parallel_first_writers_share_one_machine_key_and_lose_nothing(tmp_path):
    data, key = str(tmp_path / "data" / "secrets.enc"), str(tmp_path / "cfg" / "machine.key")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, data, key, f"user{i}"], env=env) for i in range(20)]
    assert [p.wait(60) for p in procs] == [0] * 20
    backend = EncryptedFileBackend(data, key_file=key)
    assert {backend.get("svc", f"user{i}") for i in range(20)} == {f"secret-user{i}" for i in range(20)}
    assert sorted(os.listdir(tmp_path / "cfg")) == ["machine.key"]  # no temp key left behind


def test_stale_temp_files_of_killed_writers_are_swept(tmp_path):
    backend = machine(tmp_path)
    backend.set("s", "u", "v")
    stale = tmp_path / "data" / "secrets.enc.99999.tmp"
    stale.write_bytes(b"half a write")
    unrelated = tmp_path / "data" / "secrets.enc.notes.tmp"
    unrelated.write_bytes(b"")
    backend.set("s", "u", "w")
    assert not stale.exists() and unrelated.exists()


def test_open_backend_names(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert open_backend("encrypted-file", env).name == "encrypted-file"
    for bad in ("keyring:", "keyring", "file", "", "memory"):  # memory: tests only, never selectable here
        with pytest.raises(ConfigError, match="unknown store backend"):
            open_backend(bad, env)
    for timeout in (0, -1, "5", True, 601):
        with pytest.raises(ConfigError, match="store.timeout"):
            open_backend("encrypted-file", env, {"timeout": timeout})


def test_backend_spec_precedence():
    from gatepass.stores.choose import backend_spec

    assert backend_spec({}) == "auto"
    assert backend_spec({}, {"backend": "encrypted-file"}) == "encrypted-file"
    assert backend_spec({"GATEPASS_STORE_BACKEND": "secret-service"}, {"backend": "encrypted-file"}) == "secret-service"


def test_the_fast_aesgcm_is_cryptographys_public_class():
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from gatepass.stores.aead import aesgcm

    assert aesgcm() is AESGCM


def test_a_passphrase_key_is_derived_before_the_write_lock_is_taken(tmp_path, monkeypatch):
    """scrypt inside secrets.enc.lock would hold every parallel writer back by its CPU time: a new
    process (a new backend object) derives the key first, then locks."""
    from gatepass.stores import encrypted_file

    path = str(tmp_path / "data" / "secrets.enc")
    EncryptedFileBackend(path, passphrase="pass phrase").set("s", "u", "v1")
    backend, derived_at_lock = EncryptedFileBackend(path, passphrase="pass phrase"), []

    class Recording(encrypted_file.Lock):  # type: ignore[misc,name-defined]
        def __enter__(self):  # type: ignore[no-untyped-def]
            derived_at_lock.append(len(backend._derived))
            return super().__enter__()

    monkeypatch.setattr(encrypted_file, "Lock", Recording)
    backend.set("s", "u", "v2")
    backend.delete("s", "u")
    assert derived_at_lock == [1, 1]
    assert EncryptedFileBackend(path, passphrase="pass phrase").get("s", "u") is None
