"""What the gatepass commands share: the environment, config and store loading, output helpers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

import click

from gatepass import app
from gatepass.config.layers import Config
from gatepass.errors import GatepassError, SecretUnavailableError, StoreUnavailableError
from gatepass.model import Account
from gatepass.store import Store

KINDS = click.Choice(["git", "docker"])


def env() -> Mapping[str, str]:
    return os.environ


def warn(message: str) -> None:
    click.echo(f"gatepass: {message}", err=True)


def load_all(kind: str | None = None) -> tuple[Config, Store, list[Account]]:
    """Every config account and stored entry (of ``kind``), stored first; problems go to stderr."""
    config = app.load(env(), warn)
    store = app.open_store(env(), config)
    accounts: list[Account] = []
    for k in ("git", "docker"):
        if kind in (None, k):
            try:
                accounts += store.accounts(k)
            except StoreUnavailableError as exc:
                warn(str(exc))
    accounts += [a for a in config.accounts if kind in (None, a.kind)]
    return config, store, accounts


def readable(account: Account, store: Store) -> tuple[bool, str]:
    """Whether the secret can be read now; the value is dropped at once and never shown."""
    try:
        app.read(account, store)
    except (SecretUnavailableError, StoreUnavailableError) as exc:
        return False, str(exc)
    return True, "readable"


def source_kind(account: Account) -> str:
    return "keyring" if account.secret_kind == "store" else account.secret_kind


def print_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def read_token(token_stdin: bool) -> str:
    """A token from stdin's first line, or a hidden prompt asked twice; never from argv."""
    if token_stdin:
        token = sys.stdin.readline().rstrip("\n").rstrip("\r")
    else:
        if not sys.stdin.isatty():
            raise GatepassError("no terminal to ask for the token; pipe it in with --token-stdin")
        token = click.prompt("Token", hide_input=True, confirmation_prompt="Repeat the token")
    if not token:
        raise GatepassError("the token is empty; nothing was saved")
    if any(c in token for c in "\r\n\0"):
        raise GatepassError("the token contains a line break or NUL; nothing was saved")
    return token
