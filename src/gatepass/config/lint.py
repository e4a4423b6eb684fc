"""Warnings for config mistakes that are not errors: what ``config check`` and ``doctor`` add to the schema.

A Komodo config has many top-level keys gatepass ignores, so an unknown table is no error; but a
name one or two letters away from a table gatepass reads (``[[git_providers]]``,
``[[docker_registy]]``) is almost surely a typo that silently drops every account in it. A
provider without ``domain`` is valid (Komodo's default: github.com for git, docker.io for
docker) but easy to miss, so it is said once. Each warning names file and line, never a value.
"""

from __future__ import annotations

import difflib
import os

from gatepass.config.schema import DOCKER_TABLES, GIT_TABLES
from gatepass.config.toml import parse_toml
from gatepass.errors import ConfigError
from gatepass.hosts import DOCKER_HUB
from gatepass.linemap import LineMap

KNOWN = (*GIT_TABLES, *DOCKER_TABLES, "store", "vault")
DEFAULT_DOMAIN = {**{t: "github.com" for t in GIT_TABLES}, **{t: DOCKER_HUB for t in DOCKER_TABLES}}


def near_miss(name: str) -> str | None:
    """The known table ``name`` is probably a typo of, if any.

    >>> near_miss("git_providers"), near_miss("docker_registy"), near_miss("Git_Provider"), near_miss("core")
    ('git_provider', 'docker_registry', 'git_provider', None)
    """
    if name in KNOWN:
        return None
    close = difflib.get_close_matches(name.lower().replace("-", "_"), KNOWN, n=1, cutoff=0.8)
    return close[0] if close and close[0] != name else None


def file_lint(path: str) -> tuple[list[str], list[str]]:
    """(warnings, notes) for one config file; nothing when it cannot be read or parsed (config check reports that)."""
    try:
        with open(path, "rb") as handle:
            tree, text = parse_toml(handle.read(), path)
    except (OSError, ConfigError):
        return [], []
    lines = LineMap(text)
    out: list[str] = []
    notes: list[str] = []
    for name, value in tree.items():
        known = near_miss(name)
        if known is not None:
            out.append(f"{where(path, lines, name, 0)}: [[{name}]] is not a table gatepass reads (it is ignored, "
                       f"with any accounts in it); did you mean [[{known}]]?")
        if name in DEFAULT_DOMAIN and isinstance(value, list):
            for index, provider in enumerate(value):
                if isinstance(provider, dict) and "domain" not in provider:
                    notes.append(f"{where(path, lines, name, index)}: [[{name}]] has no domain, so it is "
                               f"{DEFAULT_DOMAIN[name]} (Komodo's default); write domain = \"{DEFAULT_DOMAIN[name]}\" "
                               "to say so, or the domain you meant")
    return out, notes


def where(path: str, lines: LineMap, table: str, index: int) -> str:
    line = lines.table(table, index)
    return f"{path}:{line}" if line else path


def lint(paths: list[str]) -> tuple[list[str], list[str]]:
    """(warnings: probable mistakes, notes: defaults applied) for the files in ``paths``."""
    warnings: list[str] = []
    notes: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            more, said = file_lint(path)
            warnings += more
            notes += said
    return warnings, notes
