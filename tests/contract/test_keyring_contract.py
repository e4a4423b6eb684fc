"""keyring's own backend contract (keyring.testing.backend.BackendBasicTests) against gatepass's encrypted file,
its entry point, and the ``keyring:<module.Class>`` adapter's timeout."""

from __future__ import annotations

import os
import time

import pytest
from keyring.errors import KeyringError
from keyring.testing.backend import BackendBasicTests

from gatepass.errors import StoreUnavailableError
from gatepass.stores.choose import open_backend
from gatepass.stores.keyring_backend import EncryptedFileKeyring


class TestEncryptedFileKeyring(BackendBasicTests):
    @pytest.fixture(autouse=True)
    def _private_home(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        monkeypatch.delenv("GATEPASS_STORE_PASSPHRASE", raising=False)

    def init_keyring(self):
        return EncryptedFileKeyring()


class TestEncryptedFileKeyringWithPassphrase(TestEncryptedFileKeyring):
    @pytest.fixture(autouse=True)
    def _passphrase(self, _private_home, monkeypatch):
        monkeypatch.setenv("GATEPASS_STORE_PASSPHRASE", "keyring contract")

    def test_the_file_is_passphrase_protected(self, tmp_path):
        self.keyring.set_password("s", "u", "v")
        os.environ["GATEPASS_STORE_PASSPHRASE"] = "another"
        with pytest.raises(KeyringError, match="wrong passphrase"):  # keyring's own error type, for keyring users
            self.keyring.get_password("s", "u")


def test_registered_as_a_keyring_backend():
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="keyring.backends")}
    assert "gatepass.stores.keyring_backend" in names


def test_keyring_discovery_finds_the_class_through_the_entry_point():
    import keyring.backend

    assert any(isinstance(k, EncryptedFileKeyring) for k in keyring.backend.get_all_keyring())


def test_a_silent_keyring_backend_times_out_instead_of_hanging():
    from tests.contract.slow_keyring import RELEASE

    backend = open_backend("keyring:tests.contract.slow_keyring.SilentKeyring", os.environ, {"timeout": 0.3})
    try:
        for call in (lambda: backend.get("s", "u"), lambda: backend.set("s", "u", "p"), lambda: backend.delete("s", "u")):
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError, match=r"did not answer within 0\.3s"):
                call()
            assert time.monotonic() - started < 1
    finally:
        RELEASE.set()


def test_an_unloadable_keyring_backend_is_a_clear_error():
    with pytest.raises(StoreUnavailableError, match="cannot load keyring backend no.such.Backend"):
        open_backend("keyring:no.such.Backend", os.environ)
