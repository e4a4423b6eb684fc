"""The parsed-config cache: lets ``get`` skip the TOML parser, and most accounts, when nothing changed.

One file per set of layer paths and installed code in ``$XDG_CACHE_HOME/gatepass/`` (0600 in a 0700
directory, per user, so it never holds an inline token at a looser mode than the file it came
from). Layout: 8 bytes giving the header's length, a marshal header (code stamp, the identity of
every layer file, config errors, ``[store]`` settings, the offset and length of each shard, the
docker listing and the engine tables such as ``[vault]``), then the shards: marshal dicts from a host key (``github.com``,
``*.example.com``) to account tuples. A ``get`` reads the header and the one or two shards its host
can live in, so its cost barely grows with the number of accounts.

Trust (docs/design.md "Trust boundaries"; issue #12): the cache names commands to run and files to
read, so it is read back only through ``gatepass.files.open_trusted`` (ours, not writable by
others, in a directory chain no one else can write) and written only with its O_EXCL writer into
such a directory; anything else is a miss. The identity of each layer file (``identity``: device,
inode, owner, mode, size, mtime and ctime in ns) is the one ``fstat`` gave on the descriptor that
was parsed; ctime catches ``touch -r``, ``cp -p`` and same-length edits that keep size, inode and
mtime. A file changed too close to the parse to tell apart (``racy``, git's racy-git rule) is not
cached. Any change, a new gatepass or an edited parsing module makes a miss; a cache that cannot
be read or written is simply not used.
"""

from __future__ import annotations

import marshal
import os

from gatepass import __version__
from gatepass.errors import GatepassError
from gatepass.files import directory_problem, open_trusted, private_dir, remove_stale_temps, write_atomic
from gatepass.paths import cache_dir

FORMAT = 4
MAX_CACHE_BYTES = 256 * 1024 * 1024
# How close to the parse a layer's mtime/ctime may be and still tell a later edit apart: the kernel
# stamps files from a coarse clock (one tick, <= 10 ms); whole-second stamps (some filesystems) get 2 s.
RACY_NS = 20_000_000
RACY_WHOLE_SECOND_NS = 2_000_000_000
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
    """One cache file per set of layer paths and per installed gatepass: two installs sharing a
    cache directory must not overwrite each other's cache on every call (issue #12 item 7)."""
    code = f"{_HERE}\0{__version__}\0{FORMAT}"
    return os.path.join(cache_dir(env), "config-%016x.cache" % fnv1a("\0".join([code, *paths])))


def identity(st: os.stat_result) -> tuple[int, ...]:
    """What must not change for a parse to stand: device, inode, owner, mode, size, mtime, ctime (ns)."""
    return (st.st_dev, st.st_ino, st.st_uid, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def current_key(files: list[tuple[str, int, str]]) -> list[tuple[str, str, tuple[int, ...] | None]]:
    """(layer, path, identity or None) of every layer file now, to compare with the cache's."""
    key: list[tuple[str, str, tuple[int, ...] | None]] = []
    for layer, _, path in files:
        try:
            key.append((layer, path, identity(os.stat(path))))
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


def read(path: str, key: list, hosts: list[str] | None) -> tuple | None:  # type: ignore[type-arg]
    """(account tuples, errors, store, listing, engines) for ``hosts`` (every account when ``None``,
    none for ``[]``), or ``None`` on a miss. ``listing`` is what ``docker-credential-gatepass list`` shows."""
    opened = open_trusted(path, MAX_CACHE_BYTES)
    if opened is None:
        return None
    try:
        with os.fdopen(opened[0], "rb") as handle:
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
    data = b"".join([b"%08x" % len(header), header, *blobs])
    directory = os.path.dirname(path)
    try:
        private_dir(directory)
        if directory_problem(directory):  # others could read it back forged, or see it: no cache here
            return
        write_atomic(path, data)
    except GatepassError:
        return
    remove_stale_temps(path, locked=False)  # temps of writers killed mid-write (they hold inline tokens)


def trust_report(env) -> list[tuple[bool, str]]:  # type: ignore[no-untyped-def]
    """(ok, line) for ``doctor``: whether the parse cache of these layers is trusted, and each of
    gatepass's own cache files that would be ignored (and rebuilt), with why."""
    from gatepass.config.layers import layer_files
    from gatepass.files import IGNORED, trust_problem

    directory = cache_dir(env)
    why = directory_problem(directory) if os.path.isdir(directory) else None
    if why:
        return [(False, f"caches in {directory} are not used: {why}; make each directory yours or root's, "
                        "not writable by others")]
    path = path_for([p for _, _, p in layer_files(env)], env)
    problem = trust_problem(path, MAX_CACHE_BYTES)
    state = "is trusted" if os.path.exists(path) else "is not written yet"
    report = [(False, f"ignored, rebuilt on use: {problem}; remove it")] if problem else [(True, f"parse cache {path} {state}")]
    report += [(False, f"ignored and rebuilt: {why}") for why in IGNORED if why != problem]
    tokens = os.path.join(directory, "tokens")
    for name in sorted(os.listdir(tokens)) if os.path.isdir(tokens) else []:
        problem = trust_problem(os.path.join(tokens, name), MAX_CACHE_BYTES) if "." not in name else None
        if problem:
            report.append((False, f"ignored, rebuilt on use: {problem}; remove it"))
    return report
