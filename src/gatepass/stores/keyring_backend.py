"""gatepass and keyring, both ways: any keyring backend as a gatepass store, and gatepass's
encrypted file as a keyring backend for other keyring users.

The only module in ``stores/`` that imports keyring. ``keyring:<module.Class>`` pins a backend
with ``keyring.core.load_keyring`` (no priority probe, which costs ~70-110 ms here).
``EncryptedFileKeyring`` is registered under keyring's ``keyring.backends`` entry point with a
low priority (0.1: chosen by keyring's own discovery only where no real keyring exists; pin it
with ``PYTHON_KEYRING_BACKEND=gatepass.stores.keyring_backend.EncryptedFileKeyring``).
"""

from __future__ import annotations

import os

from keyring.backend import KeyringBackend

from gatepass.errors import StoreUnavailableError
from gatepass.stores import Backend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from gatepass.stores.encrypted_file import EncryptedFileBackend


class KeyringAdapter(Backend):
    """Any keyring backend (``module.Class``) as a gatepass store backend."""

    def __init__(self, dotted: str) -> None:
        import keyring.core

        self.name = f"keyring:{dotted}"
        try:
            self.keyring = keyring.core.load_keyring(dotted)
        except Exception as exc:
            raise StoreUnavailableError(f"cannot load keyring backend {dotted} ({type(exc).__name__}); "
                                        "check [store] backend") from None

    def _guard(self, call: Callable[..., object], *args: str) -> object:
        import keyring.errors

        try:
            return call(*args)
        except keyring.errors.PasswordDeleteError:
            raise  # "nothing to delete" is an answer, not an unavailable keyring
        except keyring.errors.KeyringError as exc:
            raise StoreUnavailableError(f"{self.name}: {type(exc).__name__}; is the keyring unlocked?") from None

    def get(self, service: str, username: str) -> str | None:
        value = self._guard(self.keyring.get_password, service, username)
        return value if isinstance(value, str) else None

    def set(self, service: str, username: str, secret: str) -> None:
        self._guard(self.keyring.set_password, service, username, secret)

    def delete(self, service: str, username: str) -> bool:
        import keyring.errors

        try:
            self._guard(self.keyring.delete_password, service, username)
        except keyring.errors.PasswordDeleteError:
            return False
        return True


class EncryptedFileKeyring(KeyringBackend):
    """gatepass's AES-256-GCM file (machine key or passphrase) as a keyring backend."""

    priority = 0.1

    def _store(self) -> EncryptedFileBackend:
        from gatepass.stores.encrypted_file import from_settings

        return from_settings(os.environ, {})

    def get_password(self, service: str, username: str) -> str | None:
        return self._store().get(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._store().set(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if not self._store().delete(service, username):
            raise PasswordDeleteError("no such password")
