"""Whether a config layer may contribute secrets: who could have written it, and who can read it.

The rules, and why: docs/design.md "Trust boundaries". A layer that anyone but root or the effective
user can write (mode bits, a POSIX ACL, any directory above it; a user private group is no one
else's: ``gatepass.ownership.others_can_write``) contributes no secret, nor does a file holding inline
tokens that other users can read (group-readable through its owning group is fine). Judged on the
descriptor that was parsed.
"""

from __future__ import annotations

import os
import stat

from gatepass.ownership import ACL_READ, ACL_WRITE, acl_entries, acl_grants, others_can_write, unmapped_hint
from gatepass.readback import directory_problem, seen_as_root


def _chain_problem(path: str) -> str | None:
    seen = set()
    for directory in (os.path.dirname(os.path.abspath(path)), os.path.dirname(os.path.realpath(path))):
        if directory not in seen:
            seen.add(directory)
            why = directory_problem(directory)
            if why:
                return why
    return None


def layer_problem(path: str, fd: int, st: os.stat_result) -> str | None:
    """Why the layer ``path``, open as ``fd`` with ``fstat`` result ``st``, may contribute no secret,
    as one line with the fix; None when only root and the effective user can change it."""
    euid = os.geteuid()
    if st.st_uid not in (0, euid) and not seen_as_root(os.path.abspath(path), st):
        hint = unmapped_hint(st)
        if hint:  # inside rootless podman's user namespace: chown is not the fix
            return f"{path} belongs to uid {st.st_uid}{hint}"
        return f"{path} belongs to uid {st.st_uid}, who could rewrite it; run: chown {euid} {path}"
    if others_can_write(st, fd):
        if acl_grants(acl_entries(fd), ACL_WRITE):
            return f"an ACL lets other users write {path}; run: setfacl -b {path}"
        return f"{path} is writable by other users; run: chmod go-w {path}"
    why = _chain_problem(path)
    if why:
        return f"{why}, so others could replace {path}; make it belong to root or you, not writable by others"
    try:
        same = os.stat(os.path.realpath(path))
    except OSError:
        same = None
    if same is None or (same.st_dev, same.st_ino) != (st.st_dev, st.st_ino):
        return f"{path} changed while it was read; run the command again"
    return None


def inline_read_problem(path: str, fd: int, st: os.stat_result) -> str | None:
    """Why a layer holding inline tokens is readable by other users, with the fix; else None."""
    if st.st_mode & stat.S_IROTH:
        return f"holds tokens and other users can read it; run: chmod 600 {path} (or 640 to share it with its group)"
    if acl_grants(acl_entries(fd), ACL_READ):
        return f"holds tokens and an ACL lets other users read it; run: setfacl -b {path}"
    return None
