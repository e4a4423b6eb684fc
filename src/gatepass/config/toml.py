"""Reading TOML text into a tree, with errors that give a line but never the text around it."""

from __future__ import annotations

import re
import sys

from gatepass.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the pyproject requires tomli here
    import tomli as tomllib

_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)|\s*\(at end of document\)")


def parse_toml(data: bytes, path: str) -> tuple[dict, str]:  # type: ignore[type-arg]
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
