"""The parsed-config cache, written: the cold path's half of ``config/cache.py`` (a warm ``get`` never
imports it). Layout: see ``encode``; trust: docs/design.md "Trust boundaries"."""

import marshal

from gatepass.config import cache
from gatepass.config.cache import ORIGIN, OWN, _code_stamp
from gatepass.errors import GatepassError
from gatepass.paths import dirname
from gatepass.readback import directory_problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gatepass.config.cache import LayerKey
    from gatepass.files import Lock
    from gatepass.model import Account


def encode(key: "LayerKey", accounts: "list[Account]", errors: list[str], store: dict[str, object],
           listing: dict[str, str], engines: dict[str, dict[str, object]]) -> bytes:
    """The cache file: 8 hex digits giving the header's length; the header (code stamp, layer
    identities, errors, ``[store]``, engine tables, shard count, origins), whose size grows with the
    files, not the accounts; a table of ``count + 3`` little-endian 8-byte offsets; then the shards
    (marshal dicts from a host key such as ``github.com`` or ``*.example.com`` to account tuples,
    about ``cache.ACCOUNTS_PER_SHARD`` accounts each), the docker listing and the listing rendered as
    ``list`` prints it. A ``get`` reads the header, 16 bytes of the table and one or two shards;
    ``list`` the listing alone."""
    from itertools import groupby
    from operator import attrgetter

    count = max(1, len(accounts) // cache.ACCOUNTS_PER_SHARD) | 1
    tables: list[dict[str, list[object]]] = [{} for _ in range(count)]
    own, origin = attrgetter(*OWN), attrgetter(*ORIGIN)
    origins: dict[tuple[object, ...], int] = {}
    # A layer entry's accounts come together; one file may be listed twice (GATEPASS_CONFIG=a:a), at two ranks.
    for _, entry in groupby(accounts, key=attrgetter("file", "rank")):
        at, last = -1, None
        for account in entry:  # a table's accounts come together
            host = account.host
            if host != last:  # shard_of, inline: a call per account would be most of this loop
                if at < 0:
                    at = origins.setdefault(origin(account), len(origins))
                shard = tables[int.from_bytes(host.encode("utf-8", "surrogateescape"), "little") % count]
                same = shard.setdefault(host, [])
                same.append(at)  # each run of a host's list starts with the index of its accounts' origin
                last = host
            same.append(own(account))
    blobs = [marshal.dumps(table) for table in tables]
    del tables
    blobs.append(marshal.dumps(listing))
    if listing:  # the import only for a config that has registries
        from gatepass.jsontext import render_object

        blobs.append(marshal.dumps(render_object(listing)))
    else:
        blobs.append(marshal.dumps("{}\n"))
    offsets, offset = [0], 0
    for blob in blobs:
        offset += len(blob)
        offsets.append(offset)
    fields: tuple[Any, ...] = (_code_stamp(), [tuple(k) for k in key], errors, store, engines, count,
                               list(origins))  # marshal's types; dicts keep insertion order: index i is origin i
    header = marshal.dumps(fields)
    return b"".join([b"%08x" % len(header), header, *(o.to_bytes(8, "little") for o in offsets), *blobs])


def write(path: str, key: "LayerKey", accounts: "list[Account]", errors: list[str], store: dict[str, object],
          listing: dict[str, str], engines: dict[str, dict[str, object]]) -> None:
    """Write the cache atomically (temp file, rename)."""
    from gatepass.files import private_dir, remove_stale_temps, write_atomic  # the cold path's writer

    data = encode(key, accounts, errors, store, listing, engines)
    directory = dirname(path)
    try:
        private_dir(directory)
        if directory_problem(directory):  # others could read it back forged, or see it: no cache here
            return
        write_atomic(path, data)
    except GatepassError:
        return
    remove_stale_temps(path, locked=False)  # temps of writers killed mid-write (they hold inline tokens)


PARSE_WAIT = 10.0  # seconds a helper waits for another one's parse before parsing itself


class Parsing:
    """Held while one helper parses a layer set: helpers started together on a cold cache (a CI job's
    parallel clones) wait for that parse and read its cache instead of each parsing. Any trouble
    with the lock (another user's file, an untrusted directory, a slow parse) means parsing without
    it: never worse than before, and the lock file holds nothing."""

    def __init__(self, path: str) -> None:
        self.path = path + ".lock"
        self.lock: Lock | None = None

    def __enter__(self) -> "Parsing":
        from gatepass.files import Lock, private_dir  # noqa: F811 - the cold path's; the type is TYPE_CHECKING's

        directory = dirname(self.path)
        try:
            private_dir(directory)  # as write() does: the first helper on a new account creates it
            if not directory_problem(directory):
                self.lock = Lock(self.path, timeout=PARSE_WAIT).__enter__()
        except (GatepassError, OSError):
            self.lock = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.lock is not None:
            self.lock.__exit__(*exc)

