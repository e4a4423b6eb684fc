"""A fast reader for the regular TOML that Komodo-style files are made of; tomli reads everything else.

A fleet file of 10,000 ``[[git_provider]]`` tables cost tomli (compiled) a third of a cold ``get``,
plus ~20 ms importing it with ``re``, ``datetime`` and ``enum`` (#14). Such files use a small,
line-shaped part of TOML, read here with string methods only: one header per line (``[name]``,
``[[name]]``, bare names), ``key = value`` lines (bare or dotted keys), and arrays whose items
span lines. Values: basic strings without escapes, literal strings, decimal integers (at most 18
digits, no underscores), ``true`` and ``false``, arrays of values, and one-line inline tables with
bare keys. A line whose strings are all basic ones is read through its shape (the line with
its strings emptied), parsed once per file: a fleet's account lines share a handful (``_shape``).

:func:`loads` gives exactly the tree ``tomli.loads`` gives, or ``None`` for any text it does not
fully recognise: a carriage return, a backslash or a control character anywhere, floats, dates,
quoted keys, multi-line strings, a duplicate key, a redefined table, anything else. The caller then
parses with tomli, which also words every error (tests/unit/test_toml_subset.py compares the two on
generated and mutated files and on the fixtures). Refusing a file here never means it is wrong.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    Builder = Callable[[Iterator[str]], Any]

# Bytes TOML never allows outside strings and comments, nor inside them unescaped (tab aside);
# a backslash starts an escape, which this reader leaves to tomli.
_REFUSED = bytes([*range(0x00, 0x09), *range(0x0A + 1, 0x20), 0x7F, ord("\\")])
_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")
_BLANK = " \t"
_USUAL = frozenset({"domain", "accounts", "https", "organizations", "username", "token"})  # bare: no check


class _NotInSubset(Exception):
    """The text is outside the subset (or is not valid TOML): tomli decides."""


def refused(data: bytes) -> bool:
    """Whether the raw file holds a byte the subset never reads (then :func:`loads` would give None)."""
    return len(data.translate(None, _REFUSED)) != len(data)


def loads(text: str) -> "dict[str, Any] | None":
    """The tree ``tomli.loads(text)`` gives, or ``None`` when ``text`` is not in the subset."""
    if refused(text.encode("utf-8")):
        return None
    return loads_checked(text)


def loads_checked(text: str) -> "dict[str, Any] | None":
    """:func:`loads` for a text whose bytes :func:`refused` passed (the caller had them at hand)."""
    try:
        return _Reader().read(text)
    except (_NotInSubset, IndexError):  # IndexError: a line ended where a value had to go on
        return None


_CHUNK = 1 << 20


def _lines(text: str) -> "Iterator[str]":
    """``text.split("\\n")`` about a MiB at a time (the trailing empty line aside): a whole list of a
    100,000-table file's lines held 27 MiB beside the tree (#14: peak RSS)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start + _CHUNK)
        if end < 0:
            end = size
        yield from text[start:end].split("\n")
        start = end + 1


def _bare(key: str) -> str:
    if not key or not _BARE.issuperset(key):
        raise _NotInSubset
    return key


def _end(rest: str) -> None:
    """Only blanks and a comment may be left on the line."""
    rest = rest.lstrip(_BLANK)
    if rest and rest[0] != "#":
        raise _NotInSubset


class _Reader:
    def __init__(self) -> None:
        self.root: dict[str, Any] = {}
        self.table = self.root           # where key = value lines go
        self.arrays: set[int] = set()    # id() of each [[name]] list: only those take more elements
        self.dotted: set[int] = set()    # id() of tables made by dotted keys: only those take more keys
        self.open: list[Any] | None = None   # the array whose items span lines
        self.comma = True                # the open array's last item had a comma after it
        self.shapes: dict[str, tuple[str, Builder] | None] = {}  # a line shape -> its key and builder: see read

    def read(self, text: str) -> "dict[str, Any]":
        headers: dict[str, list[Any]] = {}  # a [[header]] line seen before -> its array: fleet files repeat a few
        shapes = self.shapes
        for line in _lines(text):
            line = line.lstrip(_BLANK)
            if not line or line[0] == "#":
                continue
            if self.open is not None:
                self._items(line)
            elif line[0] == "[":
                if line in headers:
                    self.table = {}
                    headers[line].append(self.table)
                else:
                    array = self._header(line)
                    if array is not None:
                        headers[line] = array
            elif '"' in line and "'" not in line and "#" not in line:
                # Every '"' delimits a basic string (no escapes, no literal strings, no comment), so
                # the line is its shape (the strings emptied) with the strings put back: a fleet
                # file's thousands of account lines share a few shapes, each parsed once (#14).
                parts = line.split('"')
                shape = '""'.join(parts[0::2])
                if shape in shapes:
                    known = shapes[shape]
                else:
                    known = shapes[shape] = _shape(shape)
                if known is None:
                    self._assign(line)
                else:
                    key, build = known
                    if key in self.table:
                        raise _NotInSubset
                    self.table[key] = build(iter(parts[1::2]))
            else:
                self._assign(line)
        if self.open is not None:
            raise _NotInSubset
        return self.root

    def _header(self, line: str) -> "list[Any] | None":
        """Open the table ``line`` names; an ``[[array]]``'s list is returned (``read`` keeps it)."""
        if line[1] == "[":
            end = line.find("]]")
            name = _bare(line[2:end].strip(_BLANK)) if end > 0 else _bare("")
            _end(line[end + 2:])
            existing = self.root.get(name)
            if existing is None:
                existing = self.root[name] = []
                self.arrays.add(id(existing))
            elif id(existing) not in self.arrays:
                raise _NotInSubset
            self.table = {}
            existing.append(self.table)
            return existing
        end = line.find("]")
        name = _bare(line[1:end].strip(_BLANK)) if end > 0 else _bare("")
        _end(line[end + 1:])
        if name in self.root:
            raise _NotInSubset
        self.table = self.root[name] = {}
        return None

    def _assign(self, line: str) -> None:
        equals = line.find("=")
        if equals < 0:
            raise _NotInSubset
        key = line[:equals].rstrip(_BLANK)
        table = self.table
        if key in _USUAL:
            if key in table:
                raise _NotInSubset
        elif "." in key:
            *parents, key = key.split(".")
            for part in parents:
                part = _bare(part.strip(_BLANK))
                inner = table.get(part)
                if inner is None:
                    inner = table[part] = {}
                    self.dotted.add(id(inner))
                elif id(inner) not in self.dotted:
                    raise _NotInSubset  # a value, an inline table or a header's table: tomli decides
                table = inner
            key = key.strip(_BLANK)
            if _bare(key) in table:
                raise _NotInSubset
        elif _bare(key) in table:
            raise _NotInSubset
        rest = line[equals + 1:].lstrip(_BLANK)
        first = rest[0]
        if first == '"' or first == "'":  # the usual value, inline
            end = rest.find(first, 1)
            if end < 0:
                raise _NotInSubset
            table[key] = rest[1:end]
            if end + 1 < len(rest):
                _end(rest[end + 1:])
            return
        if first == "[":
            items: list[Any] = []
            table[key] = items
            after = rest[1:].lstrip(_BLANK)
            if not after or after[0] == "#":  # items on the lines below
                self.open, self.comma = items, True
                return
            end = _array(rest, 1, items)
        else:
            table[key], end = _value(rest, 0)
        _end(rest[end:])

    def _items(self, line: str) -> None:
        """A line inside an open array: items, each followed by a comma but maybe the last, or ``]``."""
        items = self.open
        at = 0
        while at < len(line) and line[at] != "#":
            if line[at] == "]":
                self.open = None
                _end(line[at + 1:])
                return
            if not self.comma:
                raise _NotInSubset  # two items without a comma between them
            value, at = _inline(line, at) if line[at] == "{" else _value(line, at)
            items.append(value)  # type: ignore[union-attr]
            while at < len(line) and line[at] in _BLANK:
                at += 1
            self.comma = at < len(line) and line[at] == ","
            if self.comma:
                at += 1
                while at < len(line) and line[at] in _BLANK:
                    at += 1


def _shape(shape: str) -> "tuple[str, Builder] | None":
    """(key, builder of the value) of a ``key = value`` line whose strings are all empty, each standing
    for the string a line of that shape holds there; None for any other line (``_assign`` reads it)."""
    equals = shape.find("=")
    key = shape[:equals].rstrip(_BLANK)
    if equals < 0 or not key or not _BARE.issuperset(key):
        return None  # dotted keys and anything odd: read in full
    rest = shape[equals + 1:].lstrip(_BLANK)
    try:
        if not rest or rest[0] == "[" and not rest[1:].lstrip(_BLANK):
            return None  # an array whose items span lines
        value, end = _value(rest, 0)
        _end(rest[end:])
    except (_NotInSubset, IndexError):
        return None
    return key, _builder(value)


def _builder(value: "Any") -> "Builder":
    """A function making ``value`` of a shape from the strings of one line, taken in order."""
    kind = value.__class__
    if kind is str:
        return next
    if kind is dict:
        parts = [(key, _builder(item)) for key, item in value.items()]
        if all(build is next for _, build in parts):  # the usual account: dict(zip()) takes one string per key
            keys = tuple(value)
            return lambda strings: dict(zip(keys, strings, strict=False))  # stops at the last key
        return lambda strings: {key: build(strings) for key, build in parts}
    if kind is list:
        builds = [_builder(item) for item in value]
        return lambda strings: [build(strings) for build in builds]
    return lambda strings: value


def _value(line: str, at: int) -> "tuple[Any, int]":
    """The value starting at ``at`` and the position after it."""
    first = line[at]
    if first == '"' or first == "'":
        end = line.find(first, at + 1)
        if end < 0:
            raise _NotInSubset
        return line[at + 1:end], end + 1
    if first == "{":
        return _inline(line, at)
    if first == "[":
        items: list[Any] = []
        return items, _array(line, at + 1, items)
    if line.startswith("true", at):
        return True, _after(line, at + 4)
    if line.startswith("false", at):
        return False, _after(line, at + 5)
    end = at + 1 if first in "+-" else at
    start = end
    while end < len(line) and line[end] in _DIGITS:
        end += 1
    digits = end - start
    if digits == 0 or digits > 18 or (digits > 1 and line[start] == "0"):
        raise _NotInSubset
    return int(line[at:end]), _after(line, end)


def _after(line: str, at: int) -> int:
    """``at``, when a scalar may end there (a blank, a comma, a closing bracket, a comment, the end)."""
    if at < len(line) and line[at] not in " \t,]}#":
        raise _NotInSubset  # "truex", "1.5", "1_000", "1979-05-27"...
    return at


def _array(line: str, at: int, items: "list[Any]") -> int:
    """Fill ``items`` from a one-line array whose ``[`` is just before ``at``; the position after ``]``."""
    while True:
        while line[at] in _BLANK:
            at += 1
        if line[at] == "]":  # [] or a trailing comma
            return at + 1
        value, at = _inline(line, at) if line[at] == "{" else _value(line, at)
        items.append(value)
        while line[at] in _BLANK:
            at += 1
        if line[at] == ",":
            at += 1
        elif line[at] == "]":
            return at + 1
        else:
            raise _NotInSubset


def _inline(line: str, at: int) -> "tuple[dict[str, Any], int]":
    """A one-line inline table at ``at`` with bare keys, no trailing comma; the position after ``}``."""
    table: dict[str, Any] = {}
    at += 1
    while line[at] in _BLANK:
        at += 1
    if line[at] == "}":
        return table, at + 1
    while True:
        equals = line.find("=", at)
        if equals < 0:
            raise _NotInSubset
        key = line[at:equals].rstrip(_BLANK)
        if key in table or key not in _USUAL and (not key or not _BARE.issuperset(key)):
            raise _NotInSubset
        at = equals + 1
        while line[at] in _BLANK:
            at += 1
        first = line[at]
        if first == '"' or first == "'":  # the usual value, inline
            end = line.find(first, at + 1)
            if end < 0:
                raise _NotInSubset
            table[key] = line[at + 1:end]
            at = end + 1
        else:
            table[key], at = _value(line, at)
        while line[at] in _BLANK:
            at += 1
        if line[at] == "}":
            return table, at + 1
        if line[at] != ",":
            raise _NotInSubset
        at += 1
        while line[at] in _BLANK:
            at += 1
