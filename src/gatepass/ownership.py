"""Who may have written a file: its owner, its mode bits, a private group, and root seen from a user namespace.

The ground floor of gatepass's file trust (``readback`` judges whole directory chains with it;
``files`` creates files it will pass). No ``os`` or ``stat``: the warm path loads this.

Root's directories seen from a user namespace that does not map root: rootless podman and buildah
run the credential helper in such a namespace, where root's directories (``/``, ``/home``) show as
the overflow uid, exactly as any other unmapped user's do. Such an owner is trusted only for a
directory (or system config file) whose path, device and inode gatepass recorded outside the
namespace, where it saw root own it (docs/design.md "Trust boundaries"). The record is the user's
own file, believed only when the directories above it pass the chain check against it.
"""

import posix

from gatepass.paths import absolute, dirname, join

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# ``stat``'s constants: the warm path imports no ``os`` or ``stat`` (gatepass.paths).
S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_ISVTX = 0o170000, 0o100000, 0o040000, 0o120000, 0o1000
S_IWGRP, S_IWOTH = 0o020, 0o002
OTHERS_WRITE = S_IWGRP | S_IWOTH
ROOT_RECORD_NAME = "root-owned"
MAX_RECORD_BYTES = 1024 * 1024
_UNMAPPED: list[bool] = []
_OVERFLOW: list[int] = []
_RECORD: "list[frozenset[tuple[str, int, int]]]" = []
_PRIVATE_GROUPS: dict[tuple[int, int], bool] = {}
_ACL_XATTR = "system.posix_acl_access"
_ACL_USER, _ACL_GROUP, _ACL_MASK = 0x02, 0x08, 0x10
ACL_READ, ACL_WRITE = 4, 2


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


def file_problem(st: "posix.stat_result", max_bytes: int) -> str | None:
    """Why a file with status ``st`` is not one of ours to trust, or None."""
    if st.st_mode & S_IFMT != S_IFREG:
        return "is not a regular file"
    if st.st_uid != posix.geteuid():
        return f"belongs to uid {st.st_uid}, not to you"
    if st.st_mode & OTHERS_WRITE:
        return "is writable by other users"
    if st.st_size > max_bytes:
        return f"is larger than {max_bytes} bytes"
    return None


def others_can_write(st: "posix.stat_result", target: "str | int") -> bool:
    """Whether the mode bits of ``target`` (a path, never followed, or a descriptor) with status ``st``
    let anyone but its owner write: a group or other write bit, unless the group's is its owner's
    private group (``group_write_is_private``)."""
    writable = st.st_mode & OTHERS_WRITE
    return bool(writable) and not (writable == S_IWGRP and group_write_is_private(st, target))


def group_write_is_private(st: "posix.stat_result", target: "str | int") -> bool:
    """Whether the group write bit of ``target`` (a path, never followed, or a descriptor) with status
    ``st`` lets no one but its owner write: its group is a user private group (exactly one member,
    the owner, counted over every passwd entry and every group entry with that gid) and
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
        posix.getxattr(target, _ACL_XATTR, follow_symlinks=not isinstance(target, str))
    except OSError:  # ENODATA: no ACL; ENOTSUP: a filesystem without them
        return True
    return False


def _sole_member(gid: int, uid: int) -> bool:
    """Whether ``uid`` is the only user who holds ``gid``: every passwd entry with it as primary group,
    and the members of every group entry with that gid (``groupadd -o`` makes a second name for it)."""
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(uid)
    except KeyError:
        return False
    entries = [group for group in grp.getgrall() if group.gr_gid == gid]
    if not entries:
        return False
    members = {entry.pw_uid for entry in pwd.getpwall() if entry.pw_gid == gid}
    for group in entries:
        members.update(uid if name == owner.pw_name else -1 for name in group.gr_mem)
    return members == {uid}


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


def _recorded(chain_problem: "Callable[[str], str | None]") -> "frozenset[tuple[str, int, int]]":
    if not _RECORD:
        _RECORD.append(frozenset())  # while the record's own directories are judged, nothing is on its word
        path = root_record_path()
        tentative = read_record(path)
        if tentative:
            _RECORD[0] = tentative
            if chain_problem(dirname(path)):
                _RECORD[0] = frozenset()
    return _RECORD[0]


def read_record(path: str) -> "frozenset[tuple[str, int, int]]":
    """The (path, device, inode) entries of the record at ``path``, if it is our own file; else empty."""
    import json

    try:
        fd = posix.open(path, posix.O_RDONLY | posix.O_NOFOLLOW | posix.O_NONBLOCK | posix.O_NOCTTY | posix.O_CLOEXEC)
    except OSError:
        return frozenset()
    try:
        if file_problem(posix.fstat(fd), MAX_RECORD_BYTES):
            return frozenset()
        entries = json.loads(read_fd(fd, MAX_RECORD_BYTES + 1))["root_owned"]
        return frozenset((str(p), int(d), int(i)) for p, d, i in entries)
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()
    finally:
        posix.close(fd)


def seen_as_root(path: str, st: "posix.stat_result", chain_problem: "Callable[[str], str | None]") -> bool:
    """Whether ``path`` (status ``st``, shown as owned by the overflow uid) is one gatepass saw root
    own outside this user namespace: same path, device and inode as recorded. Only root can change
    the owner of root's inode, and another user cannot put a directory of theirs at a recorded path
    without also getting the recorded inode. ``chain_problem`` judges the record's own directories."""
    if st.st_uid != overflow_uid() or not root_unmapped():
        return False
    return (path, st.st_dev, st.st_ino) in _recorded(chain_problem)


def unmapped_hint(st: "posix.stat_result") -> str:
    """What an owner shown as the overflow uid means, where it may be root's; else ''."""
    if st.st_uid != overflow_uid() or not root_unmapped():
        return ""
    return (" (rootless podman's or buildah's user namespace shows root, and any user it does not map, so, and "
            "gatepass has no record of root owning it; run gatepass setup containers outside them)")


def acl_entries(fd: int) -> list[tuple[int, int, int]]:
    """(tag, permissions, id) of the extended ACL entries of ``fd``; [] when it has none (Linux's
    ``system.posix_acl_access`` format: a version word, then 8-byte entries)."""
    import struct

    try:
        blob = posix.getxattr(fd, _ACL_XATTR)
    except OSError:  # ENODATA: no ACL; ENOTSUP: a filesystem without them
        return []
    return [struct.unpack_from("<HHI", blob, offset) for offset in range(4, len(blob) - 7, 8)]


def acl_grants(entries: list[tuple[int, int, int]], permission: int) -> bool:
    """Whether a named user or group entry grants ``permission`` (after the mask)."""
    mask = next((perm for tag, perm, _ in entries if tag == _ACL_MASK), 7)
    return any(tag in (_ACL_USER, _ACL_GROUP) and perm & mask & permission for tag, perm, _ in entries)
