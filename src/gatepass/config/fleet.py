"""The fleet file, read straight into accounts: a cold parse of 100,000 provider tables (#14).

A file a fleet generates is one shape repeated: provider tables of a plain ``domain`` (``https``
too, for git) and one line of ``accounts`` holding usernames and plain inline tokens::

    [[git_provider]]
    domain = "host-1.example.com"
    accounts = [{ username = "deploy", token = "..." }, { username = "ci", token = "..." }]

:func:`read` takes such a file line by line with string methods and builds its accounts at once,
with no TOML tree and no per-table validation: the tree and the checks were most of a cold parse.
It gives exactly the accounts ``config.toml_subset`` + ``schema.validate`` give (same order, same
``line`` places, tested against them), or ``None`` for any file it does not take whole: another
table, key, spelling or spacing, a comment after a value, a non-plain domain, a repeated username,
a token that is sealed or would be refused... Then the general path reads the file and words
every error; refusing a file here never means it is wrong.

What makes the shortcut exact: a header is one of the provider arrays validate reads; each key
appears once per table in exactly the spelling below; every string sits between two ``"`` with
no backslash or control character anywhere in the file (``toml_subset.refused``), so it is a TOML
basic string without escapes, whose value is the text between the quotes; and each table passes
the checks ``config.usual`` applies to the usual table (``plain_host``, ``inline_only``'s token
rules, distinct usernames). Accounts are numbered as ``validate`` numbers them: git tables first,
then each docker table name in its order, each in file order.
"""

from gatepass.config import toml_subset, usual
from gatepass.config.schema import DOCKER_TABLES, GIT_TABLES, Parsed
from gatepass.hosts import docker_hub

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_KINDS = {name: "git" for name in GIT_TABLES} | {name: "docker" for name in DOCKER_TABLES}
_HEADERS = {f"[[{name}]]": name for name in _KINDS}
_DOMAIN, _HTTPS, _ACCOUNTS = 'domain = "', "https = ", 'accounts = [{ username = "'
_TOKEN, _NEXT, _LAST = '", token = "', '" }, { username = "', '" }]'
_D, _A, _L, _H = len(_DOMAIN), len(_ACCOUNTS), len(_LAST), len(_HTTPS)


def read(data: bytes, path: str, layer: str, rank: int, order: list[int],
         rows: "tuple[str, tuple[int, ...] | None] | None" = None) -> "Parsed | None":
    """The accounts of a fleet-shaped file as ``Parsed``, ``order`` advanced; ``None`` (``order``
    untouched) for any other file. ``rows``: (untrusted, source) of the file, when the caller takes
    a uniform git file's accounts as cache tuples (``Parsed.rows``) instead of Account objects."""
    if toml_subset.refused(data):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    del data
    uniform = _uniform(text)
    if uniform is not None:
        return uniform(path, layer, rank, order, rows)
    tables = _tables(text)
    return None if tables is None else _accounts(tables, path, layer, rank, order)


def _tables(text: str) -> "dict[str, list[tuple[str, bool, list[str]]]] | None":
    """name -> (domain, https, [username, token, ...]) of every table, read line by line; None when
    a line is not in the fleet shape."""
    tables: dict[str, list[tuple[str, bool, list[str]]]] = {}
    current: list[tuple[str, bool, list[str]]] = []
    kind = domain = accounts = None  # of the table being read
    https: bool | None = None
    strings_of = _strings

    def kept() -> bool:
        """The table just read, kept; False when it is not fleet-shaped (a missing domain takes a default,
        a docker table has no https: the general path says which)."""
        if kind is None:
            return True
        if domain is None or accounts is None or not usual.plain_host(domain) or (kind == "docker" and https is not None):
            return False
        current.append((domain, https is not False, accounts))
        return True

    for line in text.split("\n"):
        line = line.strip(" \t")
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            if not kept():
                return None
            name = _HEADERS.get(line)
            if name is None:
                return None
            current = tables.setdefault(name, [])
            kind, domain, accounts, https = _KINDS[name], None, None, None
        elif kind is None:
            return None  # a key before the first table: [store], [vault], anything else
        elif line.startswith(_DOMAIN) and line[-1] == '"' and domain is None:
            domain = line[_D:-1]
            if '"' in domain:
                return None
        elif line.startswith(_ACCOUNTS) and line.endswith(_LAST) and accounts is None:
            accounts = strings_of(line[_A:-_L])
            if accounts is None:
                return None
        elif line.startswith(_HTTPS) and https is None and line[_H:] in ("true", "false"):
            https = line[_H:] == "true"
        else:
            return None
    return tables if kept() else None


_MID, _SEP, _END = "\naccounts = [{ username = ", ", token = ", " }]\n"


def _uniform(text: str) -> "Callable[[str, str, int, list[int], tuple[str, tuple[int, ...] | None] | None], Parsed] | None":
    """The most regular fleet file, read without a loop over its lines: one table name, and every table
    exactly ``[[name]]`` / ``domain = "..."`` / ``accounts = [{ username = "...", token = "..." }]``,
    nothing between them. Split on ``"``, such a file alternates strings and these exact separators,
    which slicing and ``count`` check in C; its newlines are the separators' own (so no string spans
    lines). Then the checks ``_tables`` makes per table, over whole columns. A builder of its Parsed,
    or None (``_tables`` then reads the file)."""
    name = text[2:text.find("]]")] if text.startswith("[[") else ""
    kind = _KINDS.get(name)
    if kind is None:
        return None
    head = f"[[{name}]]\ndomain = "
    parts = text.split('"')
    count = len(parts) // 6
    if len(parts) != 6 * count + 1 or parts[0] != head or parts[-1] not in (_END, _END[:-1]):
        return None
    if parts[2::6].count(_MID) != count or parts[4::6].count(_SEP) != count:
        return None
    if parts[6:-1:6].count(_END + head) != count - 1 or text.count("\n") != 3 * count - (parts[-1] != _END):
        return None
    domains, usernames, tokens = parts[1::6], parts[3::6], parts[5::6]
    del parts
    if not all(usernames) or not all(tokens) or not _all_plain(domains) or _any_not_plain(tokens):
        return None

    def build(path: str, layer: str, rank: int, order: list[int], rows: "tuple[str, tuple[int, ...] | None] | None"
              ) -> Parsed:
        if rows is not None and kind == "git":  # the cache's tuples, in Account.FIELDS order: no Account objects
            parsed, start = Parsed(), order[0]
            untrusted, source = rows
            parsed.rows = [("git", domain, domain, None, True, username, "inline", token, None, (), layer, rank, path,
                            (name, index, 0), start + index + 1, untrusted, source)
                           for index, domain, username, token in zip(range(count), domains, usernames, tokens, strict=True)]
            parsed.inline_tokens = bool(count)
            order[0] = start + count
            return parsed
        tables = {name: [(domain, True, [username, token]) for domain, username, token
                         in zip(domains, usernames, tokens, strict=True)]}
        return _accounts(tables, path, layer, rank, order)
    return build


def _all_plain(domains: "list[str]") -> bool:
    """``usual.plain_host`` of every domain, over the column at once: the allowed characters, no empty
    label at either end or in the middle (no domain holds a newline: ``_uniform`` counted them)."""
    joined = "\n".join(domains)
    return (all(domains) and usual.PLAIN_HOST.issuperset(joined.replace("\n", "")) and ".." not in joined
            and "\n." not in joined and ".\n" not in joined and joined[0] != "." and joined[-1] != ".")


def _any_not_plain(tokens: "list[str]") -> bool:
    """Whether a token (after leading whitespace) starts as a sealed or refused one does (``usual.NOT_PLAIN``);
    a column with a token that starts with whitespace (``str.lstrip``'s, Unicode's included) is checked
    token by token."""
    if any(first.isspace() for first in {token[0] for token in tokens}):
        return any(token.lstrip().startswith(usual.NOT_PLAIN) for token in tokens)
    joined = "\n" + "\n".join(tokens)
    return any("\n" + prefix in joined for prefix in usual.NOT_PLAIN)


def _strings(body: str) -> "list[str] | None":
    """username, token, username, token... of an accounts line between its first and last quote,
    checked as ``usual.inline_only`` and ``take_provider`` check them; None for anything else."""
    strings: list[str] = []
    for piece in body.split(_NEXT):
        username, sep, token = piece.partition(_TOKEN)
        if not sep or not username or not token or '"' in username or '"' in token:
            return None
        if token.lstrip().startswith(usual.NOT_PLAIN):
            return None  # sealed, or refused: the general path
        strings += (username, token)
    if len(strings) > 2 and len(set(strings[0::2])) * 2 != len(strings):
        return None  # a repeated username: the general path reports it
    return strings


def _accounts(tables: "dict[str, list[tuple[str, bool, list[str]]]]", path: str, layer: str, rank: int,
              order: list[int]) -> Parsed:
    parsed = Parsed()
    count = order[0]
    add, make = parsed.accounts.append, usual.inline_account
    for name in (*GIT_TABLES, *DOCKER_TABLES):  # validate's order
        kind = _KINDS[name]
        for index, (domain, https, strings) in enumerate(tables.get(name, ())):
            host = domain if kind == "git" else docker_hub(domain, None)
            secure = https if kind == "git" else True
            for position in range(len(strings) // 2):
                count += 1
                add(make(kind, domain, host, secure, strings[2 * position], strings[2 * position + 1], layer, rank, path,
                         (name, index, position), count))
    parsed.inline_tokens = bool(parsed.accounts)
    order[0] = count
    return parsed
