"""Which backend answers: ``GATEPASS_STORE_BACKEND``, ``[store] backend`` or ``auto``, and opening it.

Apart from ``stores/__init__.py`` (the ``Backend`` base every backend imports) so that the base never
imports the backends built on it. Tests add backends of their own (a dict in memory) through
``TEST_BACKENDS``; nothing in gatepass does, so no config or environment can select a test-only
backend in production.
"""

from gatepass.stores import DEFAULT_TIMEOUT, Backend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

BACKENDS = ("auto", "secret-service", "encrypted-file")
TEST_BACKENDS: "dict[str, Callable[[], Backend]]" = {}  # the explicit test hook (tests/support/memory_backend.py)


def backend_spec(env: "Mapping[str, str]", settings: "Mapping[str, object] | None" = None) -> str:
    """``GATEPASS_STORE_BACKEND`` beats ``[store] backend`` beats ``auto``."""
    return str(env.get("GATEPASS_STORE_BACKEND") or (settings or {}).get("backend") or "auto")


def _timeout(settings: "Mapping[str, object]") -> float:
    from gatepass.errors import ConfigError

    value = settings.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 600:
        raise ConfigError("must be a number of seconds between 0 and 600", key="store.timeout")
    return float(value)


def open_backend(spec: str, env: "Mapping[str, str]", settings: "Mapping[str, object] | None" = None) -> Backend:
    """The backend ``spec`` names: ``auto``, ``secret-service``, ``encrypted-file`` or ``keyring:<module.Class>``
    (or one a test registered in ``TEST_BACKENDS``). ``auto`` is Secret Service when it is usable now (a
    session bus answers within 0.5 s, ``org.freedesktop.secrets`` runs or starts, its default collection exists and is unlocked: see
    ``secret_service.probe``), else the encrypted file. ``settings`` is the ``[store]`` table:
    ``timeout`` (seconds per backend call, default 5), ``passphrase_env``, ``passphrase_file``.
    """
    from gatepass.errors import ConfigError

    settings = settings or {}
    timeout = _timeout(settings)
    if spec in ("auto", "secret-service"):
        from gatepass.stores import secret_service

        if spec == "auto":
            found = secret_service.probe(env, min(timeout, secret_service.PROBE_TIMEOUT))
            if found is not None:
                found.timeout = timeout
                return found
            spec = "encrypted-file"
        else:
            return secret_service.SecretServiceBackend(env, timeout)
    if spec == "encrypted-file":
        from gatepass.stores.encrypted_file import from_settings

        return from_settings(env, settings)
    if spec in TEST_BACKENDS:
        return TEST_BACKENDS[spec]()
    if spec.startswith("keyring:") and len(spec) > len("keyring:"):
        from gatepass.stores.keyring_backend import KeyringAdapter

        return KeyringAdapter(spec[len("keyring:"):], timeout)
    raise ConfigError(f"unknown store backend {spec!r}; use one of {', '.join(BACKENDS)} or keyring:<module.Class>",
                      key="store.backend")
