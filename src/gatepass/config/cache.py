"""The parsed-config cache: a marshal file that lets ``get`` skip the TOML parser when nothing changed.

Keyed by the path, inode, size, mtime, mode, owner and device of every layer file (and which
drop-ins exist), plus the gatepass version. It lives in ``$XDG_CACHE_HOME/gatepass/`` (0600 in a
0700 directory, per user), so it never holds an inline token at a looser mode than the file it
came from. A cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import marshal
import os

from gatepass import __version__

FORMAT = 1
_HERE = os.path.dirname(os.path.abspath(__file__))
# The code that shapes a parse: a changed module (a development checkout, an upgrade in place)
# must not be answered from a parse the old code made.
_SHAPERS = [os.path.join(_HERE, name) for name in ("schema.py", "lines.py", "layers.py")]
_SHAPERS.append(os.path.join(os.path.dirname(_HERE), "model.py"))


def _code_stamp() -> tuple[object, ...]:
    stamp: list[object] = [FORMAT, __version__]
    for path in _SHAPERS:
        try:
            stamp.append(os.stat(path).st_mtime_ns)
        except OSError:
            stamp.append(None)
    return tuple(stamp)


def _fnv1a(text: str) -> int:
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogateescape"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def path_for(paths: list[str], env) -> str:  # type: ignore[no-untyped-def]
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gatepass", "config-%016x.marshal" % _fnv1a("\0".join(paths)))


def read(path: str, key: list) -> tuple | None:  # type: ignore[type-arg]
    try:
        with open(path, "rb") as handle:
            stored = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(stored, tuple) or len(stored) != 3 or stored[0] != _code_stamp():
        return None
    if stored[1] != [tuple(k) for k in key]:
        return None
    return stored[2]  # type: ignore[no-any-return]


def write(path: str, key: list, value: tuple) -> None:  # type: ignore[type-arg]
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            marshal.dump((_code_stamp(), [tuple(k) for k in key], value), handle)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
