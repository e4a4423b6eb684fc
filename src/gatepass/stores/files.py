"""Safe files for the store: 0700 directories, 0600 files, atomic replace with fsync, a bounded lock."""

from __future__ import annotations

import os
import time

from gatepass.errors import StoreUnavailableError

LOCK_TIMEOUT = 10.0


def private_dir(path: str) -> None:
    """Create ``path`` and any missing parents as 0700 (the XDG Base Directory spec asks that of
    ``$XDG_DATA_HOME`` and friends; ``os.makedirs`` gives parents the umask's mode). An existing
    directory is left as its owner set it."""
    if os.path.isdir(path):
        return
    try:
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            private_dir(parent)
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreUnavailableError(f"cannot create {path} ({exc.strerror}); check its parent's owner and mode") from None


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write a temp file beside ``path`` (``mode``, 0600 unless told), fsync it, rename it over ``path``,
    fsync the directory. Any failure, Ctrl-C included, removes the temp file and leaves ``path`` whole."""
    directory = os.path.dirname(path)
    private_dir(directory)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if mode != 0o600:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise StoreUnavailableError(f"cannot write {path} ({exc.strerror}); nothing was changed") from None
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # the rename is done; a directory that cannot be fsynced (some filesystems) changes nothing


def remove_stale_temps(path: str) -> None:
    """Delete ``PATH.<pid>.tmp`` files that writers killed mid-write left behind.

    Call it only while holding the lock every writer of ``path`` takes: then no temp file is live.
    """
    directory, base = os.path.split(path)
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return
    for name in names:
        if name.startswith(base + ".") and name.endswith(".tmp") and name[len(base) + 1:-4].isdigit():
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


class Lock:
    """An exclusive ``flock`` on ``path``, given up after ``timeout`` seconds with a clear error."""

    def __init__(self, path: str, timeout: float = LOCK_TIMEOUT) -> None:
        self.path, self.timeout, self.fd = path, timeout, -1

    def __enter__(self) -> Lock:
        import fcntl

        private_dir(os.path.dirname(self.path))
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise StoreUnavailableError(f"cannot open lock {self.path} ({exc.strerror})") from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    raise StoreUnavailableError(f"{self.path} stayed locked for {self.timeout:.0f}s; "
                                                "is another gatepass hanging?") from None
                time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing the descriptor releases the flock


def create_new(path: str, data: bytes) -> None:
    """Create ``path`` (0600) holding ``data``, never replacing a file already there.

    Written to a temp file beside it, fsynced, then hard-linked into place: a crash leaves no file
    or a whole one, and of two racing creators exactly one wins; the other gets FileExistsError.
    Other OSErrors propagate for the caller to word; the directory must exist.
    """
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
