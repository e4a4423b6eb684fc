"""The backend contract, run for every backend: memory, encrypted file (machine key, passphrase, raw key),
a REAL Secret Service (gnome-keyring on a private bus), and keyring backends pinned through ``keyring:``."""

from __future__ import annotations

import os

import pytest

from gatepass.stores.choose import open_backend
from gatepass.stores.encrypted_file import EncryptedFileBackend
from gatepass.stores.secret_service import SecretServiceBackend
from tests.contract.contract import BackendContract
from tests.support.memory_backend import MemoryBackend


class TestMemory(BackendContract):
    @pytest.fixture
    def backend(self):
        return MemoryBackend()

    @pytest.fixture
    def reopen(self, backend):
        return lambda: backend  # memory lives as long as its object: the same object is the "next process"


class TestEncryptedFileMachineKey(BackendContract):
    @pytest.fixture
    def reopen(self, tmp_path):
        return lambda: EncryptedFileBackend(str(tmp_path / "data" / "secrets.enc"),
                                            key_file=str(tmp_path / "cfg" / "machine.key"))

    @pytest.fixture
    def backend(self, reopen):
        return reopen()


class TestEncryptedFilePassphrase(BackendContract):
    @pytest.fixture
    def reopen(self, tmp_path):
        return lambda: EncryptedFileBackend(str(tmp_path / "data" / "secrets.enc"), passphrase="correct horse")

    @pytest.fixture
    def backend(self, reopen):
        return reopen()


class TestEncryptedFileCallersKey(BackendContract):
    @pytest.fixture
    def reopen(self, tmp_path):
        key = bytes(range(32))
        return lambda: EncryptedFileBackend(str(tmp_path / "secrets.enc"), key=key)

    @pytest.fixture
    def backend(self, reopen):
        return reopen()


class TestEncryptedFileFromEnv(BackendContract):
    """What ``open_backend("encrypted-file", env)`` builds: paths from XDG_DATA_HOME / XDG_CONFIG_HOME."""

    @pytest.fixture
    def reopen(self, tmp_path):
        env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": "/nonexistent"}
        return lambda: open_backend("encrypted-file", env)

    @pytest.fixture
    def backend(self, reopen):
        return reopen()


class TestSecretService(BackendContract):
    @pytest.fixture
    def reopen(self, secret_service_env):
        return lambda: SecretServiceBackend(dict(os.environ, **secret_service_env))

    @pytest.fixture
    def backend(self, reopen):
        return reopen()


BLANK_USERNAMES = pytest.mark.filterwarnings("ignore:Empty usernames are deprecated:DeprecationWarning")  # keyring #668


@BLANK_USERNAMES
class TestKeyringsSecretServiceThroughKeyring(BackendContract):
    """keyring's own SecretService backend, pinned by name: the ``keyring:<module.Class>`` path."""

    @pytest.fixture
    def reopen(self, secret_service_env, monkeypatch):
        for name, value in secret_service_env.items():
            monkeypatch.setenv(name, value)  # keyring's backend reads the bus address from os.environ
        return lambda: open_backend("keyring:keyring.backends.SecretService.Keyring", os.environ)

    @pytest.fixture
    def backend(self, reopen):
        return reopen()



@BLANK_USERNAMES
class TestOwnKeyringBackendThroughKeyring(BackendContract):
    """gatepass's EncryptedFileKeyring as any keyring user would get it, through the adapter."""

    @pytest.fixture
    def reopen(self, isolated_env):
        return lambda: open_backend("keyring:gatepass.stores.keyring_backend.EncryptedFileKeyring", os.environ)

    @pytest.fixture
    def backend(self, reopen):
        return reopen()
