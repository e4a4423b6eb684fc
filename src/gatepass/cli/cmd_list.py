"""``gatepass list``: every account of every layer and the store, where it comes from, and whether it works now."""

from __future__ import annotations

import click

from gatepass import app
from gatepass.cli.common import KINDS, env, load_all, print_json, provenance, readable, source_kind
from gatepass.cli.terminal import printable
from gatepass.model import Account
from gatepass.stores.layer import Store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COLUMNS = ("KIND", "PROTOCOL", "DOMAIN", "USERNAME", "LAYER", "SOURCE", "SECRET", "WHERE", "ORGANIZATIONS")


def protocol(account: Account) -> str:
    """https or http; ``-`` for a stored docker login, whose key (a registry's host) names no scheme."""
    if account.kind == "docker" and account.layer == "store":
        return "-"
    return "https" if account.secure else "http"


def row_for(account: Account, store: Store, engines: dict[str, dict[str, object]] | None = None) -> dict[str, object]:
    """One account as ``--json`` shows it: never the secret, only its source kind and readability."""
    ok, why = readable(account, store, None, engines)
    return {"kind": account.kind, "protocol": protocol(account), "domain": account.domain,
            "username": account.username,
            "organizations": list(account.organizations), **provenance(account),
            "source": source_kind(account), "readable": ok, **({} if ok else {"problem": why})}


def table(rows: list[dict[str, object]]) -> list[str]:
    cells: list[tuple[str, ...]] = [COLUMNS]
    for r in rows:
        names: Any = r["organizations"]  # a list of strings (row() above)
        organizations = ",".join(names) or "-"
        cells.append(tuple(printable(cell) for cell in (
            str(r["kind"]), str(r["protocol"]), str(r["domain"]), str(r["username"]), str(r["layer"]),
            str(r["source"]), "ok" if r["readable"] else "UNREADABLE", str(r["where"]), organizations)))
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS) - 1)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
            for row in cells]


@click.command("list")
@click.option("--kind", type=KINDS, help="Only git or only docker accounts.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of accounts, for scripts.")
def list_cmd(kind: str | None, as_json: bool) -> None:
    """List every account gatepass knows, highest precedence first (store, user, host, global; file
    order within a layer): kind, protocol (two accounts for one host over http and https differ
    only there), domain, username, layer, the secret's source kind (inline, file,
    env, command, sealed, keyring), whether it can be read now (a token_command runs, as the
    helpers would run it), file:line and organizations. Tokens are never shown. Config errors
    go to stderr; every account that loads is still listed.

    \b
    Examples:
      gatepass list --kind git
      gatepass list --json | jq -r '.[] | select(.readable | not) | .problem'
    """
    config, store, accounts = load_all(kind)
    only = app.restriction(env())
    if only:  # what the helpers would answer with: that user's accounts only
        accounts = [account for account in accounts if account.username == only]
        click.echo(printable(f"gatepass: GATEPASS_ACCOUNT={only}: listing only that user's accounts"), err=True)
    rows = [row_for(account, store, config.engines) for account in accounts]
    if as_json:
        print_json(rows)
    elif not rows:
        click.echo("no accounts; add a [[git_provider]] to ~/.config/gatepass/config.toml or run: gatepass login")
    else:
        for line in table(rows):
            click.echo(line.rstrip())
        unreadable = [r for r in rows if not r["readable"]]
        for r in unreadable:
            click.echo(printable(f"gatepass: {r['problem']}"), err=True)
