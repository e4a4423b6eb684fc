"""JSON text written without the json package: the docker helper's answers and the listing the parse
cache keeps rendered. Byte for byte what ``json.dumps(..., separators=(",", ":"))`` gives (a
hypothesis test compares them); ``json`` itself imports ``re`` and its decoder, which a warm ``get``
does not need.
"""

try:  # the C function json.dumps itself uses (ensure_ascii): escapes lone surrogates, imports no re
    from _json import encode_basestring_ascii as json_string
except ImportError:  # pragma: no cover - an interpreter built without _json
    from json.encoder import py_encode_basestring_ascii as json_string


def render_object(entries: dict[str, str]) -> str:
    """A JSON object of strings, and a newline."""
    return "{" + ",".join([f"{json_string(k)}:{json_string(v)}" for k, v in entries.items()]) + "}\n"


__all__ = ["json_string", "render_object"]
