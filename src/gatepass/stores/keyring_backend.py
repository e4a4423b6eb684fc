"""gatepass and keyring, both ways: any keyring backend as a gatepass store, and gatepass's
encrypted file as a keyring backend for other keyring users.

The only module in ``stores/`` that imports keyring. ``keyring:<module.Class>`` pins a backend
with ``keyring.core.load_keyring`` (no priority probe, which imports and probes every backend). keyring's
API has no timeouts, so every call runs in a daemon thread that is abandoned after the
timeout: the helper reports the backend as unavailable and exits instead of hanging.

``EncryptedFileKeyring`` is registered under keyring's entry point group::

    [project.entry-points."keyring.backends"]
    gatepass-encrypted-file = "gatepass.stores.keyring_backend"

with a negative priority (-1), so it is opt-in only: keyring's own discovery never picks it, not
even where no real keyring exists (it would otherwise become the default of every keyring user
in a shared environment), and keyring's chainer skips it. Choose it by name:
``PYTHON_KEYRING_BACKEND=gatepass.stores.keyring_backend.EncryptedFileKeyring`` or
``default-keyring`` in keyringrc.cfg (``keyring.core.load_keyring`` accepts any priority).
Its errors are keyring's own (``KeyringError``), as keyring users catch them.
keyring builds backends without arguments, so this one class reads ``os.environ`` (XDG paths,
``GATEPASS_STORE_PASSPHRASE``) when it is used, never when it is imported.
"""

from __future__ import annotations

import os

from keyring.backend import KeyringBackend

from gatepass.errors import InvalidRequestError, StoreUnavailableError
from gatepass.stores import DEFAULT_TIMEOUT, Backend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from gatepass.stores.encrypted_file import EncryptedFileBackend


def _bounded(call: Callable[..., Any], args: tuple[Any, ...], timeout: float, what: str) -> Any:
    """``call(*args)`` in a daemon thread; its result or exception, or StoreUnavailableError after ``timeout``."""
    import threading

    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, call(*args)))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))

    worker = threading.Thread(target=run, name=f"gatepass {what}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise StoreUnavailableError(f"{what} did not answer within {timeout:g}s; is the keyring locked or "
                                    "waiting for a prompt? unlock it or choose another [store] backend")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


class KeyringAdapter(Backend):
    """Any keyring backend (``module.Class``) as a gatepass store backend; every call bounded by ``timeout``."""

    def __init__(self, dotted: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        import keyring.core

        self.name, self.timeout = f"keyring:{dotted}", timeout
        try:
            # load_keyring checks the class's priority, which may itself talk to a daemon.
            self.keyring = _bounded(keyring.core.load_keyring, (dotted,), timeout, self.name)
        except StoreUnavailableError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"cannot load keyring backend {dotted} ({type(exc).__name__}); "
                                        "check [store] backend") from None

    def _guard(self, call: Callable[..., object], *args: str) -> object:
        import keyring.errors

        try:
            return _bounded(call, args, self.timeout, self.name)
        except keyring.errors.PasswordDeleteError:
            raise  # "nothing to delete" is an answer, not an unavailable keyring
        except StoreUnavailableError:
            raise
        except UnicodeError:  # e.g. a lone surrogate from docker's JSON, which D-Bus strings cannot carry
            raise InvalidRequestError(f"{self.name} cannot store this text (not valid Unicode)") from None
        except Exception as exc:  # KeyringLocked, InitError, a backend's own errors: type only, text may hold a secret
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

    priority = -1  # opt-in only: below keyring's fail backend (0), so discovery never chooses it
    _cached: EncryptedFileBackend | None = None

    def _store(self) -> EncryptedFileBackend:
        """The file ``os.environ`` names now; the same object while that stays so (scrypt runs once)."""
        from gatepass.stores.encrypted_file import from_settings

        fresh = from_settings(os.environ, {})
        old = self._cached
        if old is None or (old.path, old.key_file, old.passphrase) != (fresh.path, fresh.key_file, fresh.passphrase):
            self._cached = old = fresh
        return old

    def _run(self, method: str, *args: str) -> Any:
        """Call the file backend, turning its errors into keyring's, which keyring users (and its chainer) expect."""
        from keyring.errors import KeyringError

        try:
            return getattr(self._store(), method)(*args)
        except StoreUnavailableError as exc:
            raise KeyringError(str(exc)) from None

    def get_password(self, service: str, username: str) -> str | None:
        value = self._run("get", service, username)
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._run("set", service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if not self._run("delete", service, username):
            raise PasswordDeleteError("no such password")
