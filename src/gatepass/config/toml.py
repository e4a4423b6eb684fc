"""Reading TOML text into a tree, with errors that give a line but never the text around it.

The regular files fleets keep (Komodo's shapes) are read by ``config.toml_subset``, without
importing a parser (#14); anything else by tomli when installed (a dependency): its compiled wheel
parsed the same trees 2.1-3.6x faster than the standard library's tomllib, which is tomli's
pure-Python copy and the fallback (#14; tests/unit/test_config.py compares both on the fixtures).
Every error comes from tomli (or tomllib): the subset reader only ever says "not mine".
"""

from __future__ import annotations

from gatepass.config import toml_subset
from gatepass.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def parse_toml(data: bytes, path: str) -> tuple[dict[str, Any], str]:
    """Decode UTF-8 and parse; ``ConfigError`` with the line on failure.

    tomllib's messages name what it expected, never a value; the position is moved into the
    error's ``file:line`` prefix.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("is not UTF-8 text", path=path, line=line) from None
    regular = not toml_subset.refused(data)
    del data  # not held beside the tree: 12 MiB of a 100,000-table file (#14: peak RSS)
    tree = toml_subset.loads_checked(text) if regular else None
    if tree is not None:
        return tree, text
    return _parse_full(text, path), text


def _parse_full(text: str, path: str) -> dict[str, Any]:
    import re

    try:
        import tomli as tomllib
    except ImportError:  # pragma: no cover - tomli is a dependency; a distro package may leave it out
        import tomllib  # type: ignore[no-redef]

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.compile(r"\s*\(at line (\d+), column (\d+)\)|\s*\(at end of document\)")
        message = str(exc)
        match = where.search(message)
        at_line: int | None = int(match.group(1)) if match and match.group(1) else None
        reason = where.sub("", message).strip() or "invalid TOML"
        raise ConfigError(f"TOML syntax error: {reason}", path=path, line=at_line) from None
