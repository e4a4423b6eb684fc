"""Text a server wrote (a Vault error, the user part of an ECR token), made fit for one error line.

A hostile or broken server controls that text: it may hold terminal escapes, line breaks that
forge a second message, or echo what we sent it (a Vault server answering with the
``X-Vault-Token`` it received). So: every run of ``MIN_RUN`` or more characters of a secret of
the request (the whole secret when shorter) is replaced by ``[redacted]`` (a server that echoes
half a token gets neither half printed), whitespace runs become one space, other control and
format characters (C0, C1, bidi overrides) are escaped as ``\\xNN``/``\\uNNNN``, and the result is
cut to ``limit`` characters.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

MIN_RUN = 6
LIMIT = 160
MAX_READ = 4096  # only the start of a long text is looked at


def _masked(text: str, secrets: Iterable[str]) -> list[bool]:
    mask = [False] * len(text)
    for secret in secrets:
        if not secret:
            continue
        run = min(MIN_RUN, len(secret))
        pieces = {secret[i:i + run] for i in range(len(secret) - run + 1)}
        for i in range(len(text) - run + 1):
            if text[i:i + run] in pieces:
                for j in range(i, i + run):
                    mask[j] = True
    return mask


def _escaped(c: str) -> str:
    import unicodedata

    if c.isprintable() and unicodedata.category(c) not in ("Cf", "Co", "Cn"):
        return c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def quote(text: str, secrets: Iterable[str] = (), limit: int = LIMIT) -> str:
    """``text`` on one line, escaped, without any piece of ``secrets``, at most ``limit`` characters.

    >>> quote("denied for hvs.ABCDEFGH\\x1b[31m\\nforged", ["hvs.ABCDEFGH"])
    'denied for [redacted]\\\\x1b[31m forged'
    >>> quote("half: hvs.ABCD and EFGH-rest", ["hvs.ABCDEFGH-rest"])
    'half: [redacted] and [redacted]'
    """
    text = text[:MAX_READ]
    mask = _masked(text, list(secrets))
    out: list[str] = []
    for c, hidden in zip(text, mask, strict=True):
        if hidden:
            if not out or out[-1] != "[redacted]":
                out.append("[redacted]")
        elif c.isspace():
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(_escaped(c))
    shown = "".join(out).strip()
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."
