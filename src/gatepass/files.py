"""gatepass's private files: how they are created, replaced, locked and swept (the cold path).

The contract (docs/design.md "Trust boundaries"): every file gatepass writes for itself is created
``O_CREAT|O_EXCL|O_NOFOLLOW`` at 0600 under a name no one can guess, so a file someone else put there
first is never opened, in directories created 0700 whatever the umask. Reading them back, with
the trust checks, is ``readback`` (the warm path).

Errors are ``PrivateFileError`` unless the caller names its own class (the store passes
``StoreUnavailableError``: a file that is not the store's must not read as a store failure).
"""

import posix
import time

from gatepass.errors import GatepassError, PrivateFileError
from gatepass.ownership import S_IFMT, S_IFREG
from gatepass.paths import absolute, dirname, join
from gatepass.readback import is_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

LOCK_TIMEOUT = 10.0


def private_dir(path: str, error: "type[GatepassError]" = PrivateFileError) -> None:
    """Create ``path`` and any missing parents 0700 whatever the umask (the XDG Base Directory spec
    asks that of ``$XDG_DATA_HOME`` and friends; ``os.makedirs`` gives parents the umask's mode).
    An existing directory is left as its owner set it."""
    if is_dir(path):
        return
    try:
        parent = dirname(absolute(path))
        if not is_dir(parent):
            private_dir(parent, error)
        posix.mkdir(path, 0o700)
        posix.chmod(path, 0o700)  # mkdir's mode is masked by the umask: 0o777 would leave 000
    except FileExistsError:
        pass
    except OSError as exc:
        raise error(f"cannot create {path} ({exc.strerror}); check its parent's owner and mode") from None


def _temp_name(path: str) -> str:
    """``PATH.<pid>.<16 hex>.tmp``: the pid lets a sweep tell a dead writer's temp, the random part
    keeps the name from being guessed and created first."""
    return f"{path}.{posix.getpid()}.{posix.urandom(8).hex()}.tmp"


def _open_new(path: str) -> int:
    return posix.open(path, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_NOFOLLOW | posix.O_CLOEXEC, 0o600)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view):]


def _fsync_dir(directory: str) -> None:
    try:
        dir_fd = posix.open(directory or ".", posix.O_RDONLY | posix.O_DIRECTORY)
        try:
            posix.fsync(dir_fd)
        finally:
            posix.close(dir_fd)
    except OSError:
        pass  # the rename is done; a directory that cannot be fsynced (some filesystems) changes nothing


def _unlink_quietly(path: str) -> None:
    try:
        posix.unlink(path)
    except OSError:
        pass


def write_atomic(path: str, data: bytes, mode: int = 0o600, error: "type[GatepassError]" = PrivateFileError) -> None:
    """Write a new temp file beside ``path`` (``O_EXCL``, 0600, then ``mode`` if another is asked),
    fsync it, rename it over ``path``, fsync the directory. Any failure, Ctrl-C included, removes the
    temp file and leaves ``path`` whole."""
    directory = dirname(path)
    private_dir(directory or ".", error)
    tmp = _temp_name(path)
    try:
        fd = _open_new(tmp)
    except OSError as exc:
        raise error(f"cannot write {path} ({exc.strerror}); nothing was changed") from None
    try:
        try:
            _write_all(fd, data)
            if mode != 0o600:
                posix.fchmod(fd, mode)
            posix.fsync(fd)
        finally:
            posix.close(fd)
        posix.replace(tmp, path)
    except BaseException as exc:
        _unlink_quietly(tmp)
        if isinstance(exc, OSError):
            raise error(f"cannot write {path} ({exc.strerror}); nothing was changed") from None
        raise
    _fsync_dir(directory)


def create_new(path: str, data: bytes) -> None:
    """Create ``path`` (0600) holding ``data``, never replacing a file already there.

    Written to a new temp file beside it, fsynced, then hard-linked into place: a crash leaves no
    file or a whole one, and of two racing creators exactly one wins; the other gets
    FileExistsError. Other OSErrors propagate for the caller to word; the directory must exist.
    """
    tmp = _temp_name(path)
    fd = _open_new(tmp)
    try:
        try:
            _write_all(fd, data)
            posix.fsync(fd)
        finally:
            posix.close(fd)
        posix.link(tmp, path)
    finally:
        _unlink_quietly(tmp)
    _fsync_dir(dirname(path))


def _temp_pid(base: str, name: str) -> int | None:
    """The writer's pid of a temp file of ``base`` (``base.<pid>[.<16 hex>].tmp``), else None."""
    if not (name.startswith(base + ".") and name.endswith(".tmp")):
        return None
    middle = name[len(base) + 1:-4]
    pid, _, rand = middle.partition(".")
    if not pid.isdigit() or (rand and (len(rand) != 16 or rand.strip("0123456789abcdef"))):
        return None
    return int(pid)


def _alive(pid: int) -> bool:
    try:
        posix.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's live process
    return True


def remove_stale_temps(path: str, locked: bool = True) -> None:
    """Delete the temp files of ``path`` that writers killed mid-write left behind (they may hold a
    token). ``locked``: the caller holds the lock every writer of ``path`` takes, so no temp file
    is live and all go; otherwise only those whose writer process is gone."""
    directory, base = dirname(path), path[path.rfind("/") + 1:]
    try:
        names = posix.listdir(directory or ".")
    except OSError:
        return
    for name in names:
        pid = _temp_pid(base, name)
        if pid is not None and (locked or (pid != posix.getpid() and not _alive(pid))):
            _unlink_quietly(join(directory, name))


class Lock:
    """An exclusive ``flock`` on ``path`` (ours, 0600), given up with a clear error when it makes no
    progress for ``timeout`` seconds.

    ``guards``: the file the lock protects. Waiting behind a queue of parallel writers (fifty
    ``store`` calls at once, each quick, on a loaded machine) is not a hang: while ``guards`` keeps
    changing (each writer renames a new one into place) the wait goes on; only a lock under which
    nothing changed for ``timeout`` seconds reads as another gatepass hanging. Without ``guards``
    the wait is bounded by ``timeout`` outright. ``clock`` is injectable for tests. Polling backs
    off (the delay doubles up to a cap), so a queue of waiters does not take the CPU from the holder.
    """

    def __init__(self, path: str, timeout: float = LOCK_TIMEOUT, error: "type[GatepassError]" = PrivateFileError,
                 guards: str | None = None, clock: "Callable[[], float]" = time.monotonic) -> None:
        self.path, self.timeout, self.error, self.fd = path, timeout, error, -1
        self.guards, self.clock = guards, clock

    def __enter__(self) -> "Lock":
        import fcntl

        private_dir(dirname(self.path) or ".", self.error)
        try:
            flags = posix.O_RDWR | posix.O_CREAT | posix.O_NOFOLLOW | posix.O_NONBLOCK | posix.O_CLOEXEC
            self.fd = posix.open(self.path, flags, 0o600)
        except OSError as exc:
            raise self.error(f"cannot open lock {self.path} ({exc.strerror})") from None
        st = posix.fstat(self.fd)
        if st.st_mode & S_IFMT != S_IFREG or st.st_uid != posix.geteuid():
            posix.close(self.fd)  # someone else's file could be held forever by its owner
            raise self.error(f"lock {self.path} is not your own file; remove it")
        seen, deadline, delay = self._stamp(), self.clock() + self.timeout, 0.002
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                stamp = self._stamp()
                if stamp != seen:  # a writer finished: the queue moves
                    seen, deadline = stamp, self.clock() + self.timeout
                elif self.clock() > deadline:
                    posix.close(self.fd)
                    raise self.error(f"{self.path} stayed locked for {self.timeout:.0f}s; "
                                     "is another gatepass hanging?") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _stamp(self) -> tuple[int, int, int] | None:
        """What identifies the current version of ``guards`` (None: no such file, or no ``guards``)."""
        if self.guards is None:
            return None
        try:
            st = posix.stat(self.guards)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def __exit__(self, *exc: object) -> None:
        posix.close(self.fd)  # closing the descriptor releases the flock
