"""Recording, outside any user namespace, which of the directories gatepass reads from root owns.

Inside rootless podman's or buildah's user namespace root shows as the overflow uid, like every
user the namespace does not map; ``gatepass.ownership.seen_as_root`` trusts such an owner only for a
path whose device and inode this record holds (docs/design.md, "Inside a user namespace").
``setup containers`` and ``setup docker`` write it: they run outside podman, where owners can be seen.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator, Mapping

from gatepass import files, ownership, readback
from gatepass.paths import cache_dir, config_dir, data_dir


def _places(env: Mapping[str, str]) -> list[str]:
    """The directories gatepass reads from, and the config files of every layer."""
    from gatepass.config.layers import layer_files

    places = [data_dir(env), cache_dir(env), config_dir(env)]
    places += [env[name] for name in ("XDG_RUNTIME_DIR",) if env.get(name)]
    places += [path for _, _, path in layer_files(env)]
    return places


def _ancestors(path: str) -> Iterator[str]:
    while True:
        yield path
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def root_owned(env: Mapping[str, str]) -> list[tuple[str, int, int]]:
    """(path, device, inode) of each place, and each directory above it (as written and as resolved),
    that root owns and that passes the chain check: what a user namespace may later take for root's."""
    found: dict[tuple[str, int, int], None] = {}
    for place in _places(env):
        for start in dict.fromkeys((os.path.abspath(place), os.path.realpath(place))):
            for path in _ancestors(start):
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if st.st_uid != 0 or not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                    continue
                if stat.S_ISDIR(st.st_mode) and readback.directory_problem(path):
                    continue
                found[(path, st.st_dev, st.st_ino)] = None
    return sorted(found)


def record(env: Mapping[str, str]) -> str | None:
    """Write the record (0600, in the data directory) when it changed; its path, or None inside a
    user namespace that hides root (nothing there can be seen to be root's)."""
    if ownership.root_unmapped():
        return None
    path = ownership.root_record_path(env)
    text = json.dumps({"root_owned": [list(entry) for entry in root_owned(env)]}, indent=0).encode() + b"\n"
    try:
        with open(path, "rb") as handle:
            if handle.read() == text:
                return path
    except OSError:
        pass
    files.write_atomic(path, text)
    return path


def record_quietly(env: Mapping[str, str]) -> None:
    """``record``, a failure only warned about: the wiring it follows is done."""
    from gatepass.cli.common import warn
    from gatepass.errors import GatepassError

    try:
        record(env)
    except GatepassError as exc:
        warn(f"{exc} (rootless podman and buildah need it to trust root's directories)")
