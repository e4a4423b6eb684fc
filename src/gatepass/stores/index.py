"""The store's index: what is stored and where, never a secret.

One text file, ``$XDG_DATA_HOME/gatepass/index`` (0600 in a 0700 directory): the header line
``gatepass-index 1`` and one ``records`` line per entry with the fields of ``FIELDS``. Chosen
over JSON because it is read on every helper ``get`` and json pulls in ``re`` and its decoder, many
times what this module and ``records`` cost to import.

Every change is a read-modify-write under an exclusive ``flock`` (``index.lock``), written to a
temp file, fsynced and renamed, so parallel ``store`` calls lose nothing and a process killed at
any point leaves the old index or the new one. Readers take no lock: a rename is atomic.

The key scheme (stable: changing it orphans every stored secret) maps an entry to the
(service, username) pair its backend stores the secret under:

>>> Entry("git", "https", "git.example:8443", "org/repo.git", "alice").service()
'gatepass:git:https://git.example:8443/org/repo.git'
>>> Entry("git", "https", "github.com", "", "").service()
'gatepass:git:https://github.com'
>>> Entry("docker", "", "ghcr.io", "", "bot").service()
'gatepass:docker:ghcr.io'
>>> Entry("docker", "", "index.docker.io", "https://index.docker.io/v1/refresh-token", "<token>").service()
'gatepass:docker:https://index.docker.io/v1/refresh-token'

The username is the entry's username, verbatim (it may be empty: git's tests store that).
"""

import time
from posix import fspath  # os.fspath itself, without importing os on the store path

from gatepass.errors import StoreUnavailableError
from gatepass.paths import index_path
from gatepass.readback import read_private
from gatepass.stores import records

HEADER = "gatepass-index 1"
MAX_INDEX_BYTES = 256 * 1024 * 1024
FIELDS = ("kind", "protocol", "host", "path", "username", "created", "updated", "backend", "expiry", "refresh")

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from os import PathLike


class Entry:
    """One stored credential: what it is for, when it was stored, which backend holds its secret.

    ``kind`` is ``git`` or ``docker``; ``protocol`` the git scheme (``""`` for docker); ``host``
    is host[:port]; ``path`` the git path when git sent one, or docker's exact server key when
    it is not a plain registry (else ``""``); ``created``/``updated`` are unix seconds;
    ``expiry`` is git's ``password_expiry_utc``; ``refresh`` says an ``oauth_refresh_token`` is
    stored beside the secret. None of these is secret.
    """

    __slots__ = FIELDS

    def __init__(self, kind: str, protocol: str, host: str, path: str, username: str, created: int = 0,
                 updated: int = 0, backend: str = "", expiry: int | None = None, refresh: bool = False) -> None:
        self.kind, self.protocol, self.host, self.path, self.username = kind, protocol, host, path, username
        self.created, self.updated, self.backend = created, updated, backend
        self.expiry, self.refresh = expiry, refresh

    def key(self) -> tuple[str, ...]:
        """What a new entry replaces: git keeps one per user; docker one per server key, whatever the user."""
        if self.kind == "docker":
            return (self.kind, self.host, self.path)
        return (self.kind, self.protocol, self.host, self.path, self.username)

    def service(self) -> str:
        """The keyring service name for this entry: ``gatepass:KIND:PROTOCOL://HOST/PATH`` (see the module)."""
        if self.kind == "docker":  # the registry's host[:port], or the exact key as docker sent it
            return f"gatepass:docker:{self.path or self.host}"
        where = f"{self.protocol}://{self.host}"
        if self.path:
            where += "/" + self.path
        return f"gatepass:{self.kind}:{where}"

    def to_line(self) -> str:
        return records.join([self.kind, self.protocol, self.host, self.path, self.username, str(self.created),
                             str(self.updated), self.backend, "" if self.expiry is None else str(self.expiry),
                             "1" if self.refresh else ""])

    @classmethod
    def from_line(cls, line: str) -> "Entry":
        f = records.split(line)
        if len(f) != len(FIELDS):
            raise ValueError("wrong number of fields")
        return cls(f[0], f[1], f[2], f[3], f[4], int(f[5] or 0), int(f[6] or 0), f[7],
                   int(f[8]) if f[8] else None, f[9] == "1")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in FIELDS)

    def __hash__(self) -> int:
        raise TypeError("an Entry is mutable, so it is not hashable")

    def __repr__(self) -> str:
        return f"<Entry {self.service()} user={self.username!r} in {self.backend}>"


class Index:
    """The index file at ``where``: a path, or an environment mapping (``$XDG_DATA_HOME/gatepass/index``)."""

    def __init__(self, where: "Mapping[str, str] | str | PathLike[str]") -> None:
        self.path = fspath(where) if isinstance(where, str) or hasattr(where, "__fspath__") else index_path(where)

    def entries(self, hosts: "Collection[str] | None" = None) -> "list[Entry]":
        """Every entry (only lines that can hold one of ``hosts``, when given: a ``get`` parses the lines
        of its own host, not the whole store); an absent index is empty, a damaged one is a clear
        error (never "not found")."""
        data = read_private(self.path, MAX_INDEX_BYTES, StoreUnavailableError)  # a FIFO never blocks
        if data is None:
            return []
        try:
            # surrogatepass: docker's JSON can carry lone surrogates ("\ud800"); they round-trip too.
            lines = data.decode("utf-8", "surrogatepass").split("\n")
        except UnicodeDecodeError:
            raise StoreUnavailableError(f"{self.path} is damaged (not UTF-8); move it aside and log in again") from None
        if lines[0] != HEADER:
            raise StoreUnavailableError(f"{self.path} is not a gatepass index; move it aside")
        if lines[-1] != "":
            raise StoreUnavailableError(f"{self.path} is truncated; move it aside and log in again")
        body = lines[1:-1]
        if hosts is not None:
            # A line whose host field is ``host`` or ``host:port`` holds the escaped host as a substring;
            # the caller still compares the parsed field. Every line keeps the field-count check.
            if any(line and line.count("\t") != len(FIELDS) - 1 for line in body):
                raise StoreUnavailableError(f"{self.path} is damaged; move it aside and log in again")
            needles = [records.escape(host) for host in hosts]
            body = [line for line in body if any(needle in line for needle in needles)]
        try:
            return [Entry.from_line(line) for line in body if line]
        except ValueError:
            raise StoreUnavailableError(f"{self.path} is damaged; move it aside and log in again") from None

    def update(self, change: "Callable[[list[Entry]], list[Entry]]") -> "list[Entry]":
        """Apply ``change`` to the entries under the lock and write the result atomically; returns it."""
        from gatepass.files import Lock, remove_stale_temps, write_atomic  # the writers: not a get's business

        with Lock(self.path + ".lock", error=StoreUnavailableError, guards=self.path):
            remove_stale_temps(self.path)
            entries = change(self.entries())
            body = "\n".join([HEADER, *(e.to_line() for e in entries)]) + "\n"
            write_atomic(self.path, body.encode("utf-8", "surrogatepass"), error=StoreUnavailableError)
            return entries

    def upsert(self, entry: "Entry", replaced: "Callable[[Entry], None] | None" = None) -> "Entry | None":
        """Add ``entry``, replacing the one with the same ``key()`` (whose ``created`` it keeps); returns that one.

        ``updated`` defaults to now, ``created`` to the replaced entry's or now. The caller puts the
        secret in ``entry.backend`` first; ``replaced(old)`` runs under the lock before the index is
        written (``Store.save`` deletes the old secret there when it lives elsewhere), so a failure
        leaves the old index and no secret without an entry.
        """
        moment = now()
        entry.updated = entry.updated or moment
        found: list[Entry] = []

        def change(entries: list[Entry]) -> list[Entry]:
            found.clear()
            kept: list[Entry] = []
            for e in entries:
                (found if e.key() == entry.key() else kept).append(e)
            entry.created = (found[0].created if found else 0) or entry.created or moment
            if found and replaced is not None:
                replaced(found[0])
            return [*kept, entry]

        self.update(change)
        return found[0] if found else None

    def remove(self, matches: "Callable[[Entry], bool]", removing: "Callable[[list[Entry]], None] | None" = None
               ) -> "list[Entry]":
        """Remove every entry ``matches`` accepts; returns them. ``removing(entries)`` runs under the lock
        before the index is written (``Store.erase`` deletes their secrets there): if it raises, the
        index is left as it was, so no secret is left in a backend with no entry pointing at it."""
        removed: list[Entry] = []

        def change(entries: list[Entry]) -> list[Entry]:
            removed.clear()
            kept: list[Entry] = []
            for e in entries:
                (removed if matches(e) else kept).append(e)
            if removed and removing is not None:
                removing(removed)
            return kept

        self.update(change)
        return removed


def now() -> int:
    return int(time.time())
