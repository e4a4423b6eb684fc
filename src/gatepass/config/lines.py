"""Line numbers for provider tables, accounts and keys, which tomllib does not report.

A light scan of the raw text: good enough to point a person at the right line, never used to
decide what a file means (tomllib does that).
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_\-\.\"' ]+?)\s*\]\]?\s*(#.*)?$")


class LineMap:
    """Where each ``[[name]]`` table starts and ends, and where keys sit inside it."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")  # split on \n only; a stray \r stays in the line
        self.spans: dict[tuple[str, int], tuple[int, int]] = {}
        self._memo: dict[tuple[str, int, str], list[int]] = {}
        counts: dict[str, int] = {}
        current: tuple[str, int] | None = None
        for number, line in enumerate(self.lines, 1):
            match = _HEADER.match(line)
            if not match:
                continue
            name = match.group(1).strip()
            if current and name.startswith(current[0] + "."):
                continue  # [[git_provider.accounts]] belongs to the provider above it
            if current:
                self.spans[current] = (self.spans[current][0], number - 1)
                current = None
            if line.lstrip().startswith("[["):
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = (name, index)
                self.spans[current] = (number, len(self.lines))

    def table(self, name: str, index: int) -> int:
        """The header line of the ``index``-th ``[[name]]`` (0 when not found)."""
        return self.spans.get((name, index), (0, 0))[0]

    def key(self, name: str, index: int, key: str, occurrence: int = 0) -> int:
        """Line of the ``occurrence``-th ``key =`` inside that table (its header if not seen)."""
        first = self.spans.get((name, index), (0, 0))[0]
        lines = self._occurrences(name, index, key)
        return lines[occurrence] if occurrence < len(lines) else first

    def _occurrences(self, name: str, index: int, key: str) -> list[int]:
        """Each line holding ``key =`` in the table, once per occurrence; computed once per table and key."""
        memo = self._memo.get((name, index, key))
        if memo is None:
            first, last = self.spans.get((name, index), (0, 0))
            pattern = _PATTERNS.get(key)
            if pattern is None:
                pattern = _PATTERNS[key] = re.compile(r"(^|[{,\s])" + re.escape(key) + r"\s*=")
            memo = []
            for number in range(first, last + 1 if first else 0):
                memo += [number] * len(pattern.findall(self.lines[number - 1]))
            self._memo[(name, index, key)] = memo
        return memo


_PATTERNS: dict[str, re.Pattern[str]] = {}
