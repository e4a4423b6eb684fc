"""The store layer: an index of what is stored (never a secret) plus secrets in a keyring backend.

Backends share one small interface (``get``/``set``/``delete`` of a secret by service and
username, and a ``name``) so the index can say which one holds each entry:

- ``secret-service``: the desktop keyring over D-Bus (``stores/dbus.py``, no keyring import), items
  identical to the ones keyring's own SecretService backend writes;
- ``encrypted-file``: an AES-256-GCM file for headless hosts, keyed by a 0600 machine key or a
  passphrase through scrypt;
- ``keyring:<module.Class>``: any keyring backend, pinned without keyring's discovery;
- ``memory``: tests only.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


class Backend:
    """A place secrets live. Empty usernames and secrets round-trip (git's own tests store them)."""

    name = "backend"

    def get(self, service: str, username: str) -> str | None:
        raise NotImplementedError

    def set(self, service: str, username: str, secret: str) -> None:
        raise NotImplementedError

    def delete(self, service: str, username: str) -> bool:
        raise NotImplementedError


BACKENDS = ("auto", "secret-service", "encrypted-file", "memory")


def backend_spec(env: Mapping[str, str], settings: Mapping[str, object]) -> str:
    """``GATEPASS_STORE_BACKEND`` beats ``[store] backend`` beats ``auto``."""
    return str(env.get("GATEPASS_STORE_BACKEND") or settings.get("backend") or "auto")


def open_backend(spec: str, env: Mapping[str, str], settings: Mapping[str, object]) -> Backend:
    """The backend a spec names; ``auto`` is Secret Service when a session bus answers, else the file."""
    from gatepass.errors import ConfigError

    timeout = float(settings.get("timeout", 5.0))  # type: ignore[arg-type]
    if spec == "auto":
        from gatepass.stores.secret_service import available

        spec = "secret-service" if available(env, min(timeout, 0.5)) else "encrypted-file"
    if spec == "secret-service":
        from gatepass.stores.secret_service import SecretServiceBackend

        return SecretServiceBackend(env, timeout)
    if spec == "encrypted-file":
        from gatepass.stores.encrypted_file import from_settings

        return from_settings(env, settings)
    if spec == "memory":
        from gatepass.stores.memory import MemoryBackend

        return MemoryBackend()
    if spec.startswith("keyring:"):
        from gatepass.stores.keyring_backend import KeyringAdapter

        return KeyringAdapter(spec[len("keyring:"):])
    raise ConfigError(f"unknown store backend {spec!r}; use one of {', '.join(BACKENDS)} or keyring:<module.Class>",
                      key="store.backend")
