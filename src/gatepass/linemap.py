"""Line numbers for provider tables, accounts and keys, which the TOML parser does not report.

A light scan of the raw text: good enough to point a person at the right line, never used to
decide what a file means (the parser does that). Lazy, because most parses report nothing: the
scan runs on the first error of a file, and an account's own line only when something shows it
(``Account.line_number``: explain, list, an unreadable secret): scanning every file on every cold
parse would cost time and memory in proportion to the file for lines nobody looks at.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

_HEADER = r"^\s*\[\[?\s*([A-Za-z0-9_\-\.\"' ]+?)\s*\]\]?\s*(#.*)?$"


class LineMap:
    """Where each ``[[name]]`` table starts and ends, and where keys sit inside it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: list[str] = []
        self.spans: dict[tuple[str, int], tuple[int, int]] = {}
        self._memo: dict[tuple[str, int, str], list[int]] = {}
        self._scanned = False

    def _scan(self) -> None:
        import re  # here, not above: a cold parse that reports nothing needs no re

        header = re.compile(_HEADER)
        self._scanned = True
        self.lines = self.text.split("\n")  # split on \n only; a stray \r stays in the line
        counts: dict[str, int] = {}
        current: tuple[str, int] | None = None
        for number, line in enumerate(self.lines, 1):
            match = header.match(line)
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
        if not self._scanned:
            self._scan()
        return self.spans.get((name, index), (0, 0))[0]

    def key(self, name: str, index: int, key: str, occurrence: int = 0) -> int:
        """Line of the ``occurrence``-th ``key =`` inside that table (its header if not seen)."""
        if not self._scanned:
            self._scan()
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
                import re

                pattern = _PATTERNS[key] = re.compile(r"(^|[{,\s])" + re.escape(key) + r"\s*=")
            memo = []
            for number in range(first, last + 1 if first else 0):
                memo += [number] * len(pattern.findall(self.lines[number - 1]))
            self._memo[(name, index, key)] = memo
        return memo


_PATTERNS: dict[str, re.Pattern[str]] = {}


_FILES: dict[str, LineMap] = {}


def account_line(path: str, table: str, index: int, position: int) -> int:
    """The line of the ``position``-th account's ``username`` in ``path``'s ``index``-th ``[[table]]``.

    Read again when asked (0 when the file is gone or no longer a regular file: a line is for
    people, never for deciding anything); one scan per file per process.
    """
    lines = _FILES.get(path)
    if lines is None:
        import os  # here: every cold parse imports this module, few show a line
        import stat

        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO put there must not hang us
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    return 0
                with os.fdopen(fd, "rb", closefd=False) as handle:
                    data = handle.read(64 * 1024 * 1024)
            finally:
                os.close(fd)
        except OSError:
            return 0
        lines = _FILES[path] = LineMap(data.decode("utf-8", "replace"))
    return lines.key(table, index, "username", position)
