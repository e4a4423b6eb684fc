"""Reading back gatepass's own files, and the files a config points at, only when no one else could have written them.

The contract (docs/design.md "Trust boundaries"): what gatepass reads back from its own files
(parse cache, ttl cache, index...) is trusted only when it is a regular file owned by the
effective user, not writable by group or others, in a directory chain that no other user can
write (ssh's StrictModes: every directory up to ``/`` belongs to root or to the effective user
and is not group/other-writable, unless sticky like ``/tmp``, or group-writable only through the
owner's user private group, as Debian's OpenSSH allows; ``ownership``). Anything else is ignored
(the caller rebuilds it). Root running with a user's XDG directories (``sudo -E``) thus trusts
none of that user's files: they, or a directory above them, belong to the user.

This is the warm path's half of gatepass's file handling; creating, replacing, locking and
sweeping (the cold path) is ``files``.
"""

import posix

from gatepass.errors import GatepassError, PrivateFileError
from gatepass.ownership import (
    ACL_READ,
    OTHERS_WRITE,
    S_IFDIR,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    S_ISVTX,
    acl_entries,
    acl_grants,
    file_problem,
    others_can_write,
    read_fd,
    unmapped_hint,
)
from gatepass.ownership import seen_as_root as _seen_as_root
from gatepass.paths import absolute, dirname

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

# What this process ignored (one line each, with why), for ``doctor``: by the time it looks, the
# file has been rebuilt.
IGNORED: list[str] = []


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
        if not st.st_mode & S_ISVTX and st.st_mode & OTHERS_WRITE:  # its group is unmapped too: not judged private
            return f"{path} is writable by other users"
    if not st.st_mode & S_ISVTX and others_can_write(st, path):
        return f"{path} is writable by other users"
    return None


def seen_as_root(path: str, st: "posix.stat_result") -> bool:
    """Whether ``path``, shown as owned by the overflow uid inside a user namespace, is a file or
    directory gatepass recorded root owning (``ownership.seen_as_root``)."""
    return _seen_as_root(path, st, directory_problem)


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


class UnreadableFile(Exception):
    """Why ``read_user_file`` refused a file, for its caller to word: ``rule`` is ``open``, ``type``,
    ``owner``, ``mode``, ``size`` or ``read``; ``error`` the OSError of ``open``/``read``, ``uid`` the owner,
    ``acl`` whether ``mode`` failed through an ACL entry naming another user or group."""

    def __init__(self, rule: str, error: OSError | None = None, uid: int = -1, acl: bool = False) -> None:
        super().__init__(rule)
        self.rule, self.error, self.uid, self.acl = rule, error, uid, acl

    @property
    def strerror(self) -> str:
        return (self.error.strerror or type(self.error).__name__) if self.error is not None else ""


def read_user_file(path: str, limit: int, *, private: bool = False) -> bytes:
    """The first ``limit`` bytes of a file a config points gatepass at (a token file, a private key, a
    secret_id file, the host key): opened ``O_NONBLOCK|O_NOCTTY`` (a FIFO is refused, never waited on)
    and judged on that descriptor. It must be a regular file; ``private`` ones must also belong to
    root or the effective user, give other users nothing, through mode bits or an ACL entry (group
    read is allowed: a host key shared through its owning group) and hold at most ``limit`` bytes.
    ``UnreadableFile`` names the rule that failed."""
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
        if private and acl_grants(acl_entries(fd), ACL_READ):  # the group bits are then the mask: 0640 may hide it
            raise UnreadableFile("mode", acl=True)
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
