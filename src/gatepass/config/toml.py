"""Reading TOML text into a tree: tomli only, with its own words and the file:line of the error.

One parser decides what a file says (docs/design.md §1): the tree gatepass validates is the one
every other TOML reader of the same file (Komodo's included) sees. The parse cache, not the parser,
keeps a warm ``get`` fast.
"""

from __future__ import annotations

from gatepass.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def parse_toml(data: bytes, path: str) -> tuple[dict[str, Any], str]:
    """(tree, text) of a file's bytes; ``ConfigError`` naming the file and line when TOML refuses it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("is not UTF-8 text", path=path, line=line) from None
    del data  # not held beside the tree
    return _loads(text, path), text


def _loads(text: str, path: str) -> dict[str, Any]:
    try:
        import tomli as tomllib
    except ImportError:  # pragma: no cover - tomli is a dependency; a distro package may leave it out
        import tomllib  # type: ignore[no-redef]

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason, line = _reason(exc)
        if text.startswith("\ufeff") and line == 1:  # invisible in an editor: say what tomli tripped on
            reason += " (the file starts with a byte order mark; save it as UTF-8 without one)"
        raise ConfigError(f"TOML syntax error: {reason}", path=path, line=line) from None


def _reason(exc: ValueError) -> tuple[str, int | None]:
    """(tomli's message without its position, the line) of a decode error; never a value of the file.

    tomli >= 2.1 gives ``msg`` and ``lineno``; the standard library's tomllib before 3.14 only the
    text, "... (at line L, column C)" or "... (at end of document)"."""
    msg, line = getattr(exc, "msg", None), getattr(exc, "lineno", None)
    if isinstance(msg, str) and isinstance(line, int):
        return msg or "invalid TOML", line
    import re

    message = str(exc)
    match = re.search(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)", message)
    at_line = int(match.group(1)) if match and match.group(1) else None
    reason = message[:match.start()] if match else message
    return reason.strip() or "invalid TOML", at_line
