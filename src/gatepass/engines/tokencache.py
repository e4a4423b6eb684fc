"""The one expiry-aware per-user cache of engine values and tokens (and ``token_command`` output).

Files live in ``$XDG_CACHE_HOME/gatepass/tokens/``, one per key, named by a SHA-256 of the key's
parts (never the parts: a path or URL says nothing a listing should show). Each holds a marshal
tuple ``(FORMAT, key, value, expiry, written)``; the key is stored and compared, so a hash
collision or a renamed file can never answer for another key.

Read-back goes through ``gatepass.readback.open_trusted`` (a regular file owned by the effective
user, in a directory chain that no other user can write) and must also be private (no group or
other bits); anything else is a miss, and ``put`` replaces it. An entry is a miss once
``expiry`` has passed, and also when it was written "in the future" (the clock went back, or it
was not written by us). Writes are atomic (temp, fsync, rename);
expired entries are deleted on the next ``put``. ``lock`` is a per-key flock (single flight);
when the cache directory cannot be used, the caller simply runs without cache or lock.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from gatepass.errors import PrivateFileError
from gatepass.paths import cache_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gatepass.files import Lock

FORMAT = 1
MAX_ENTRY_BYTES = 256 * 1024
CLOCK_SLACK = 5  # seconds an entry's write time may be ahead of our clock (another process's rounding)


def directory(env: Mapping[str, str]) -> str:
    return os.path.join(cache_dir(env), "tokens")


def _sha256_hex(data: bytes) -> str:
    # The C module directly: ``hashlib`` loads OpenSSL's binding, a few ms a warm get does not need.
    try:
        if sys.version_info >= (3, 12):
            from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
        else:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:  # pragma: no cover - a build without the builtin hashes
        from hashlib import sha256  # type: ignore[no-redef,unused-ignore]
    return str(sha256(data).hexdigest())


def path_for(env: Mapping[str, str], key: tuple[str, ...]) -> str:
    """The cache file of ``key`` (its parts joined with NUL, which no part can hold)."""
    digest = _sha256_hex("\0".join(key).encode("utf-8", "surrogateescape"))[:40]
    return os.path.join(directory(env), digest)


def entry_problem(path: str) -> str | None:
    """Why ``_load`` would ignore the entry at ``path`` (for ``doctor``), or None: readback's trust rule
    at this file's size cap, then the private-mode rule."""
    from gatepass.readback import trust_problem

    problem = trust_problem(path, MAX_ENTRY_BYTES)
    if problem is None and os.path.exists(path) and os.stat(path).st_mode & 0o077:
        problem = f"{path} is open to its group or others (an engine token cache entry must be 0600)"
    return problem


def _load(path: str) -> tuple[object, ...] | None:
    """The entry at ``path`` when gatepass.readback trusts it (ours, a directory chain no one else can
    write) and it is private (no group or other bits at all: it holds a secret), else None."""
    from gatepass.ownership import read_fd
    from gatepass.readback import open_trusted

    opened = open_trusted(path, MAX_ENTRY_BYTES)
    if opened is None:
        return None
    fd, st = opened
    try:
        if st.st_mode & 0o077:
            return None
        data = read_fd(fd, MAX_ENTRY_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        entry = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    return entry if isinstance(entry, tuple) and len(entry) == 5 else None


def get(env: Mapping[str, str], key: tuple[str, ...], now: Callable[[], float] = time.time) -> tuple[str, int] | None:
    """(value, expiry unix seconds) while the entry for ``key`` is valid and trusted, else None."""
    entry = _load(path_for(env, key))
    if entry is None:
        return None
    version, stored_key, value, expiry, written = entry
    moment = now()
    if (version != FORMAT or stored_key != tuple(key) or not isinstance(value, str) or not value
            or not isinstance(expiry, int) or not isinstance(written, int)):
        return None
    if not moment < expiry or written > moment + CLOCK_SLACK:
        return None
    return value, expiry


def put(env: Mapping[str, str], key: tuple[str, ...], value: str, expiry: int,
        now: Callable[[], float] = time.time) -> None:
    """Cache ``value`` until ``expiry``; a cache that cannot be written only costs the next fetch.

    Never into a directory another user could change: there the value could be swapped or the
    entry moved, so nothing is cached at all."""
    from gatepass.files import private_dir, write_atomic
    from gatepass.readback import directory_problem

    moment = now()
    if expiry <= moment:
        return
    path = path_for(env, key)
    try:
        private_dir(os.path.dirname(path))
    except PrivateFileError:
        return
    if directory_problem(os.path.dirname(path)):
        return
    try:
        write_atomic(path, marshal.dumps((FORMAT, tuple(key), value, int(expiry), int(moment))))
    except PrivateFileError:
        return
    prune(env, moment)


def prune(env: Mapping[str, str], moment: float) -> None:
    """Delete expired entries: a value is only ever kept until it expires; and temp files whose
    writer is gone."""
    from gatepass.files import remove_stale_temps

    folder = directory(env)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.endswith(".tmp"):  # a writer killed mid-write left it, token inside
            remove_stale_temps(os.path.join(folder, name.partition(".")[0]), locked=False)
        if "." in name:  # locks and temp files
            continue
        entry = _load(os.path.join(folder, name))
        if entry is not None and not (isinstance(entry[3], int) and entry[3] > moment):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


def drop(env: Mapping[str, str], key: tuple[str, ...]) -> None:
    """Forget ``key`` (an engine token the server no longer accepts)."""
    try:
        os.unlink(path_for(env, key))
    except OSError:
        pass


def lock(env: Mapping[str, str], key: tuple[str, ...], timeout: float) -> _Locked:
    """Hold ``key``'s lock while the caller fetches (single flight): ``with tokencache.lock(env, key, 10):``.

    When it cannot be taken (an unusable cache directory, another helper hanging past
    ``timeout``) the caller runs anyway: the lock saves work, it does not guard correctness.
    """
    return _Locked(path_for(env, key) + ".lock", timeout)


class _Locked:
    def __init__(self, path: str, timeout: float) -> None:
        self.path, self.timeout = path, timeout
        self.held: Lock | None = None

    def __enter__(self) -> None:
        from gatepass.files import Lock

        try:
            self.held = Lock(self.path, self.timeout).__enter__()
        except PrivateFileError:
            self.held = None

    def __exit__(self, *exc: object) -> None:
        if self.held is not None:
            self.held.__exit__()
