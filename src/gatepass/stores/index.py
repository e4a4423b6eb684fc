"""The store's index: what is stored and where, never a secret.

One text file, ``$XDG_DATA_HOME/gatepass/index`` (0600 in a 0700 directory): a header line and
one record per entry (see ``records``). Every change is a read-modify-write under an exclusive
lock, written to a temp file, fsynced and renamed, so parallel ``store`` calls lose nothing and a
process killed at any point leaves the old index or the new one.
"""

from __future__ import annotations

import time

from gatepass.errors import StoreUnavailableError
from gatepass.paths import index_path
from gatepass.stores import records
from gatepass.stores.files import Lock, write_atomic

HEADER = "gatepass-index 1"
FIELDS = ("kind", "protocol", "host", "path", "username", "created", "updated", "backend", "expiry", "refresh")

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class Entry:
    """One stored credential: where it is for (kind, protocol, host[:port], path, username) and which backend."""

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
        """The keyring service name for this entry: ``gatepass:KIND:PROTOCOL://HOST/PATH``."""
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
    def from_line(cls, line: str) -> Entry:
        f = records.split(line)
        if len(f) != len(FIELDS):
            raise ValueError("wrong number of fields")
        return cls(f[0], f[1], f[2], f[3], f[4], int(f[5] or 0), int(f[6] or 0), f[7],
                   int(f[8]) if f[8] else None, f[9] == "1")

    def __repr__(self) -> str:
        return f"<Entry {self.service()} user={self.username!r} in {self.backend}>"


class Index:
    def __init__(self, env) -> None:  # type: ignore[no-untyped-def]
        self.path = index_path(env)

    def entries(self) -> list[Entry]:
        """Every entry; an absent index is empty, a damaged one is a clear error (never "not found")."""
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreUnavailableError(f"cannot read {self.path} ({exc.strerror})") from None
        lines = data.decode("utf-8", "surrogateescape").split("\n")
        if lines[0] != HEADER:
            raise StoreUnavailableError(f"{self.path} is not a gatepass index; move it aside")
        try:
            return [Entry.from_line(line) for line in lines[1:] if line]
        except ValueError:
            raise StoreUnavailableError(f"{self.path} is damaged; move it aside and log in again") from None

    def update(self, change: Callable[[list[Entry]], list[Entry]]) -> list[Entry]:
        """Apply ``change`` to the entries under the lock and write the result atomically."""
        with Lock(self.path + ".lock"):
            entries = change(self.entries())
            body = "\n".join([HEADER, *(e.to_line() for e in entries)]) + "\n"
            write_atomic(self.path, body.encode("utf-8", "surrogateescape"))
            return entries


def now() -> int:
    return int(time.time())
