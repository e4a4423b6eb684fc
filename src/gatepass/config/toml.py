"""Reading TOML text into a tree, with errors that give a line but never the text around it.

The parser is tomli when installed (a dependency): its compiled wheel parsed the same trees 2.1-3.6x
faster than the standard library's tomllib, which is tomli's pure-Python copy and the fallback (#14;
tests/unit/test_config.py compares both on the fixtures).
"""

from __future__ import annotations

import re

from gatepass.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency; a distro package may leave it out
    import tomllib  # type: ignore[no-redef]

_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)|\s*\(at end of document\)")


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
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _AT.search(message)
        at_line: int | None = int(match.group(1)) if match and match.group(1) else None
        reason = _AT.sub("", message).strip() or "invalid TOML"
        raise ConfigError(f"TOML syntax error: {reason}", path=path, line=at_line) from None
