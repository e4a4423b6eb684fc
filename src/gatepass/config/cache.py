"""The parsed-config cache, read: lets ``get`` skip the TOML parser, and most accounts, when nothing changed
(written by ``config/cachewrite.py``, the cold path's).

One file per set of layer paths and installed code in ``$XDG_CACHE_HOME/gatepass/`` (0600 in a 0700
directory, per user, so it never holds an inline token at a looser mode than the file it came
from). Layout: see ``encode``; a ``get`` reads a header, two offsets and the one or two shards its
host can live in, ``list`` the ready listing, so neither grows with the number of provider tables.
Helpers that miss together parse once (``Parsing``).

What makes a cache trusted, what makes it a miss, and why: docs/design.md "Trust boundaries". A cache
that cannot be read or written is simply not used.
"""

import marshal
import posix

from gatepass import __version__
from gatepass.model import Account
from gatepass.paths import absolute, cache_dir, dirname, join
from gatepass.readback import open_trusted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any


    # A parsed account as a shard keeps it: its OWN fields (after the index of its ORIGIN in the header).
    AccountTuple = tuple[Any, ...]
    LayerKey = list[tuple[str, str, tuple[int, ...] | None]]  # ``current_key``'s answer
    # (accounts, errors, store, listing, engines): what ``read`` gives back
    Decoded = tuple[list[Account], list[str], dict[str, object], "dict[str, str] | Listing",
                    dict[str, dict[str, object]]]

# Bumped whenever what a parse gives may differ from what an older gatepass cached, or the code that shapes
# it moves (the code stamp names files by path): 7 is tomli's reading alone (the removed hand-written
# readers read some files otherwise); 8, domains normalised in hosts.py, line lookup and JSON text on the
# ground floor; 9, ranks from model.LAYERS (an account's rank is part of its cached tuple).
# 10: a top-level engine table with an error is kept as its error line (engines/specs.TABLE_ERROR).
# 11: what every account of one layer file shares (ORIGIN) kept once in the header, not in each account.
# 12: the writer in a module of its own (config/cachewrite.py), [store] and engine tables in config/settings.py.
FORMAT = 12
MAX_CACHE_BYTES = 256 * 1024 * 1024
# How close to the parse a layer's mtime/ctime may be and still tell a later edit apart: the kernel
# stamps files from a coarse clock (one tick); whole-second stamps (some filesystems) get 2 s.
RACY_NS = 20_000_000
RACY_WHOLE_SECOND_NS = 2_000_000_000
# Small shards: unmarshalling is most of a warm get's own work and grows with the shard; the offset
# table grows instead, of which a get reads 16 bytes (benchmarks/bench_get.py measures both).
ACCOUNTS_PER_SHARD = 16
_HERE = absolute(dirname(__file__))
# The code that shapes a parse: a changed module (a development checkout, an upgrade in place)
# must not be answered from a parse the old code made.
_SHAPERS = [join(_HERE, name) for name in ("schema.py", "settings.py", "toml.py", "layers.py", "cache.py", "cachewrite.py",
                                           "trust.py")]
# What else a parse's result holds: normalised hosts, line places, the presets' accounts, the sealed-value
# check, engine specs and URL rules (a [vault] address is judged at parse time) and the rendered docker
# listing (tests/unit/config/test_pins_cache.py finds any missing).
_SHAPERS += [join(dirname(_HERE), name) for name in ("model.py", "hosts.py", "linemap.py", "jsontext.py", "presets.py",
                                                      "sealing.py", join("engines", "specs.py"), join("engines", "urls.py"))]


def _code_stamp() -> tuple[object, ...]:
    stamp: list[object] = [FORMAT, __version__]
    for path in _SHAPERS:
        try:
            stamp.append(posix.stat(path).st_mtime_ns)
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def fnv1a(text: str) -> int:
    """A stable 64-bit hash (``hash()`` is salted per process)."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogateescape"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def path_for(paths: list[str], env: "Mapping[str, str]") -> str:
    """One cache file per set of layer paths and per installed gatepass: two installs sharing a
    cache directory must not overwrite each other's cache on every call."""
    code = f"{_HERE}\0{__version__}\0{FORMAT}"
    return join(cache_dir(env), "config-%016x.cache" % fnv1a("\0".join([code, *paths])))


def identity(st: "posix.stat_result") -> tuple[int, ...]:
    """What must not change for a parse to stand: device, inode, owner, mode, size, mtime, ctime (ns)."""
    return (st.st_dev, st.st_ino, st.st_uid, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def current_key(files: list[tuple[str, int, str]]) -> list[tuple[str, str, tuple[int, ...] | None]]:
    """(layer, path, identity or None) of every layer file now, to compare with the cache's."""
    key: list[tuple[str, str, tuple[int, ...] | None]] = []
    for layer, _, path in files:
        try:
            key.append((layer, path, identity(posix.stat(path))))
        except OSError:
            key.append((layer, path, None))
    return key


def racy(key: list[tuple[str, str, tuple[int, ...] | None]], started_ns: int) -> bool:
    """Whether a layer changed so close to ``started_ns`` (taken before the files were opened) that
    an edit right after the parse could leave the same identity: then the parse is not cached."""
    for _, _, ident in key:
        if ident is None:
            continue
        mtime, ctime = ident[5], ident[6]
        whole = mtime % 1_000_000_000 == 0 and ctime % 1_000_000_000 == 0
        if max(mtime, ctime) >= started_ns - (RACY_WHOLE_SECOND_NS if whole else RACY_NS):
            return True
    return False


def shard_of(host: str, count: int) -> int:
    """The shard a host key lives in: its UTF-8 bytes as one integer, modulo an odd ``count`` (every
    byte counts then). Stable across processes (``hash()`` is salted) and a C-speed call: the writer
    runs it once per provider table, so a per-byte hash in Python would weigh on the write."""
    return int.from_bytes(host.encode("utf-8", "surrogateescape"), "little") % count


class Listing:
    """The docker listing as ``list`` reads it from the cache: ``rendered`` is the whole answer, the
    JSON object ``jsontext.render_object`` makes (``protocol.docker.render_list``), written at parse time; ``entries()`` decodes
    the dict only when stored entries must be merged in (rendering every entry on every call would
    be most of ``list``'s own work)."""

    __slots__ = ("_raw", "rendered")

    def __init__(self, raw: bytes, rendered: str) -> None:
        self._raw, self.rendered = raw, rendered

    def entries(self) -> dict[str, str]:
        entries: dict[str, str] = marshal.loads(self._raw)
        return entries


def read(path: str, key: "LayerKey", hosts: list[str] | None) -> "Decoded | None":
    """(accounts, errors, store, listing, engines) for ``hosts`` (every account when ``None``,
    none for ``[]``), or ``None`` on a miss. ``listing`` is what ``docker-credential-gatepass list``
    shows: a dict when ``hosts`` is ``None``, a :class:`Listing` for ``[]``, ``{}`` otherwise."""
    opened = open_trusted(path, MAX_CACHE_BYTES)
    if opened is None:
        return None
    fd = opened[0]
    try:
        return _decode(fd, key, hosts)
    except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError):
        return None
    finally:
        posix.close(fd)


def _at(fd: int, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset`` (``pread``: no file object, no seeks); EOFError when the file is shorter."""
    data = posix.pread(fd, size, offset)
    while len(data) < size:
        more = posix.pread(fd, size - len(data), offset + len(data))
        if not more:
            raise EOFError("the cache file is shorter than its table says")
        data += more
    return data


def _decode(fd: int, key: "LayerKey", hosts: "list[str] | None") -> "Decoded | None":
    """Read what ``hosts`` need: the header, then per shard two offsets and the shard itself."""
    size = int(_at(fd, 0, 8), 16)
    header = marshal.loads(_at(fd, 8, size))
    if header[0] != _code_stamp() or header[1] != [tuple(k) for k in key]:
        return None
    errors, store, engines, count = header[2], header[3], header[4], header[5]
    table, base = 8 + size, 8 + size + 8 * (count + 3)

    def blob(index: int) -> bytes:  # shard ``index``, the listing at ``count``, rendered at ``count + 1``
        bounds = _at(fd, table + 8 * index, 16)
        start, end = int.from_bytes(bounds[:8], "little"), int.from_bytes(bounds[8:], "little")
        return _at(fd, base + start, end - start)

    origins = header[6]
    if hosts == []:
        return [], errors, store, Listing(blob(count), marshal.loads(blob(count + 1))), engines
    listing = marshal.loads(blob(count)) if hosts is None else {}
    runs: list[list[object]] = []
    if hosts is None:
        for index in range(count):
            runs.extend(marshal.loads(blob(index)).values())
    else:
        for index in sorted({shard_of(host, count) for host in hosts}):
            shard = marshal.loads(blob(index))
            runs.extend(shard[host] for host in hosts if host in shard)
    accounts = [_account(values, origin) for values, origin in _walk(runs, origins)]
    if hosts is not None:
        accounts.sort(key=_ORDER)  # file order across shards, as a full load gives
    return accounts, errors, store, listing, engines


# An account's fields as a shard keeps them: its OWN, in a host's list after the index of its origin in
# the header, the ORIGIN fields every account of one layer file shares (written once per file).
ORIGIN = ("layer", "rank", "file", "untrusted", "source")
OWN = tuple(name for name in Account.FIELDS if name not in ORIGIN)


def _walk(runs: list[list[object]], origins: list[tuple[object, ...]]) -> "Iterator[tuple[AccountTuple, tuple[object, ...]]]":
    """(own fields, origin fields) of each account in a host's list: an int is the origin of those after it."""
    for run in runs:
        origin: tuple[object, ...] | None = None
        for item in run:
            if type(item) is int:
                origin = origins[item]
            elif type(item) is tuple and origin is not None and len(item) == len(OWN):
                yield item, origin
            else:
                raise ValueError("an account of another shape")  # read() takes it as a miss


def _order(account: Account) -> int:
    return account.order


_ORDER = _order


def _account(values: "AccountTuple", origin: tuple[object, ...]) -> Account:
    fields: dict[str, Any] = dict(zip(OWN, values, strict=True))
    fields.update(zip(ORIGIN, origin, strict=True))
    return Account(**fields)
