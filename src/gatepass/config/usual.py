"""The usual provider table, read without the general checks of config/schema.py (#14).

Most tables of a fleet file are alike: a plain ``domain`` (``https`` too, for git) and accounts of a
username and a plain inline token. For those, schema's per-table and per-account checks were most of a
cold parse; :func:`take_provider` gives exactly the Accounts they would (``False`` for any other table,
which schema then reads in full), :func:`plain_host` and :func:`inline_only` the two shortcuts schema
also takes per domain and per account. tests/unit/test_config.py compares each shortcut with the
general checks switched on.
"""

from __future__ import annotations

from gatepass.hosts import DOCKER_HUB, docker_hub
from gatepass.model import Account
from gatepass.sealing import BEGIN as SEALED_BEGIN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gatepass.config.schema import Parsed


# Lowercase ASCII labels, no port, scheme, path, wildcard or trailing dot: normalize_domain gives
# such a name back unchanged (docker: Docker Hub's aliases become docker.io).
PLAIN_HOST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
# The keys a usual provider table may have.
_USUAL_KEYS = {"git": frozenset({"domain", "https", "accounts"}), "docker": frozenset({"domain", "accounts"})}
# An inline token starting with one of these is sealed, or refused by schema's _not_a_token.
NOT_PLAIN = (SEALED_BEGIN, "gatepass:sealed:", "-----BEGIN ", "age-encryption.org/")


def plain_host(text: str) -> bool:
    """Whether ``normalize_domain`` would give ``text`` back as it is."""
    return bool(text) and PLAIN_HOST.issuperset(text) and text[0] != "." and text[-1] != "." and ".." not in text


def take_provider(kind: str, table: str, index: int, provider: object, path: str, layer: str, rank: int,
                  order: list[int], parsed: Parsed) -> bool:
    """Add the accounts of a provider table in the usual shape, a plain ``domain`` (``https`` too, for
    git) and ``accounts`` that all pass :func:`inline_only` under distinct usernames, exactly as
    ``schema._provider`` would; ``False`` (nothing added) for any other table, which schema then reads."""
    if type(provider) is not dict or not _USUAL_KEYS[kind].issuperset(provider):
        return False
    domain = provider.get("domain", "github.com" if kind == "git" else DOCKER_HUB)
    https = provider.get("https", True)
    accounts = provider.get("accounts", [])
    if type(domain) is not str or not plain_host(domain) or type(https) is not bool or type(accounts) is not list:
        return False
    if len(accounts) == 1:  # most tables of a fleet file: no list or set to build
        secret = inline_only(accounts[0])
        if secret is None:
            return False
        secrets = [secret]
    else:
        secrets = []
        for entry in accounts:
            secret = inline_only(entry)
            if secret is None:
                return False
            secrets.append(secret)
        if len({username for username, _ in secrets}) != len(secrets):
            return False  # a repeated username: schema reports it
    host = domain if kind == "git" else docker_hub(domain, None)
    start = order[0]
    position = 0
    for username, token in secrets:
        parsed.accounts.append(inline_account(kind, domain, host, https, username, token, layer, rank, path,
                                               (table, index, position), start + position + 1))
        position += 1
    order[0] = start + position
    if position:
        parsed.inline_tokens = True
    return True


def inline_account(kind: str, domain: str, host: str, secure: bool, username: str, token: str, layer: str,
                    rank: int, path: str, line: tuple[str, int, int], order: int) -> Account:
    """``Account(...)`` with an inline token, no port, ttl or organizations: every slot set without the
    constructor's 15 keywords, which took three times as long (#14). A new Account field must be
    set here too: test_config's shortcut tests compare every field with the constructor's."""
    account: Account = Account.__new__(Account)
    account.kind, account.domain, account.host, account.port, account.secure = kind, domain, host, None, secure
    account.username, account.secret_kind, account.secret_ref, account.ttl = username, "inline", token, None
    account.organizations, account.layer, account.rank, account.file = (), layer, rank, path
    account.line, account.order, account.untrusted, account.source = line, order, "", None
    return account


def inline_only(entry: object) -> tuple[str, str] | None:
    """(username, token) of an account that is exactly ``{ username = "...", token = "..." }`` with a
    plain one-line token, which schema's _account and _secret would accept as an inline token; else None."""
    if type(entry) is not dict or len(entry) != 2:
        return None
    username, token = entry.get("username"), entry.get("token")
    if type(username) is not str or type(token) is not str or not username or not token:
        return None
    if "\n" in token or "\r" in token or "\0" in token or token.lstrip().startswith(NOT_PLAIN):
        return None
    return username, token
