"""The store layer's secret backends (how one is chosen: ``stores/choose.py``; the index of what is stored:
``stores/index.py``).

Backends share one small interface (``get``/``set``/``delete`` of a secret by service and
username, and a ``name``) so the index can say which one holds each entry:

- ``secret-service``: the desktop keyring over D-Bus (``stores/dbus.py``, no keyring import), items
  identical to the ones keyring's own SecretService backend writes;
- ``encrypted-file``: an AES-256-GCM file for headless hosts, keyed by a 0600 machine key or a
  passphrase through scrypt;
- ``keyring:<module.Class>``: any keyring backend, pinned without keyring's discovery;

Nothing here reads ``os.environ``: paths and the bus address come from the ``env`` passed in.
"""

class Backend:
    """A place secrets live, keyed by (service, username).

    Empty usernames and empty secrets round-trip (git's own tests store them); ``get`` of an
    absent pair is None and ``delete`` of one is False. Anything that keeps the backend from
    answering (locked, absent, timed out, undecryptable) raises ``StoreUnavailableError``
    naming the backend and the fix: never None, never a hang.
    """

    name = "backend"

    def get(self, service: str, username: str) -> str | None:
        raise NotImplementedError

    def set(self, service: str, username: str, secret: str) -> None:
        raise NotImplementedError

    def delete(self, service: str, username: str) -> bool:
        raise NotImplementedError


DEFAULT_TIMEOUT = 5.0  # seconds per backend call, unless [store] timeout says otherwise
