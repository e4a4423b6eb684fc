"""containers' ``registries.conf`` (podman, buildah, skopeo): where it is and a minimal, checked edit of ``credential-helpers``.

``credential-helpers = ["gatepass"]`` makes the containers tools ask docker-credential-gatepass
for every registry, and makes their ``login`` call its ``store`` and ``logout`` its ``erase``
(containers-registries.conf(5)); without it they write base64 ``user:password`` to auth.json.

Which file (containers/image's own rules): ``$CONTAINERS_REGISTRIES_CONF`` when set; for a user,
``~/.config/containers/registries.conf`` when it exists, else a drop-in
``~/.config/containers/registries.conf.d/50-gatepass.conf``: creating the user file would hide the
system one (short names, mirrors), which containers tools then no longer read; ``--system``:
``/etc/containers/registries.conf``. The file is TOML; the edit changes one key and leaves every
other byte as the user wrote it, and is checked by parsing the result: every other key must
read the same as before, or nothing is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from gatepass.errors import ConfigError, GatepassError

KEY = "credential-helpers"
HELPER = "gatepass"
LINE = f'{KEY} = ["{HELPER}"]'
COMMENT = "# gatepass setup containers: podman, buildah and skopeo ask docker-credential-gatepass (--undo removes it)"
SYSTEM = "/etc/containers/registries.conf"
DROPIN = "50-gatepass.conf"
BACKUP_SUFFIX = ".gatepass-backup"
_KEY_LINE = re.compile(r"^\s*(credential-helpers|\"credential-helpers\"|'credential-helpers')\s*=")
_TABLE = re.compile(r"^\s*\[")


def config_path(env: Mapping[str, str], system: bool) -> str:
    """The file setup edits, by the rules in this module's docstring."""
    if env.get("CONTAINERS_REGISTRIES_CONF"):
        return env["CONTAINERS_REGISTRIES_CONF"]
    if system:
        return SYSTEM
    base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".config", "containers")
    main = os.path.join(base, "registries.conf")
    return main if os.path.exists(main) else os.path.join(base, "registries.conf.d", DROPIN)


def parse(text: str, path: str) -> dict[str, object]:
    from gatepass.config.toml import parse_toml

    try:
        tree, _ = parse_toml(text.encode("utf-8"), path)
    except ConfigError as exc:
        raise GatepassError(f"{exc}; fix it first, nothing was changed") from None
    return tree


def helpers(text: str, path: str) -> list[str] | None:
    value = parse(text, path).get(KEY)
    return [str(v) for v in value] if isinstance(value, list) else None


def _key_span(lines: list[str]) -> tuple[int, int] | None:
    """[start, end) of the top-level ``credential-helpers = [...]`` lines (a multi-line array included)."""
    for number, line in enumerate(lines):
        if _TABLE.match(line):
            return None  # keys after a table header belong to that table
        if _KEY_LINE.match(line):
            end = number
            depth = line.count("[") - line.count("]")
            while depth > 0 and end + 1 < len(lines):
                end += 1
                depth += lines[end].count("[") - lines[end].count("]")
            return number, end + 1
    return None


def with_gatepass(text: str, path: str) -> str:
    """``text`` with ``credential-helpers = ["gatepass"]`` at top level, every other line kept."""
    before = parse(text, path)
    lines = text.splitlines(keepends=True)
    span = _key_span(lines)
    if span is not None:
        lines[span[0]:span[1]] = [LINE + "\n"]
    else:
        first_table = next((i for i, line in enumerate(lines) if _TABLE.match(line)), len(lines))
        if lines and not lines[-1].endswith("\n") and first_table == len(lines):
            lines[-1] += "\n"
        lines[first_table:first_table] = [COMMENT + "\n", LINE + "\n"] + (["\n"] if first_table < len(lines) else [])
    new = "".join(lines)
    _check(before, parse(new, path), [HELPER], path)
    return new


def without_gatepass(text: str, path: str) -> str:
    """``text`` with gatepass taken out of ``credential-helpers`` (the key removed when it held only gatepass)."""
    before = parse(text, path)
    lines = text.splitlines(keepends=True)
    span = _key_span(lines)
    current = helpers(text, path)
    if span is None or current is None or HELPER not in current:
        return text
    left = [h for h in current if h != HELPER]
    start = span[0] - 1 if span[0] > 0 and lines[span[0] - 1].rstrip("\n") == COMMENT else span[0]
    end = span[1] + 1 if start < span[0] and span[1] < len(lines) and lines[span[1]] == "\n" else span[1]
    lines[start:end] = [f"{KEY} = [{', '.join(repr_toml(h) for h in left)}]\n"] if left else []
    new = "".join(lines)
    _check(before, parse(new, path), left or None, path)
    return new


def repr_toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(before: dict[str, object], after: dict[str, object], wanted: list[str] | None, path: str) -> None:
    rest_before = {k: v for k, v in before.items() if k != KEY}
    rest_after = {k: v for k, v in after.items() if k != KEY}
    if rest_before != rest_after or after.get(KEY) != wanted:
        raise GatepassError(f"{path}: could not change {KEY} without touching anything else; "
                            f"set {LINE} at its top level yourself (nothing was changed)")
