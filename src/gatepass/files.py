"""gatepass's private files: how they are created, replaced, locked, swept, and read back.

The contract (docs/design.md "Trust boundaries"): every file gatepass writes for itself is created
``O_CREAT|O_EXCL|O_NOFOLLOW`` at 0600 under a name no one can guess, so a file someone else put there
first is never opened, in directories created 0700 whatever the umask. What gatepass reads back
from its own files (parse cache, ttl cache, index...) is trusted only when it is a regular file
owned by the effective user, not writable by group or others, in a directory chain that no other
user can write (ssh's StrictModes: every directory up to ``/`` belongs to root or to the effective
user and is not group/other-writable, unless sticky like ``/tmp``, or group-writable only through
the owner's user private group, as Debian's OpenSSH allows). Anything else is ignored (the
caller rebuilds it). Root running with a user's XDG directories (``sudo -E``) thus trusts none of
that user's files: they, or a directory above them, belong to the user.

Errors are ``PrivateFileError`` unless the caller names its own class (the store passes
``StoreUnavailableError``: a file that is not the store's must not read as a store failure).
"""

import posix
import time

from gatepass.errors import GatepassError
from gatepass.paths import absolute, dirname, join

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

LOCK_TIMEOUT = 10.0
# ``stat``'s constants: the warm path imports no ``os`` or ``stat`` (gatepass.paths; #14).
S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_ISVTX = 0o170000, 0o100000, 0o040000, 0o120000, 0o1000
S_IWGRP, S_IWOTH = 0o020, 0o002
_OTHERS_WRITE = S_IWGRP | S_IWOTH


class PrivateFileError(GatepassError):
    """A file or directory gatepass keeps for itself cannot be created, written or locked."""


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


def is_dir(path: str) -> bool:
    """``os.path.isdir``."""
    try:
        return posix.stat(path).st_mode & S_IFMT == S_IFDIR
    except (OSError, ValueError):
        return False


def exists(path: str) -> bool:
    """``os.path.exists``."""
    try:
        posix.stat(path)
    except (OSError, ValueError):
        return False
    return True


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
    off from 2 ms to 50 ms, so a queue of waiters does not take the CPU from the holder.
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


# -- reading back ------------------------------------------------------------------------------


def _ancestors(path: str) -> "Iterator[str]":
    while True:
        yield path
        parent = dirname(path)
        if parent == path:
            return
        path = parent


def _dir_problem(path: str, st: "posix.stat_result", euid: int) -> str | None:
    if st.st_uid not in (0, euid):
        if not seen_as_root(path, st):
            return f"{path} belongs to uid {st.st_uid}{unmapped_hint(st)}"
        if not st.st_mode & S_ISVTX and st.st_mode & _OTHERS_WRITE:  # its group is unmapped too: not judged private
            return f"{path} is writable by other users"
    if not st.st_mode & S_ISVTX and others_can_write(st, path):
        return f"{path} is writable by other users"
    return None


# -- root's directories seen from a user namespace that does not map root ------------------------
# Rootless podman and buildah run the credential helper in such a namespace: there root's
# directories (``/``, ``/home``) show as the overflow uid, exactly as any other unmapped user's do.
# Such an owner is trusted only for a directory (or system config file) whose path, device and
# inode gatepass recorded outside the namespace, where it saw root own it (docs/design.md, "Inside a
# user namespace"). The record is the user's own file, believed only when the directories above it
# pass this same check against it.

ROOT_RECORD_NAME = "root-owned"
MAX_RECORD_BYTES = 1024 * 1024
_UNMAPPED: list[bool] = []
_OVERFLOW: list[int] = []
_RECORD: "list[frozenset[tuple[str, int, int]]]" = []


def _proc_text(path: str) -> str:
    try:
        fd = posix.open(path, posix.O_RDONLY | posix.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return read_fd(fd, 65536).decode("ascii", "replace")
    except OSError:
        return ""
    finally:
        posix.close(fd)


def root_unmapped() -> bool:
    """Whether this process runs in a user namespace that maps no id to root outside it (a
    missing or unreadable ``/proc`` reads as no: unmapped owners are then refused, never trusted)."""
    if not _UNMAPPED:
        ranges = [line.split() for line in _proc_text("/proc/self/uid_map").splitlines()]
        mapped = [r for r in ranges if len(r) == 3 and r[1].isdigit() and r[2].isdigit()]
        _UNMAPPED.append(bool(mapped) and not any(int(r[1]) == 0 and int(r[2]) > 0 for r in mapped))
    return _UNMAPPED[0]


def overflow_uid() -> int:
    """The uid the kernel shows for an owner the namespace does not map (``/proc/sys/kernel/overflowuid``)."""
    if not _OVERFLOW:
        text = _proc_text("/proc/sys/kernel/overflowuid").strip()
        _OVERFLOW.append(int(text) if text.isdigit() else 65534)
    return _OVERFLOW[0]


def root_record_path(env: "Mapping[str, str] | None" = None) -> str:
    """Where the record of root's directories is kept: ``$XDG_DATA_HOME/gatepass/root-owned``."""
    import os

    from gatepass.paths import data_dir

    return join(absolute(data_dir(os.environ if env is None else env)), ROOT_RECORD_NAME)


def _recorded() -> "frozenset[tuple[str, int, int]]":
    if not _RECORD:
        _RECORD.append(frozenset())  # while the record's own directories are judged, nothing is on its word
        path = root_record_path()
        tentative = read_record(path)
        if tentative:
            _RECORD[0] = tentative
            if directory_problem(dirname(path)):
                _RECORD[0] = frozenset()
    return _RECORD[0]


def read_record(path: str) -> "frozenset[tuple[str, int, int]]":
    """The (path, device, inode) entries of the record at ``path``, if it is our own file; else empty."""
    import json

    opened, _ = _open_file(path, MAX_RECORD_BYTES)
    if opened is None:
        return frozenset()
    fd, _ = opened
    try:
        entries = json.loads(read_fd(fd, MAX_RECORD_BYTES + 1))["root_owned"]
        return frozenset((str(p), int(d), int(i)) for p, d, i in entries)
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()
    finally:
        posix.close(fd)


def seen_as_root(path: str, st: "posix.stat_result") -> bool:
    """Whether ``path`` (status ``st``, shown as owned by the overflow uid) is one gatepass saw root
    own outside this user namespace: same path, device and inode as recorded. Only root can change
    the owner of root's inode, and another user cannot put a directory of theirs at a recorded path
    without also getting the recorded inode."""
    if st.st_uid != overflow_uid() or not root_unmapped():
        return False
    return (path, st.st_dev, st.st_ino) in _recorded()


def unmapped_hint(st: "posix.stat_result") -> str:
    """What an owner shown as the overflow uid means, where it may be root's; else ''."""
    if st.st_uid != overflow_uid() or not root_unmapped():
        return ""
    return (" (rootless podman's or buildah's user namespace shows root, and any user it does not map, so, and "
            "gatepass has no record of root owning it; run gatepass setup containers outside them)")


def others_can_write(st: "posix.stat_result", target: "str | int") -> bool:
    """Whether the mode bits of ``target`` (a path, never followed, or a descriptor) with status ``st``
    let anyone but its owner write: a group or other write bit, unless the group's is its owner's
    private group (``group_write_is_private``)."""
    writable = st.st_mode & _OTHERS_WRITE
    return bool(writable) and not (writable == S_IWGRP and group_write_is_private(st, target))


_PRIVATE_GROUPS: dict[tuple[int, int], bool] = {}


def group_write_is_private(st: "posix.stat_result", target: "str | int") -> bool:
    """Whether the group write bit of ``target`` (a path, never followed, or a descriptor) with status
    ``st`` lets no one but its owner write: its group is a user private group (exactly one member,
    the owner, counted by primary group over every passwd entry and by the group's member list) and
    no POSIX ACL stands behind the group bits (they are then the ACL mask, and a named entry could
    grant another user). Debian and Ubuntu give each user such a group and a umask of 002, so
    ``~/.cache`` and ``~/.config`` are often 0775 there; OpenSSH's StrictModes accepts them on Debian
    for the same reason. Only consulted when a group write bit is set: then ``pwd`` and ``grp`` load."""
    key = (st.st_gid, st.st_uid)
    if key not in _PRIVATE_GROUPS:
        _PRIVATE_GROUPS[key] = _sole_member(st.st_gid, st.st_uid)
    if not _PRIVATE_GROUPS[key]:
        return False
    try:
        posix.getxattr(target, "system.posix_acl_access", follow_symlinks=not isinstance(target, str))
    except OSError:  # ENODATA: no ACL; ENOTSUP: a filesystem without them
        return True
    return False


def _sole_member(gid: int, uid: int) -> bool:
    import grp
    import pwd

    try:
        group, owner = grp.getgrgid(gid), pwd.getpwuid(uid)
    except KeyError:
        return False
    members = {entry.pw_uid for entry in pwd.getpwall() if entry.pw_gid == gid}
    if group.gr_mem:
        members.add(-1 if group.gr_mem != [owner.pw_name] else uid)
    return members == {uid}


def directory_problem(directory: str) -> str | None:
    """Why another user could change what ``directory`` holds, or None when no one but the effective
    user and root can: each directory up to ``/`` must belong to one of them and not be group- or
    world-writable (ACL grants show as group bits), unless it is sticky (``/tmp``) or writable by
    group only through the owner's private group (``group_write_is_private``). A symlinked
    directory (``~/.cache`` pointing elsewhere) is judged by where it points as well: the link
    itself sits in a directory of the chain, the target's directories are checked too."""
    euid = posix.geteuid()
    linked = False
    for path in _ancestors(absolute(directory)):  # lstat: no realpath on the common, link-free path
        try:
            st = posix.lstat(path)
        except FileNotFoundError:
            continue  # nothing there yet: nothing to read from it either
        except OSError as exc:
            return f"{path} cannot be checked ({exc.strerror})"
        if st.st_mode & S_IFMT == S_IFLNK:
            linked = True
            continue
        why = _dir_problem(path, st, euid)
        if why:
            return why
    if linked:
        import os.path

        for path in _ancestors(os.path.realpath(directory)):
            try:
                st = posix.stat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                return f"{path} cannot be checked ({exc.strerror})"
            why = _dir_problem(path, st, euid)
            if why:
                return why
    return None


def file_problem(st: "posix.stat_result", max_bytes: int) -> str | None:
    """Why a file with status ``st`` is not one of ours to trust, or None."""
    if st.st_mode & S_IFMT != S_IFREG:
        return "is not a regular file"
    if st.st_uid != posix.geteuid():
        return f"belongs to uid {st.st_uid}, not to you"
    if st.st_mode & _OTHERS_WRITE:
        return "is writable by other users"
    if st.st_size > max_bytes:
        return f"is larger than {max_bytes} bytes"
    return None


# What this process ignored (one line each, with why), for ``doctor``: by the time it looks, the
# file has been rebuilt.
IGNORED: list[str] = []


def open_trusted(path: str, max_bytes: int) -> "tuple[int, posix.stat_result] | None":
    """A read descriptor and its ``fstat`` for one of our own files, or None (missing or not to be
    trusted: the caller rebuilds it). Opened ``O_NOFOLLOW|O_NONBLOCK`` (a symlink or FIFO never
    blocks or redirects the read) and judged on the descriptor, not the path."""
    opened, why = _open_checked(path, max_bytes)
    if why and why not in IGNORED:
        IGNORED.append(why)
    return opened


def trust_problem(path: str, max_bytes: int) -> str | None:
    """Why ``path`` would be ignored by ``open_trusted`` (for ``doctor``); None when it is trusted or missing."""
    opened, why = _open_checked(path, max_bytes)
    if opened is not None:
        posix.close(opened[0])
    return why


def _open_checked(path: str, max_bytes: int) -> "tuple[tuple[int, posix.stat_result] | None, str | None]":
    why = directory_problem(dirname(absolute(path)))
    if why:
        return None, why
    return _open_file(path, max_bytes)


def _open_file(path: str, max_bytes: int) -> "tuple[tuple[int, posix.stat_result] | None, str | None]":
    try:
        fd = posix.open(path, posix.O_RDONLY | posix.O_NOFOLLOW | posix.O_NONBLOCK | posix.O_NOCTTY | posix.O_CLOEXEC)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{path} cannot be opened ({exc.strerror})"
    try:
        st = posix.fstat(fd)
    except OSError as exc:
        posix.close(fd)
        return None, f"{path} cannot be checked ({exc.strerror})"
    why = file_problem(st, max_bytes)
    if why:
        posix.close(fd)
        return None, f"{path} {why}"
    return (fd, st), None


def read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd``, to its end (``os.read`` may return less than asked); OSError propagates."""
    chunks, left = [], limit
    while left > 0:
        chunk = posix.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class UnreadableFile(Exception):
    """Why ``read_user_file`` refused a file, for its caller to word: ``rule`` is ``open``, ``type``,
    ``owner``, ``mode``, ``size`` or ``read``; ``error`` the OSError of ``open``/``read``, ``uid`` the owner."""

    def __init__(self, rule: str, error: OSError | None = None, uid: int = -1) -> None:
        super().__init__(rule)
        self.rule, self.error, self.uid = rule, error, uid

    @property
    def strerror(self) -> str:
        return (self.error.strerror or type(self.error).__name__) if self.error is not None else ""


def read_user_file(path: str, limit: int, *, private: bool = False) -> bytes:
    """The first ``limit`` bytes of a file a config points gatepass at (a token file, a private key, a
    secret_id file, the host key): opened ``O_NONBLOCK|O_NOCTTY`` (a FIFO is refused, never waited on)
    and judged on that descriptor. It must be a regular file; ``private`` ones must also belong to
    root or the effective user, give other users nothing (group read is allowed: a host key shared
    through a group) and hold at most ``limit`` bytes. ``UnreadableFile`` names the rule that failed."""
    try:
        fd = posix.open(path, posix.O_RDONLY | posix.O_NONBLOCK | posix.O_NOCTTY | posix.O_CLOEXEC)
    except OSError as exc:
        raise UnreadableFile("open", exc) from None
    try:
        st = posix.fstat(fd)
        if st.st_mode & S_IFMT != S_IFREG:
            raise UnreadableFile("type")
        if private and st.st_uid not in (0, posix.geteuid()):
            raise UnreadableFile("owner", uid=st.st_uid)
        if private and st.st_mode & 0o027:
            raise UnreadableFile("mode")
        if private and st.st_size > limit:
            raise UnreadableFile("size")
        return read_fd(fd, limit)
    except OSError as exc:
        raise UnreadableFile("read", exc) from None
    finally:
        posix.close(fd)


def read_trusted(path: str, max_bytes: int) -> bytes | None:
    """The whole content of one of our own files (see ``open_trusted``), or None."""
    opened = open_trusted(path, max_bytes)
    if opened is None:
        return None
    fd, st = opened
    try:
        data = read_fd(fd, min(st.st_size, max_bytes) + 1)
    except OSError:
        return None
    finally:
        posix.close(fd)
    return data if len(data) <= max_bytes else None


def read_private(path: str, max_bytes: int, error: "type[GatepassError]" = PrivateFileError) -> bytes | None:
    """The content of one of our own files that is never silently rebuilt (the store's index and
    encrypted file, the machine key): None when it does not exist; ``error`` naming the problem when
    it is not what ``open_trusted`` trusts (a FIFO, a symlink, another user's file, one others can
    write or in a directory they can write, one over ``max_bytes``). Never blocks on a FIFO."""
    opened, why = _open_checked(path, max_bytes)
    if why:
        raise error(f"{why}: not used; move it aside, or make it and its directories yours and not writable by others")
    if opened is None:
        return None
    fd, _ = opened
    try:
        data = read_fd(fd, max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read {path} ({exc.strerror})") from None
    finally:
        posix.close(fd)
    if len(data) > max_bytes:
        raise error(f"{path} grew past {max_bytes} bytes while it was read; try again")
    return data
