"""The values every part shares: an Account (with provenance), a Request, and a ranked Candidate.

Plain ``__slots__`` classes instead of dataclasses: the helpers import this on every git fetch
and ``dataclasses`` pulls in ``inspect``. Accounts convert to and from plain tuples so
the parsed-config cache can ``marshal`` them.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

# The layers an account comes from, lowest precedence first (docs/design.md §1), written once:
# config.layers.layer_files reads the file layers in this order, an account's rank is its layer's place
# here, and the resolver (explain, list and setup too) puts a higher rank first. "environment" is a CI
# preset's account; "config" is GATEPASS_CONFIG's files, which replace global, host and user.
LAYERS = ("environment", "global", "host", "user", "config", "store")
# Room between two layers' ranks: GATEPASS_CONFIG's files rank one above another (the last wins), all
# still below the store's.
RANK_STEP = 1 << 16
LAYER_RANK = {name: place * RANK_STEP for place, name in enumerate(LAYERS)}

# Where an account's secret comes from. Only the kind and a reference (a path, a variable name,
# an argv) live here; "inline" is the one kind whose reference is the token itself.
# Engine kinds (gatepass.engines.ENGINE_KINDS) carry their spec dict.
SECRET_KINDS = ("inline", "file", "env", "command", "sealed", "keyring", "vault", "github_app", "aws_ecr",
                "gcp_service_account")


class Account:
    """One username with one way to get its secret, on one domain, from one place."""

    __slots__ = ("kind", "domain", "host", "port", "secure", "username", "secret_kind",
                 "secret_ref", "ttl", "organizations", "layer", "rank", "file", "line", "order",
                 "untrusted", "source")
    # The constructor's keywords, in the order of the cache's tuples. Add a field: add it here,
    # to __slots__ and to __init__ (a keyword with a default keeps every caller working).
    FIELDS: "ClassVar[tuple[str, ...]]" = __slots__

    def __init__(self, *, kind: str, domain: str, host: str, port: int | None, secure: bool,
                 username: str, secret_kind: str, secret_ref: object, layer: str, rank: int,
                 file: str, ttl: int | None = None, organizations: tuple[str, ...] = (),
                 line: int | tuple[str, int, int] = 0, order: int = 0, untrusted: str = "",
                 source: tuple[int, ...] | None = None) -> None:
        self.kind = kind                  # "git" | "docker"
        self.domain = domain              # as written in the config, for people
        self.host = host                  # normalised; may be "*.example.com"
        self.port = port                  # None: the scheme's default port
        self.secure = secure              # git: https = true; docker: not an http:// registry
        self.username = username
        self.secret_kind = secret_kind
        self.secret_ref = secret_ref
        self.ttl = ttl
        self.organizations = organizations  # as written (matched case-insensitively); empty = unscoped
        self.layer = layer
        self.rank = rank                  # layer precedence, higher wins
        self.file = file
        self.line = line                  # or a (table, index, position) locator: see line_number()
        self.order = order                # position across the layer's files, for "file order"
        self.untrusted = untrusted        # why its layer contributes no secret (others can write it), else ""
        self.source = source              # identity of the file as parsed (config.cache.identity), or None

    def to_tuple(self) -> tuple[object, ...]:
        """The fields in ``FIELDS`` order, for the parsed-config cache (``marshal``)."""
        return tuple([getattr(self, name) for name in Account.FIELDS])  # a list is faster than a generator

    @classmethod
    def from_tuple(cls, values: tuple[object, ...]) -> "Account":
        """The inverse of :meth:`to_tuple`; a tuple of another length (an older cache) is a ValueError."""
        if len(values) != len(Account.FIELDS):
            raise ValueError(f"an account has {len(Account.FIELDS)} fields, not {len(values)}")
        fields: dict[str, Any] = dict(zip(Account.FIELDS, values, strict=True))
        return cls(**fields)

    @property
    def where(self) -> str:
        """``file:line`` (or the backend, for stored entries), for messages and ``explain``."""
        line = self.line_number()
        return f"{self.file}:{line}" if line else self.file

    def line_number(self) -> int:
        """The line the account starts on (0: none). A config parse leaves a (table, index, position)
        locator, turned into a line only when shown: most helper calls never show one."""
        if isinstance(self.line, tuple):
            from gatepass.linemap import account_line

            self.line = account_line(self.file, *self.line)
        return self.line

    def label(self) -> str:
        return f"{self.username}@{self.domain}"

    def __repr__(self) -> str:  # never the secret reference: it may be an inline token
        return f"<Account {self.kind} {self.label()} {self.layer} {self.where}>"


class Request:
    """What a helper was asked for: kind, scheme, host, port, optional path and username.

    ``account`` is the ``GATEPASS_ACCOUNT`` restriction (a username every answer must have), set
    apart from ``username`` so ``explain`` and traces can say which of the two ruled an account out.
    """

    __slots__ = ("kind", "scheme", "host", "port", "path", "username", "exact_key", "account")

    def __init__(self, kind: str, scheme: str | None, host: str, port: int | None,
                 path: str | None = None, username: str | None = None,
                 exact_key: str | None = None) -> None:
        self.kind, self.scheme, self.host, self.port = kind, scheme, host, port
        self.path, self.username = path, username
        self.exact_key = exact_key  # docker keys with another path: only an exact stored entry answers
        self.account: str | None = None

    def first_segment(self) -> str | None:
        """The organization the path names as the server will resolve it, lowercased.

        ``None`` when no path was sent; :data:`NO_ORGANIZATION` when a path was sent but names no
        organization unambiguously (see :func:`server_path`): then no scoped account answers.
        """
        if not self.path:
            return None
        resolved = server_path(self.path)
        if resolved is None:
            return NO_ORGANIZATION
        return _first(resolved).lower() or NO_ORGANIZATION


# A segment can never hold "/": this value is no organization any account can be scoped to.
NO_ORGANIZATION = "/"


def percent_decode(text: str) -> str | None:
    """Decode ``%XX`` escapes once (as UTF-8); ``None`` when the result is not UTF-8.

    Hand-written rather than ``urllib.parse.unquote`` so the helpers' hot path imports nothing.

    >>> percent_decode("acme/%2e%2E/other%2Fx"), percent_decode("%zz%4")
    ('acme/../other/x', '%zz%4')
    """
    if "%" not in text:
        return text
    raw = text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        pair = raw[i + 1:i + 3]
        if raw[i] == 0x25 and len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair):
            out.append(int(pair, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 on an absolute path.

    >>> remove_dot_segments("/acme/../other/./r.git"), remove_dot_segments("/a/b/.."), remove_dot_segments("/../x")
    ('/other/r.git', '/a/', '/x')
    """
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _dot_segment(segment: str) -> bool:
    # ``..;x`` is ``..`` to servlet containers (path parameters); ``\`` a separator to some servers.
    return segment.partition(";")[0] in (".", "..")


def _first(path: str) -> str:
    return path.lstrip("/").partition("/")[0]


def server_path(path: str) -> str | None:
    """The path as the server will resolve it, or ``None`` when that is ambiguous.

    git sends the path percent-decoded once (``credential.c``); curl removes literal dot segments
    and a server may decode again and then resolve them, so the first segment gatepass sees need
    not be the one the server serves (``/acme/%2e%2e/other/x.git``). This decodes once more and
    removes dot segments (RFC 3986 5.2.4). The result is ambiguous when decoding it again would
    change its structure (an encoded slash, backslash or dot segment is left), when it holds a
    backslash or a ``..;x`` segment (a dot segment to servlet containers), or when its first
    segment differs from the undecoded path's: no organization decision is made that depends on
    how many times the server decodes.

    >>> server_path("acme/../other/x.git"), server_path("acme/./app.git")
    ('/other/x.git', '/acme/app.git')
    >>> [server_path(p) for p in ("acme/%2e%2e/other", "acme%2fother/x.git", "acme/%252e%252e/o", "acme/..;/o")]
    [None, None, None, None]
    """
    decoded = percent_decode(path)
    if decoded is None or "\\" in decoded:
        return None
    resolved = remove_dot_segments("/" + decoded.lstrip("/"))
    again = percent_decode(resolved)
    if again is None or again.count("/") != resolved.count("/") or "\\" in again:
        return None
    if any(_dot_segment(segment) for segment in again.split("/")):
        return None
    if _first(remove_dot_segments("/" + path.lstrip("/"))) != _first(resolved):
        return None
    return resolved


class Candidate:
    """An account judged against a request: ``ok`` with its tier, or ``reason`` it was ruled out."""

    __slots__ = ("account", "ok", "rule", "reason", "tier")

    def __init__(self, account: "Account", ok: bool, rule: str, reason: str, tier: int = 0) -> None:
        self.account, self.ok, self.rule, self.reason, self.tier = account, ok, rule, reason, tier

    def __repr__(self) -> str:
        return f"<Candidate {self.account!r} ok={self.ok} {self.rule}: {self.reason}>"


class Secret:
    """A secret and, when known, when it expires (unix seconds)."""

    __slots__ = ("value", "expiry", "refresh")

    def __init__(self, value: str, expiry: "int | None" = None, refresh: "str | None" = None) -> None:
        self.value, self.expiry, self.refresh = value, expiry, refresh  # refresh: git's oauth_refresh_token

    def __repr__(self) -> str:
        return "<Secret ***>"
