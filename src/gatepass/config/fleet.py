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

_KINDS = {name: "git" for name in GIT_TABLES} | {name: "docker" for name in DOCKER_TABLES}
_HEADERS = {f"[[{name}]]": name for name in _KINDS}
_DOMAIN, _HTTPS, _ACCOUNTS = 'domain = "', "https = ", 'accounts = [{ username = "'
_TOKEN, _NEXT, _LAST = '", token = "', '" }, { username = "', '" }]'
_D, _A, _L, _H = len(_DOMAIN), len(_ACCOUNTS), len(_LAST), len(_HTTPS)


def read(data: bytes, path: str, layer: str, rank: int, order: list[int]) -> "Parsed | None":
    """The accounts of a fleet-shaped file as ``Parsed``, ``order`` advanced; ``None`` (``order``
    untouched) for any other file."""
    if toml_subset.refused(data):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    tables: dict[str, list[tuple[str, bool, list[str]]]] = {}
    current: list[tuple[str, bool, list[str]]] = []
    kind = domain = accounts = None  # of the table being read
    https: bool | None = None
    plain, strings_of = usual.plain_host, _strings
    for line in text.split("\n"):
        line = line.strip(" \t")
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            if kind is not None:
                if domain is None or accounts is None or not plain(domain) or (kind == "docker" and https is not None):
                    return None  # a missing domain takes a default, docker has no https: the general path says
                current.append((domain, https is not False, accounts))
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
    if kind is not None:
        if domain is None or accounts is None or not plain(domain) or (kind == "docker" and https is not None):
            return None
        current.append((domain, https is not False, accounts))
    return _accounts(tables, path, layer, rank, order)


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
