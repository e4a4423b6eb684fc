"""keyring's own backend contract (keyring.testing.backend.BackendBasicTests) against gatepass's encrypted file."""

from __future__ import annotations

import pytest
from keyring.testing.backend import BackendBasicTests

from gatepass.stores.keyring_backend import EncryptedFileKeyring


class TestEncryptedFileKeyring(BackendBasicTests):
    @pytest.fixture(autouse=True)
    def _private_home(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    def init_keyring(self):
        return EncryptedFileKeyring()


def test_registered_as_a_keyring_backend():
    from importlib.metadata import entry_points

    names = {ep.value for ep in entry_points(group="keyring.backends")}
    assert "gatepass.stores.keyring_backend" in names
