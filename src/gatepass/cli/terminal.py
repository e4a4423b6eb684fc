"""Text for a terminal: values gatepass did not write itself never reach it as control characters.

Stored usernames, request paths and config values are data someone else may have chosen: an
``ESC [ 2 J`` in a username stored by ``git credential approve`` would clear the screen of whoever
runs ``gatepass list``, an OSC 8 sequence would plant a link, a bidi override would reorder what
is read. ``list`` and ``explain`` pass every line through :func:`printable`, which shows such
characters escaped (``\\x1b``) rather than dropping them silently: the reader sees that something
odd is stored, and nothing is interpreted. ``--json`` output needs nothing: ``json.dumps``
escapes every non-ASCII and control character.
"""

from __future__ import annotations

# Unicode format characters that reorder or hide text (bidi embeddings, overrides and isolates,
# zero-width characters, the BOM).
_INVISIBLE = frozenset("\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                       "\u2060\u2066\u2067\u2068\u2069\ufeff")


def _unsafe(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in _INVISIBLE


def printable(text: str) -> str:
    r"""``text`` with every C0 and C1 control character, DEL and bidi/zero-width format character
    escaped (``\x1b``, ``\u202e``); printable text, tabs included, is unchanged except that a tab
    is escaped too (it would misalign the table).

    >>> printable("bot\x1b[2J\x9b31m\u202eevil")
    'bot\\x1b[2J\\x9b31m\\u202eevil'
    >>> printable("plain-user@gitlab.example")
    'plain-user@gitlab.example'
    """
    if text.isprintable() and text.isascii():
        return text
    out = []
    for char in text:
        if not _unsafe(char):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)
