"""What the gatepass commands share: the environment, config and store loading, output helpers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping

import click

from gatepass import app
from gatepass.config.layers import Config
from gatepass.errors import GatepassError, SecretUnavailableError, StoreUnavailableError
from gatepass.model import Account, Request
from gatepass.stores.layer import Store

KINDS = click.Choice(["git", "docker"])


def env() -> Mapping[str, str]:
    return os.environ


def warn(message: str) -> None:
    click.echo(f"gatepass: {message}", err=True)


def load_all(kind: str | None = None, report: Callable[[str], None] = warn) -> tuple[Config, Store, list[Account]]:
    """Every config account and stored entry (of ``kind``), highest precedence first (store, user,
    host, global; file order within a layer); config and store problems go to ``report`` (stderr)."""
    config = app.load(env(), report)
    store = app.open_store(env(), config)
    accounts: list[Account] = []
    for k in ("git", "docker"):
        if kind in (None, k):
            try:
                accounts += store.accounts(k)
            except StoreUnavailableError as exc:
                report(str(exc))
    accounts += [a for a in config.accounts if kind in (None, a.kind)]
    accounts.sort(key=lambda a: (-a.rank, a.order))  # stable: stored entries keep the index's order
    return config, store, accounts


def readable(account: Account, store: Store, request: Request | None = None,
             engines: Mapping[str, Mapping[str, object]] | None = None) -> tuple[bool, str]:
    """Whether the secret can be read now. The value is neither kept, shown nor returned:
    only the fact that reading worked, or the error (which names the account, never a value).
    ``request`` and ``engines`` (``Config.engines``) reach engine accounts as in the helpers."""
    try:
        app.read(account, store, request, engines)  # result dropped on purpose
    except (SecretUnavailableError, StoreUnavailableError) as exc:
        return False, str(exc)
    return True, "readable"


def provenance(account: Account) -> dict[str, object]:
    """Where an account comes from, for ``--json``: layer, file and line, or the store's backend."""
    if account.layer == "store":
        entry = getattr(account, "entry", None)
        return {"layer": "store", "where": account.where, "file": None, "line": None,
                "backend": getattr(entry, "backend", None)}
    return {"layer": account.layer, "where": account.where, "file": account.file, "line": account.line_number() or None}


def source_kind(account: Account) -> str:
    return "keyring" if account.secret_kind == "store" else account.secret_kind


def engine_detail(account: Account) -> str | None:
    """Where an engine account's secret lives (engine path, app or region), never the value; else None."""
    spec = account.secret_ref
    if not isinstance(spec, dict):
        return None
    if account.secret_kind == "vault":
        return f"{spec.get('path')} field {spec.get('field')}"
    return " ".join(f"{key} {value}" for key, value in sorted(spec.items()) if not key.endswith("_file"))


def print_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def read_token(from_stdin: bool, outcome: str = "nothing was saved") -> str:
    """A token from stdin's first line, or a hidden prompt asked twice (on stderr, so stdout stays the
    command's own); never from argv. The one reader for ``login`` (``--token-stdin``) and ``seal``
    (stdin unless it is a terminal); ``outcome`` ends its errors."""
    if from_stdin:
        token = sys.stdin.readline().rstrip("\n").rstrip("\r")
    else:
        if not sys.stdin.isatty():
            raise GatepassError("no terminal to ask for the token; pipe it in with --token-stdin")
        token = str(click.prompt("Token", hide_input=True, confirmation_prompt="Repeat the token", err=True))
    if not token:
        raise GatepassError(f"the token is empty; {outcome}")
    if any(c in token for c in "\r\n\0"):
        raise GatepassError(f"the token contains a line break or NUL; {outcome}")
    return token
