"""Validation of a parsed TOML tree in Komodo's format into Accounts, with errors that name file, line and key.

Read: ``[[git_provider]]`` and ``[[docker_registry]]`` (aliases ``[[image_registry]]``,
``[[docker_registries]]``), and gatepass's own ``[store]`` and engine (``[vault]``) tables. Every other top-level key of a
Komodo core or periphery config is ignored. Known tables are strict: an unknown key, a wrong
type or a duplicate (domain, username) in one file is an error. Messages never quote a value:
a value may be a token.
"""

from __future__ import annotations

from gatepass.config.settings import engine_tables, store_table
from gatepass.errors import ConfigError
from gatepass.hosts import DOCKER_HUB, normalize_domain
from gatepass.model import Account
from gatepass.sealing import BEGIN as SEALED_BEGIN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gatepass.linemap import LineMap

    Table = dict[str, Any]  # a TOML table as the parser gives it: any TOML value under each key

GIT_TABLES = ("git_provider",)
DOCKER_TABLES = ("docker_registry", "image_registry", "docker_registries")
PROVIDER_KEYS = {"git": frozenset({"domain", "https", "accounts", "organizations"}),
                 "docker": frozenset({"domain", "accounts", "organizations"})}
ENGINE_KEYS = ("vault", "github_app", "aws_ecr", "gcp_service_account")  # gatepass.engines.ENGINE_KINDS; specs in engines/specs.py
ACCOUNT_KEYS = frozenset({"username", "token", "token_file", "token_env", "token_command", "ttl",
                          "organizations", "preset", *ENGINE_KEYS})
SECRET_KEYS = ("token", "token_file", "token_env", "token_command", *ENGINE_KEYS)
_SECRET_SET = frozenset(SECRET_KEYS)
# A token starting with one of these (after leading whitespace) is sealed, or refused by _not_a_token.
_NOT_PLAIN = (SEALED_BEGIN, "gatepass:sealed:", "-----BEGIN ", "age-encryption.org/")
_TYPE_NAMES: dict[type | tuple[type, ...], str] = {str: "a string", bool: "true or false", list: "an array", int: "an integer",
               dict: "a table", (int, float): "a number"}


class Parsed:
    """What one file contributed: accounts, errors, ``[store]`` and engine tables, whether it holds inline tokens."""

    def __init__(self) -> None:
        self.accounts: list[Account] = []
        self.errors: list[ConfigError] = []
        self.store: dict[str, object] = {}
        self.engines: dict[str, dict[str, object]] = {}  # "vault" -> the file's [vault] table
        self.inline_tokens = False


class _Where:
    """Builds ConfigErrors for one table of one file."""

    __slots__ = ("path", "lines", "table", "index")

    def __init__(self, path: str, lines: LineMap, table: str, index: int) -> None:
        self.path, self.lines, self.table, self.index = path, lines, table, index

    def error(self, message: str, key: str, *, at: str | None = None, occurrence: int = 0) -> ConfigError:
        line = self.lines.key(self.table, self.index, at, occurrence) if at else self.lines.table(self.table, self.index)
        return ConfigError(message, path=self.path, line=line or None, key=f"{self.table}[{self.index}].{key}".rstrip("."))


def _typed(value: object, expected: type | tuple[type, ...], where: _Where, key: str, at: str) -> None:
    ok = isinstance(value, expected) and not (expected in (int, (int, float)) and isinstance(value, bool))
    if not ok:
        raise where.error(f"must be {_TYPE_NAMES[expected]}", key, at=at)


def _organizations(value: object, where: _Where, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):  # as _typed(value, list, ...) would, and narrows the type
        raise where.error(f"must be {_TYPE_NAMES[list]}", key, at="organizations")
    for item in value:
        if not isinstance(item, str) or not item:
            raise where.error("must be an array of non-empty strings", key, at="organizations")
    # As written: `setup git` writes credential.<url>/ORG keys and git matches paths case-sensitively.
    # Matching is case-insensitive (resolver.py), as GitHub and GitLab treat organization names.
    return tuple(value)


def _domain(kind: str, value: object, where: _Where) -> tuple[str, int | None, bool | None]:
    if type(value) is not str:
        _typed(value, str, where, "domain", "domain")
    try:
        return normalize_domain(kind, str(value))
    except ValueError as exc:
        raise where.error(str(exc), "domain", at="domain") from None


def _secret(entry: Table, where: _Where, position: int, parsed: Parsed) -> tuple[str, object, int | None]:
    given = [*_SECRET_SET.intersection(entry)]  # one C call; the order matters only for the message below
    key = f"accounts[{position}]"
    if len(given) > 1:
        given = [name for name in SECRET_KEYS if name in entry]
        raise where.error(f"give only one of {', '.join(given)}", key, at=given[1])
    ttl = entry.get("ttl")
    if ttl is not None:
        _typed(ttl, int, where, key + ".ttl", "ttl")
        if ttl <= 0:
            raise where.error("must be a positive number of seconds", key + ".ttl", at="ttl")
        if "token_command" not in entry and not any(name in entry for name in ENGINE_KEYS):
            raise where.error("ttl only applies to token_command and engines (vault, github_app, aws_ecr, gcp_service_account)",
                              key + ".ttl", at="ttl")
    if not given:
        return "keyring", None, None
    name = given[0]
    value = entry[name]
    if name == "token_command":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise where.error("must be a non-empty array of strings (an argv, never a shell string)",
                              key + ".token_command", at="token_command")
        return "command", tuple(value), ttl
    if name in ENGINE_KEYS:
        from gatepass.engines.specs import spec_problem

        wrong = spec_problem(name, value)
        if wrong is not None:
            sub, message = wrong
            raise where.error(message, f"{key}.{name}.{sub}".rstrip("."), at=name)
        return name, dict(value), ttl
    if type(value) is not str:
        _typed(value, str, where, f"{key}.{name}", name)
    if not value:
        raise where.error("must not be empty", f"{key}.{name}", at=name)
    if name == "token":
        if value.lstrip().startswith(_NOT_PLAIN):  # sealed, or one of _not_a_token's prefixes
            if value.lstrip().startswith(SEALED_BEGIN):
                return "sealed", value, None
            raise where.error(_not_a_token(value) or "is not a token", f"{key}.{name}", at=name)
        if "\n" in value or "\r" in value or "\0" in value:
            raise where.error(_not_a_token(value) or "is not a token", f"{key}.{name}", at=name)
        parsed.inline_tokens = True
        return "inline", value, None
    return ("file" if name == "token_file" else "env"), value, None


def _not_a_token(value: str) -> str | None:
    """Why a ``token`` that is not a sealed value cannot be an inline token either (never quoting it)."""
    text = value.lstrip()
    if text.startswith("gatepass:sealed:"):
        return "is in the old gatepass:sealed format, which is gone; seal the token again with: gatepass seal"
    if text.startswith("-----BEGIN "):
        return f"is an armored block gatepass does not read; a sealed token starts with {SEALED_BEGIN}"
    if text.startswith("age-encryption.org/"):
        return "is a binary age file; seal it armored (age -a, or gatepass seal)"
    if "\n" in value or "\r" in value or "\0" in value:
        return "spans lines or holds NUL; a token is one line (a sealed one is an armored age file)"
    return None


def _provider(kind: str, table: str, index: int, provider: object, path: str, lines: LineMap,
              layer: str, rank: int, order: list[int], parsed: Parsed) -> None:
    where = _Where(path, lines, table, index)
    if not isinstance(provider, dict):
        raise where.error("must be a table", "")
    if not PROVIDER_KEYS[kind].issuperset(provider):  # one C call when every key is known
        for key in provider:
            if key not in PROVIDER_KEYS[kind]:
                raise where.error(f"unknown key (known: {', '.join(sorted(PROVIDER_KEYS[kind]))})", key, at=key)
    default = "github.com" if kind == "git" else DOCKER_HUB
    domain = provider.get("domain", default)
    host, port, scheme_https = _domain(kind, domain, where)
    https = provider.get("https", True)
    if https is not True and https is not False:
        _typed(https, bool, where, "https", "https")
    secure = bool(https) if kind == "git" else scheme_https is not False
    orgs = _organizations(provider["organizations"], where, "organizations") if "organizations" in provider else ()
    accounts = provider.get("accounts", [])
    if type(accounts) is not list:
        _typed(accounts, list, where, "accounts", "accounts")
    seen: set[str] = set()
    domain = str(domain)
    for position, entry in enumerate(accounts):
        try:
            account = _account(kind, domain, host, port, secure, orgs, entry, where, position,
                               path, layer, rank, order, parsed)
        except ConfigError as exc:
            parsed.errors.append(exc)
            continue
        if account.username in seen:
            parsed.errors.append(where.error("repeats the username of an earlier account on this domain; remove one",
                                             f"accounts[{position}]", at="username", occurrence=position))
            continue
        seen.add(account.username)
        parsed.accounts.append(account)


def _account(kind: str, domain: str, host: str, port: int | None, secure: bool, orgs: tuple[str, ...],
             entry: object, where: _Where, position: int,
             path: str, layer: str, rank: int, order: list[int], parsed: Parsed) -> Account:
    if type(entry) is not dict:
        raise where.error("must be a table like { username = \"...\", token = \"...\" }", f"accounts[{position}]")
    if not ACCOUNT_KEYS.issuperset(entry):
        for name in entry:
            if name not in ACCOUNT_KEYS:
                raise where.error(f"unknown key (known: {', '.join(sorted(ACCOUNT_KEYS))})",
                                  f"accounts[{position}].{name}", at=name)
    if "preset" in entry:
        entry = _preset(entry, where, f"accounts[{position}]")
    username = entry.get("username")
    if type(username) is not str or not username:
        raise where.error("needs a username (a non-empty string)", f"accounts[{position}].username", at="username",
                          occurrence=position)
    secret_kind, ref, ttl = _secret(entry, where, position, parsed)
    if "organizations" in entry:
        orgs = _organizations(entry["organizations"], where, f"accounts[{position}].organizations")
    order[0] += 1
    account: Account = _new(Account)  # every slot set here: the constructor's keywords cost more than the checks
    account.kind, account.domain, account.host, account.port, account.secure = kind, domain, host, port, secure
    account.username, account.secret_kind, account.secret_ref, account.ttl = username, secret_kind, ref, ttl
    account.organizations, account.layer, account.rank, account.file = orgs, layer, rank, path
    account.line = (where.table, where.index, position)  # shown lazily: linemap.py
    account.order, account.untrusted, account.source = order[0], "", None
    return account


_new = object.__new__


def _preset(entry: Table, where: _Where, key: str) -> Table:
    """The account a ``preset`` stands for: its username and ``token_env`` (gatepass.presets)."""
    from gatepass.presets import PRESETS, known

    name = entry["preset"]
    if not isinstance(name, str) or name not in PRESETS:
        raise where.error(f"must be one of {known()}", f"{key}.preset", at="preset")
    username, variable = PRESETS[name]
    clash = [k for k in (*SECRET_KEYS, "ttl") if k in entry]
    if clash:
        raise where.error(f"a preset sets the token; remove {clash[0]}", f"{key}.{clash[0]}", at=clash[0])
    if entry.get("username", username) != username:
        raise where.error(f"preset {name} uses username {username}; remove username", f"{key}.username",
                          at="username")
    return {**entry, "username": username, "token_env": variable}


def validate(tree: Table, path: str, lines: LineMap, layer: str, rank: int, order: list[int]) -> Parsed:
    """Turn one file's TOML tree into a :class:`Parsed`; a bad provider or account is skipped and reported.

    The provider tables of ``tree`` are consumed (set to ``None`` once validated)."""
    parsed = Parsed()
    for kind, tables in (("git", GIT_TABLES), ("docker", DOCKER_TABLES)):
        for table in tables:
            if table not in tree:
                continue
            providers = tree[table]
            if not isinstance(providers, list):
                parsed.errors.append(ConfigError(f"must be an array of tables: write [[{table}]]", path=path,
                                                 key=table))
                continue
            for index, provider in enumerate(providers):
                try:
                    _provider(kind, table, index, provider, path, lines, layer, rank, order, parsed)
                except ConfigError as exc:
                    parsed.errors.append(exc)
                providers[index] = None  # consumed: its memory is free for the next tables' accounts
    store_table(tree.get("store"), path, parsed)
    engine_tables(tree, path, parsed)
    return parsed
