"""What an engine module is: the contract ``gatepass.engines.read_engine`` relies on, as a type.

An engine is a module ``gatepass.engines.<kind>`` (``<kind>`` in ``ENGINE_KINDS``) providing
:class:`Engine`'s two functions, and optionally:

- ``SETTINGS_TABLE``: the top-level table it reads (``"vault"``); ``settings`` is then that table
  from the highest layer that has one (a table with an error never reaches it: its accounts get
  the error), else ``{}``;
- ``admit(account, env)``: raise ``SecretUnavailableError`` when the account may not be read at all,
  judged before a cached value is used (``command``: the config must be one only its owner can change);
- ``lock_wait(env)``: seconds a parallel helper waits for the one fetching the same key (default 15);
- ``offline_problem(account)``: what ``config check`` can say without calling anything.

The rules every engine keeps (tests/contract/test_engines.py's ``EngineContract`` checks them for
each): ``cache_key`` does no I/O (no file opened, no connection, no process); ``fetch`` ends within
its own deadline whatever its server does; an error is one ``SecretUnavailableError`` line that names
no value (not the secret fetched, nor any token, key or assertion it sent).
"""

from __future__ import annotations

from typing import Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from gatepass.model import Account, Request

OPTIONAL = ("SETTINGS_TABLE", "admit", "lock_wait", "offline_problem")


class Engine(Protocol):
    def cache_key(self, account: Account, request: Request, *, env: Mapping[str, str],
                  settings: Mapping[str, object]) -> tuple[str, ...] | None:
        """The account's cache key for this request (``None``: never cached); cheap, no I/O."""

    def fetch(self, account: Account, request: Request, env: Mapping[str, str], *,
              settings: Mapping[str, object]) -> tuple[str, int | None]:
        """(value, unix expiry or None) read now, within the engine's deadline."""


if TYPE_CHECKING:  # mypy checks every engine module against the contract
    from gatepass.engines import aws_ecr, command, gcp_service_account, github_app, vault

    ENGINES: tuple[Engine, ...] = (vault, github_app, aws_ecr, gcp_service_account, command)
