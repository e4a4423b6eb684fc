"""Sealed tokens: ASCII-armored age files (age-encryption.org/v1) bound to one account.

A config's ``token`` may be an armored age file, written as a TOML multi-line string::

    token = \"\"\"
    -----BEGIN AGE ENCRYPTED FILE-----
    YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBxeXNBYlhNa2p3STkwYnk2
    ...
    -----END AGE ENCRYPTED FILE-----
    \"\"\"

It is encrypted to one or more recipients, age X25519 keys (``age1...``), ssh-ed25519 or ssh-rsa
public keys (the ones age accepts), and opened with the host identity (``gatepass.hostkey``). Lines may be indented: each line
is stripped before the armor is read. The plaintext is one header line, LF, the token, and an
optional final LF::

    gatepass-sealed: kind=git scheme=https domain=github.com username=deploy
    ghp_xxxxxxxx

The header is exactly ``gatepass-sealed:`` and the four fields ``kind``, ``scheme``, ``domain``,
``username``, in this order, each preceded by one space and written ``name=value``. A value is
percent-encoded UTF-8: every byte that is not printable ASCII, and every space, ``%`` and ``=``,
is written ``%XX``, so a value never holds a separator. ``kind`` is ``git`` or ``docker``;
``scheme`` is ``https``, or ``http`` for a git provider with ``https = false`` or a docker
registry written ``http://``; ``domain`` is the account's host as gatepass normalises it
(lowercase, IDNA A-labels, ``:port`` only when not the scheme's default, ``*.`` kept), compared
case-insensitively; ``username`` is compared exactly. A value opens only for the account the
header names, so a copy moved to another account, domain or scheme is refused, naming the account
it is bound to. The token is one line: it may not be empty or hold CR, LF or NUL.

``gatepass seal`` writes exactly this; stock ``age -a -r RECIPIENT`` over the same plaintext
makes a value gatepass accepts, and stock ``age -d -i IDENTITY`` opens one. ``pyrage`` (the rage
implementation) is imported only here and in ``gatepass.hostkey``, when a value is made or opened.
"""

from __future__ import annotations

from gatepass.errors import GatepassError, SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from gatepass.model import Account

BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
END = "-----END AGE ENCRYPTED FILE-----"
HEADER = "gatepass-sealed:"
FIELDS = ("kind", "scheme", "domain", "username")

ANOTHER_HOST = "sealed for another host"
ANOTHER_ACCOUNT = "sealed for a different account"
TAMPERED = "tampered or corrupt sealed value; seal the token again"


class SealError(SecretUnavailableError):
    """A sealed value that cannot be opened here; the message says why, never the value or the token."""


def binding(account: Account) -> tuple[str, str, str, str]:
    """(kind, scheme, domain, username) of an account, as its sealed values' header names them."""
    domain = account.host if account.port is None else f"{account.host}:{account.port}"
    return account.kind, "https" if account.secure else "http", domain, account.username


def _encode(value: str) -> str:
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b not in b"%=" else f"%{b:02X}" for b in value.encode("utf-8"))


def _decode(text: str) -> str:
    """The inverse of :func:`_encode`; ValueError on a stray ``%``, bad hex, a separator or non-UTF-8."""
    if any(not 0x21 <= ord(c) <= 0x7E or c == "=" for c in text):
        raise ValueError("unencoded byte")
    parts = text.split("%")
    out = bytearray(parts[0].encode("ascii"))
    for part in parts[1:]:
        if len(part) < 2 or not all(c in "0123456789abcdefABCDEF" for c in part[:2]):
            raise ValueError("bad escape")
        out += bytes.fromhex(part[:2]) + part[2:].encode("ascii")
    return out.decode("utf-8")


def header_line(kind: str, scheme: str, domain: str, username: str) -> str:
    """The plaintext's first line for this account (no line break).

    >>> header_line("docker", "https", "docker.io", "<token>")
    'gatepass-sealed: kind=docker scheme=https domain=docker.io username=<token>'
    >>> header_line("git", "http", "127.0.0.1:8080", "ci bot=1%")
    'gatepass-sealed: kind=git scheme=http domain=127.0.0.1:8080 username=ci%20bot%3D1%25'
    """
    values = (kind, scheme, domain, username)
    return HEADER + "".join(f" {name}={_encode(value)}" for name, value in zip(FIELDS, values, strict=True))


def parse_header(line: str) -> tuple[str, str, str, str]:
    """(kind, scheme, domain, username) of a header line; ValueError when it is not one.

    >>> parse_header("gatepass-sealed: kind=git scheme=https domain=github.com username=deploy")
    ('git', 'https', 'github.com', 'deploy')
    """
    if not line.startswith(HEADER + " "):
        raise ValueError("no header")
    fields = line[len(HEADER) + 1:].split(" ")
    if len(fields) != len(FIELDS):
        raise ValueError("wrong field count")
    values = []
    for name, field in zip(FIELDS, fields, strict=True):
        key, eq, value = field.partition("=")
        if key != name or not eq:
            raise ValueError("wrong field")
        values.append(_decode(value))
    return values[0], values[1], values[2], values[3]


def plaintext(token: str, kind: str, scheme: str, domain: str, username: str) -> bytes:
    """What is encrypted: the header line, LF, the token, LF."""
    if not token or any(c in token for c in "\r\n\0"):
        raise GatepassError("the token is empty or contains a line break or NUL; git and docker could not use it")
    return f"{header_line(kind, scheme, domain, username)}\n{token}\n".encode()


def is_sealed(value: str) -> bool:
    """Whether a ``token`` value is an armored age file (what the config schema calls sealed)."""
    return value.lstrip().startswith(BEGIN)


def armor_bytes(value: str) -> bytes:
    """The armored file with every line stripped and blank lines dropped (TOML may indent it)."""
    lines = [line.strip() for line in value.strip().splitlines()]
    return ("\n".join(line for line in lines if line) + "\n").encode("ascii", "replace")


def stanza_types(value: str) -> list[str]:
    """The recipient stanza types in a sealed value's header (``X25519``, ``ssh-ed25519``...).

    rage adds random "grease" stanzas that no identity answers; they are left out. An empty list
    when the header cannot be read.
    """
    import base64
    import binascii

    lines = armor_bytes(value).decode("ascii").splitlines()
    try:
        blob = base64.b64decode("".join(lines[1:-1]))
    except (binascii.Error, ValueError):
        return []
    header = blob.split(b"\n---", 1)[0].decode("ascii", "replace")
    types = [line[3:].split(" ", 1)[0] for line in header.splitlines() if line.startswith("-> ")]
    return [t for t in types if not t.endswith("-grease")]


SSH_TYPES = ("ssh-ed25519", "ssh-rsa")  # the ssh recipients age accepts; each is its own stanza type


class Recipient:
    """A pyrage recipient and the stanza type it writes (pyrage's ssh recipients do not say which)."""

    __slots__ = ("key", "type")

    def __init__(self, key: object, type: str) -> None:
        self.key, self.type = key, type


def parse_recipient(text: str) -> list[Recipient]:
    """The recipients ``--to`` names: an ``age1...`` key, a whole ``ssh-ed25519`` or ``ssh-rsa`` public key
    line, or a file of them (one a line, ``#`` comments and blank lines skipped, as ``age -R`` reads)."""
    import pyrage

    text = text.strip()
    kind = text.split(None, 1)[0] if text else ""
    try:
        if text.startswith("age1"):
            return [Recipient(pyrage.x25519.Recipient.from_str(text), "X25519")]
        if kind in SSH_TYPES and " " in text:
            return [Recipient(pyrage.ssh.Recipient.from_str(" ".join(text.split()[:2])), kind)]
    except pyrage.RecipientError:
        raise GatepassError(f"--to {text[:80]} is damaged; copy it again from: gatepass host-key") from None
    if text.startswith(("ssh-", "ecdsa-", "sk-", "age")):
        raise GatepassError(f"--to {kind[:40]}: only age X25519 (age1...), ssh-ed25519 and ssh-rsa keys are supported"
                            " (as age)")
    try:
        with open(text, encoding="utf-8") as lines:
            found = [line.strip() for line in lines.read(1 << 20).splitlines()]
    except (OSError, UnicodeDecodeError):
        raise GatepassError(f"--to {text[:80]} is neither an age1... key, an ssh-ed25519 or ssh-rsa line nor a readable"
                            " .pub file") from None
    recipients = [r for line in found if line and not line.startswith("#") for r in parse_recipient(line)]
    if not recipients:
        raise GatepassError(f"--to {text}: the file holds no recipient")
    return recipients


def seal(token: str, recipients: Sequence[object], kind: str, scheme: str, domain: str, username: str) -> str:
    """``token`` for this account, encrypted to ``recipients`` (:class:`Recipient` or pyrage recipients), armored."""
    import pyrage

    if not recipients:
        raise GatepassError("give at least one recipient with --to")
    keys = [r.key if isinstance(r, Recipient) else r for r in recipients]
    data = pyrage.encrypt(plaintext(token, kind, scheme, domain, username), keys, armored=True)
    return bytes(data).decode("ascii")


def _describe(fields: tuple[str, str, str, str]) -> str:
    kind, scheme, domain, username = fields
    text = f"{kind} {scheme}://{domain} user {username}"
    return "".join(c if c.isprintable() else "?" for c in text)


def open_value(value: str, want: tuple[str, str, str, str], identities: Sequence[object], this_host: str) -> str:
    """The token sealed in ``value`` when it is bound to ``want`` and one of ``identities`` opens it.

    SealError otherwise: "sealed for another host" (naming the value's stanza types and
    ``this_host``, the host's public key or key file), "sealed for a different account" (naming the
    account it is bound to), or "tampered or corrupt". Messages never carry the value or the token.
    """
    import pyrage

    armored = armor_bytes(value)
    if not armored.startswith(BEGIN.encode()) or not armored.rstrip().endswith(END.encode()):
        raise SealError(TAMPERED)
    try:
        data = bytes(pyrage.decrypt(armored, list(identities)))
    except pyrage.DecryptError as exc:
        if "No matching keys" in str(exc):
            types = ", ".join(stanza_types(value)) or "unknown"
            raise SealError(f"{ANOTHER_HOST}: it is sealed to {types} recipients; this host is {this_host}") from None
        raise SealError(TAMPERED) from None
    first, _, rest = data.partition(b"\n")
    token = rest[:-1] if rest.endswith(b"\n") else rest
    try:
        fields = parse_header(first.decode("utf-8"))
        text = token.decode("utf-8")
    except (UnicodeDecodeError, ValueError):
        raise SealError(f"{TAMPERED} (its plaintext does not start with a {HEADER} line)") from None
    if not text or any(c in text for c in "\r\n\0"):
        raise SealError(f"{TAMPERED} (the token is empty or spans lines)")
    if (fields[0], fields[1], fields[2].lower(), fields[3]) != want:
        raise SealError(f"{ANOTHER_ACCOUNT}: it is bound to {_describe(fields)}; seal the token for this account")
    return text


def recipient_types(recipients: Sequence[object]) -> list[str]:
    """The stanza type each recipient writes (``X25519``, ``ssh-ed25519``, ``ssh-rsa``), sorted; a bare
    pyrage ssh recipient counts as ``ssh-ed25519``."""
    import pyrage

    return sorted(r.type if isinstance(r, Recipient) else "X25519" if isinstance(r, pyrage.x25519.Recipient)
                  else "ssh-ed25519" for r in recipients)


def reusable(value: str, token: str, want: tuple[str, str, str, str], recipients: Sequence[object],
             identities: Sequence[object]) -> bool:
    """Whether ``value`` already seals ``token`` for ``want`` to recipients like ``recipients``.

    age output is randomized, so provisioning keeps an existing value when this holds instead of
    sealing anew: it opens here (``identities``) to exactly this token and account, and its stanza
    types match the recipients' one for one. Replacing one X25519 recipient by another of the
    same type is not seen: seal without reuse after such a change.
    """
    try:
        opened = open_value(value, want, identities, "")
    except SealError:
        return False
    types = sorted(stanza_types(value))
    return opened == token and bool(types) and types == recipient_types(recipients)


def open_for(account: Account, value: str, env: Mapping[str, str]) -> str:
    """The token of a sealed ``account``, opened with this host's identities (``gatepass.hostkey``)."""
    from gatepass.hostkey import load_identities

    identities, this_host = load_identities(env)
    return open_value(value, binding(account), identities, this_host)
