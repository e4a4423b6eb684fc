"""The parsed-config cache: lets ``get`` skip the TOML parser, and most accounts, when nothing changed.

One file per set of layer paths in ``$XDG_CACHE_HOME/gatepass/`` (0600 in a 0700 directory, per
user, so it never holds an inline token at a looser mode than the file it came from). Layout:
8 bytes giving the header's length, a marshal header (code stamp, the stat key of every layer
file, config errors, ``[store]`` settings, the offset and length of each shard, the docker listing
and the engine tables such as ``[vault]``), then the
shards: marshal dicts from a host key (``github.com``, ``*.example.com``) to account tuples. A
``get`` reads the header and the one or two shards its host can live in, so its cost barely
grows with the number of accounts. The key holds path, inode, size, mtime, mode, owner and
device of every layer file; any change, a new gatepass or an edited parsing module makes a miss.
A cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import marshal
import os

from gatepass import __version__
from gatepass.paths import cache_dir

FORMAT = 3
ACCOUNTS_PER_SHARD = 256
_HERE = os.path.dirname(os.path.abspath(__file__))
# The code that shapes a parse: a changed module (a development checkout, an upgrade in place)
# must not be answered from a parse the old code made.
_SHAPERS = [os.path.join(_HERE, name) for name in ("schema.py", "lines.py", "layers.py", "cache.py")]
_SHAPERS.append(os.path.join(os.path.dirname(_HERE), "model.py"))
_SHAPERS.append(os.path.join(os.path.dirname(_HERE), "engines", "specs.py"))


def _code_stamp() -> tuple[object, ...]:
    stamp: list[object] = [FORMAT, __version__]
    for path in _SHAPERS:
        try:
            stamp.append(os.stat(path).st_mtime_ns)
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def fnv1a(text: str) -> int:
    """A stable 64-bit hash (``hash()`` is salted per process)."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogateescape"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def path_for(paths: list[str], env) -> str:  # type: ignore[no-untyped-def]
    return os.path.join(cache_dir(env), "config-%016x.cache" % fnv1a("\0".join(paths)))


def read(path: str, key: list, hosts: list[str] | None) -> tuple | None:  # type: ignore[type-arg]
    """(account tuples, errors, store, listing, engines) for ``hosts`` (every account when ``None``,
    none for ``[]``), or ``None`` on a miss. ``listing`` is what ``docker-credential-gatepass list`` shows."""
    try:
        with open(path, "rb") as handle:
            size = int(handle.read(8), 16)
            header = marshal.loads(handle.read(size))
            if header[0] != _code_stamp() or header[1] != [tuple(k) for k in key]:
                return None
            errors, store, shards, listing, engines = header[2], header[3], header[4], header[5], header[6]
            wanted = range(len(shards)) if hosts is None else sorted({fnv1a(h) % len(shards) for h in hosts})
            accounts: list[tuple] = []  # type: ignore[type-arg]
            for index in wanted:
                offset, length = shards[index]
                handle.seek(8 + size + offset)
                table = marshal.loads(handle.read(length))
                if hosts is None:
                    for tuples in table.values():
                        accounts.extend(tuples)
                else:
                    for host in hosts:
                        accounts.extend(table.get(host, ()))
    except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError):
        return None
    if hosts is not None:
        accounts.sort(key=_ORDER)  # file order across shards, as a full load gives
    return accounts, errors, store, listing, engines


def _order(account: tuple) -> int:  # type: ignore[type-arg]
    return account[-1]  # type: ignore[no-any-return]


_ORDER = _order


def write(path: str, key: list, accounts: list[tuple], errors: list[str], store: dict,  # type: ignore[type-arg]
          listing: dict[str, str], engines: dict[str, dict[str, object]]) -> None:
    """Write the cache atomically (temp file, rename); ``accounts`` are tuples whose [2] is the host key."""
    count = max(1, len(accounts) // ACCOUNTS_PER_SHARD)
    by_host: dict[str, list[tuple]] = {}  # type: ignore[type-arg]
    for account in accounts:
        by_host.setdefault(account[2], []).append(account)
    tables: list[dict[str, list[tuple]]] = [{} for _ in range(count)]  # type: ignore[type-arg]
    for host, group in by_host.items():
        tables[fnv1a(host) % count][host] = group
    blobs = [marshal.dumps(table) for table in tables]
    shards, offset = [], 0
    for blob in blobs:
        shards.append((offset, len(blob)))
        offset += len(blob)
    header = marshal.dumps((_code_stamp(), [tuple(k) for k in key], errors, store, shards,  # type: ignore[arg-type]
                            listing, engines))
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"%08x" % len(header))
            handle.write(header)
            for blob in blobs:
                handle.write(blob)
        os.replace(tmp, path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
