"""Secrets from engines (docs/design.md "Secrets from engines"): the framework every engine plugs into.

An engine account is an Account whose ``secret_kind`` is the engine's name (one of
:data:`ENGINE_KINDS`) and whose ``secret_ref`` is its validated spec (a flat dict of str/int values
the parsed-config cache marshals; ``command``'s is its argv). Each engine is a module
``gatepass.engines.<kind>``, imported only when such an account is tried, providing what
``engines/interface.py`` says an engine is: ``cache_key`` (cheap, no I/O; ``None``: never cached)
and ``fetch`` (within its own deadline; errors one line naming no value), and optionally
``SETTINGS_TABLE``, ``admit`` and ``lock_wait``.

:func:`read_engine` answers from :mod:`gatepass.engines.tokencache` first: a warm ``get`` imports
the engine module (which must keep its client and JSON imports inside ``fetch``) and reads one
0600 file. On a miss it takes the key's lock (single flight: parallel helpers for one key wait,
then read what the first one cached), fetches and caches the value until its expiry.
"""

from __future__ import annotations

import time

from gatepass.errors import GatepassError, SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar

    from gatepass.model import Account, Request, Secret

    T = TypeVar("T")

ENGINE_KINDS = ("vault", "github_app", "aws_ecr", "gcp_service_account", "command")

# How long a helper waits for another one fetching the same key before giving up on the lock.
LOCK_WAIT = 15.0


def within(seconds: float, work: Callable[[], T], late: str) -> T:
    """``work()``'s result, or SecretUnavailableError(``late``) once ``seconds`` have passed: for a
    client library (botocore) whose timeouts are per operation, so a server dripping bytes could
    otherwise hold the helper without end. ``work`` runs in a daemon thread nobody waits for after."""
    import threading

    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise SecretUnavailableError(late)
    done, value = outcome[0]
    if not done:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


def request_for(account: Account) -> Request:
    """The request an account answers when no helper asked (``config check``, ``doctor``)."""
    from gatepass.model import Request

    return Request(account.kind, "https" if account.secure else "http", account.host, account.port)


def _engine(account: Account, settings: Mapping[str, Mapping[str, object]] | None) -> tuple[Any, dict[str, object]]:
    """(the engine module of ``account``, its settings table); a table with an error is that error."""
    import sys

    kind = account.secret_kind
    if kind not in ENGINE_KINDS:
        raise SecretUnavailableError(f"{kind} is not an engine gatepass knows")
    name = f"gatepass.engines.{kind}"
    __import__(name)  # not importlib.import_module: importing importlib would weigh on a warm get
    module = sys.modules[name]
    table_name = getattr(module, "SETTINGS_TABLE", None)
    table = dict((settings or {}).get(table_name, {})) if table_name else {}
    if table:
        from gatepass.engines.specs import TABLE_ERROR

        if TABLE_ERROR in table:  # never the environment's settings instead (VAULT_TOKEN): the config meant others
            raise SecretUnavailableError(str(table[TABLE_ERROR]))
    return module, table


def forget(account: Account, request: Request | None, env: Mapping[str, str],
           settings: Mapping[str, Mapping[str, object]] | None, value: str) -> bool:
    """Drop the cached value of an engine account when it is ``value`` (a server rejected it: git's
    ``erase``), so the next request reads the engine again instead of waiting out the ttl."""
    from gatepass.engines import tokencache

    try:
        module, table = _engine(account, settings)
    except SecretUnavailableError:
        return False
    request = request if request is not None else request_for(account)
    tail = module.cache_key(account, request, env=env, settings=table)
    if tail is None:
        return False
    key = (account.secret_kind, *tail)
    hit = tokencache.get(env, key)
    if hit is None or hit[0] != value:
        return False
    tokencache.drop(env, key)
    return True


def read_engine(account: Account, request: Request | None, env: Mapping[str, str],
                settings: Mapping[str, Mapping[str, object]] | None = None,
                now: Callable[[], float] = time.time) -> Secret:
    """The account's secret from its engine: cached while valid, else fetched once under the key's lock.

    ``settings`` maps table names (``vault``) to the config's merged tables. Errors are
    ``SecretUnavailableError`` with the engine's one line (the caller adds the account's place).
    """
    from gatepass.engines import tokencache
    from gatepass.model import Secret

    module, table = _engine(account, settings)
    kind = account.secret_kind
    request = request if request is not None else request_for(account)
    admit = getattr(module, "admit", None)
    if admit is not None:  # before any cached value is used: the config must still be one we trust
        admit(account, env)
    # env too for engines without a table: aws_ecr's identity includes AWS_PROFILE / AWS_ACCESS_KEY_ID.
    tail = module.cache_key(account, request, env=env, settings=table)
    if tail is None:  # this account's value is never cached (token_command without ttl)
        return Secret(*_fetch(module, account, request, env, table))
    key = (kind, *tail)
    hit = tokencache.get(env, key, now)
    if hit is not None:
        return Secret(hit[0], hit[1])
    wait = getattr(module, "lock_wait", None)
    with tokencache.lock(env, key, wait(env) if wait is not None else LOCK_WAIT):
        hit = tokencache.get(env, key, now)  # a parallel helper may have fetched it while we waited
        if hit is not None:
            return Secret(hit[0], hit[1])
        value, expiry = _fetch(module, account, request, env, table)
        if expiry is not None:
            tokencache.put(env, key, value, expiry, now)
        return Secret(value, expiry)


def _fetch(module: Any, account: Account, request: Request, env: Mapping[str, str], table: dict[str, object]
           ) -> tuple[str, int | None]:
    try:
        value, expiry = module.fetch(account, request, env, settings=table)
    except GatepassError as exc:
        raise SecretUnavailableError(str(exc)) from None
    return value, expiry
