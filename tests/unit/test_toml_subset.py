"""config.toml_subset against tomli: the same tree, or None (then tomli parses and words the errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gatepass.config import toml_subset

FIXTURES = sorted(Path(__file__).parents[1].joinpath("fixtures").rglob("*.toml"))


def subset(text: str):
    return toml_subset.loads(text)


def tomli_or_none(text: str):
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError:
        return None


def agrees(text: str):
    """The subset's tree is tomli's whenever it gives one, and it never gives one for invalid TOML."""
    mine = subset(text)
    if mine is not None:
        assert tomli_or_none(text) == mine, text
    return mine


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_read_the_same(path):
    text = path.read_text()
    mine = agrees(text)
    if path.name.startswith("komodo_"):
        assert mine is not None  # Komodo's own shapes (dotted keys, multi-line arrays, comments) are in the subset


# --- generated documents in the subset ---------------------------------------------------------------

BARE = st.text("abcXYZ019_-", min_size=1, max_size=6)
# Any character a string may hold unescaped, the other quote and TOML's punctuation included.
CHARS = st.characters(blacklist_characters="\\\r\n\x7f", blacklist_categories=("Cs",), min_codepoint=9)
CHARS = CHARS.filter(lambda c: c == "\t" or ord(c) >= 0x20)
BLANK = st.sampled_from(["", " ", "  ", "\t"])
COMMENT = st.sampled_from(["", " # note", "\t#", " # x = [1, {", "# ]]"])


@st.composite
def string(draw):
    quote = draw(st.sampled_from(['"', "'"]))
    body = draw(st.text(CHARS.filter(lambda c: c != quote), max_size=8))
    return f"{quote}{body}{quote}"


SCALAR = st.one_of(string(), st.sampled_from(["true", "false", "0", "-0", "+7", "42", "-123456789012345678"]))


@st.composite
def inline(draw, depth=0):
    keys = draw(st.lists(BARE, unique=True, max_size=4))
    values = [draw(SCALAR if depth else st.one_of(SCALAR, array(depth=1))) for _ in keys]
    sep = draw(BLANK)
    pairs = f",{sep}".join(f"{k}{draw(BLANK)}={draw(BLANK)}{v}" for k, v in zip(keys, values, strict=True))
    return "{" + sep + pairs + sep + "}"


@st.composite
def array(draw, depth=0):
    items = draw(st.lists(SCALAR if depth else st.one_of(SCALAR, inline(depth=1), array(depth=1)), max_size=4))
    sep = draw(BLANK)
    trailing = "," if items and draw(st.booleans()) else ""
    return "[" + sep + f",{sep}".join(items) + trailing + sep + "]"


@st.composite
def value_lines(draw):
    """A value on one line, or an array whose items span lines (with comments and blank lines)."""
    if draw(st.booleans()):
        return [draw(st.one_of(SCALAR, array(), inline()))]
    items = draw(st.lists(st.one_of(SCALAR, inline(), array(depth=1)), max_size=4))
    lines = ["[" + draw(COMMENT)]
    for index, item in enumerate(items):
        comma = "," if index < len(items) - 1 or draw(st.booleans()) else ""
        lines.append(draw(BLANK) + item + comma + draw(COMMENT))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "  # between", "\t"])))
    lines.append(draw(BLANK) + "]" + draw(COMMENT))
    return lines


@st.composite
def pairs(draw, dotted):
    lines = []
    keys = draw(st.lists(BARE, unique=True, max_size=4))
    for key in keys:
        if dotted and draw(st.booleans()):
            key = f"{key}{draw(BLANK)}.{draw(BLANK)}{draw(BARE)}"  # a fresh table per dotted key: never clashes
        first, *rest = draw(value_lines())
        lines.append(f"{draw(BLANK)}{key}{draw(BLANK)}={draw(BLANK)}{first}" + ("" if rest else draw(COMMENT)))
        lines += rest
    return lines


@st.composite
def document(draw):
    lines = draw(pairs(dotted=True))
    names = draw(st.lists(st.sampled_from(["git_provider", "docker_registry", "image_registry", "x-y"]), max_size=4))
    tables = draw(st.lists(st.text("stv", min_size=1, max_size=3), unique=True, max_size=2))
    for name in names:
        lines.append(f"{draw(BLANK)}[[{draw(BLANK)}{name}{draw(BLANK)}]]{draw(COMMENT)}")
        lines += draw(pairs(dotted=False))
    for name in tables:
        lines.append(f"[{name}]{draw(COMMENT)}")
        lines += draw(pairs(dotted=False))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=300)
@given(document())
def test_generated_documents_read_exactly_as_tomli_reads_them(text):
    assert tomli.loads(text) == subset(text), text


MUTATIONS = st.sampled_from(list("\"'[]{}=,.#\n\t \\\r\x00\x7f1a-+_") + ["true", "1.5", '"""', "'''", "[[", "]]"])


@settings(max_examples=700)
@given(document(), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 2), MUTATIONS), min_size=1, max_size=3))
def test_mutated_documents_are_read_as_tomli_reads_them_or_left_to_it(text, edits):
    for where, how, piece in edits:
        at = int(where * len(text))
        text = {0: text[:at] + piece + text[at:], 1: text[:at] + text[at + 1:],
                2: text[:at] + piece + text[at + 1:]}[how]
    agrees(text)


@pytest.mark.parametrize("text", [
    "a = 1\na = 2\n", "[t]\n[t]\n", "a = 1\n[a]\n", "[[a]]\n[a]\n", "[a]\n[[a]]\n", "a = [{x = 1}]\n[[a]]\n",
    "a.b = 1\n[a]\n", "a = {x = 1}\na.y = 2\n", "a.b = 1\na = 2\n", "a = [\n1\n2\n]\n", "a = [\n1,\n", "a = 01\n",
    "a = 1.5\n", "a = 1979-05-27\n", "a = \"x\" y\n", "a = { x = 1, }\n", "a = { x = 1, x = 2 }\n",
    "\"a\" = 1\n", "a = \"\"\"x\"\"\"\n", "a = 1_000\n", "a = inf\n", "a = \"x\\ty\"\n", "a = 'x'\r\n",
    "[[a.b]]\n", "a = 1234567890123456789\n", "a = [1 2]\n", "a = [,]\n", "a =\n", "= 1\n", "a = \"x\n",
])
def test_what_the_subset_leaves_to_tomli(text):
    assert subset(text) is None


BASIC = st.text(CHARS.filter(lambda c: c != '"'), max_size=6).map(lambda body: f'"{body}"')


INLINE = st.dictionaries(st.sampled_from(["username", "token", "organizations", "k"]),
                         st.one_of(BASIC, BASIC, st.just('["o", "p"]'), st.just("true")),
                         max_size=3).map(lambda kv: "{ " + ", ".join(f"{k} = {v}" for k, v in kv.items()) + " }")


@st.composite
def fleet_line(draw):
    """A line of a fleet file: strings only basic ones (one shape for many lines), or now and then not."""
    value = draw(st.one_of(BASIC, st.lists(BASIC, max_size=3).map(lambda v: "[" + ", ".join(v) + "]"),
                           st.lists(INLINE, max_size=3).map(lambda tables: "[" + ", ".join(tables) + "]")))
    key = draw(st.sampled_from(["domain", "accounts", "https", "a.b"]))
    return f"{key} = {value}{draw(st.sampled_from(['', ' ', ' # c']))}"


@settings(max_examples=500)
@given(st.lists(st.lists(fleet_line(), max_size=3), max_size=6))
@example([['domain = "a.example"', 'accounts = [{ username = "u", token = "t" }]']] * 2
         + [['accounts = [{ username = "v=1, w", token = "{ x }" }, { username = "", token = "[y]" }]']])
def test_fleet_shaped_files_read_as_tomli_reads_them(tables):
    text = "".join("[[git_provider]]\n" + "".join(line + "\n" for line in lines) for lines in tables)
    agrees(text)
    if all(len({line.split(" =")[0] for line in lines}) == len(lines) and not any(line.startswith("a.b") for line in lines)
           for lines in tables):
        assert subset(text) is not None or tomli_or_none(text) is None
