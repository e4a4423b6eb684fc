"""A tiny line format for the index and the encrypted file: tab-separated, percent-escaped fields.

Chosen over JSON so the helpers' hot path imports nothing (json pulls in re).
Fields may hold any text; ``%``, TAB, LF, CR and NUL are escaped, so a record is one line.

>>> join(["a\\tb", "", "x%y\\n"])
'a%09b\\t\\tx%25y%0A'
>>> split(join(["a\\tb", "", "x%y\\n"]))
['a\\tb', '', 'x%y\\n']
"""

_ESCAPES = {"%": "%25", "\t": "%09", "\n": "%0A", "\r": "%0D", "\0": "%00"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def escape(field: str) -> str:
    if not any(c in field for c in _ESCAPES):
        return field
    return "".join(_ESCAPES.get(c, c) for c in field)


def unescape(field: str) -> str:
    if "%" not in field:
        return field
    parts = field.split("%")
    out = [parts[0]]
    for part in parts[1:]:
        code = "%" + part[:2]
        out.append(_UNESCAPES.get(code, code) + part[2:])
    return "".join(out)


def join(fields: list[str]) -> str:
    return "\t".join(escape(f) for f in fields)


def split(line: str) -> list[str]:
    return [unescape(f) for f in line.split("\t")]
