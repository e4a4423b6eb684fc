"""``gatepass list``: every account of every layer and the store, with where it comes from."""

from __future__ import annotations

import click

from gatepass.cli.common import KINDS, load_all, print_json, readable, source_kind


@click.command("list")
@click.option("--kind", type=KINDS, help="Only git or only docker accounts.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, for scripts.")
def list_cmd(kind: str | None, as_json: bool) -> None:
    """List every account gatepass knows, highest precedence first. Tokens are never shown.

    \b
    Example:
      gatepass list --kind git
      gatepass list --json | jq '.[] | select(.readable == false)'
    """
    _, store, accounts = load_all(kind)
    rows: list[dict[str, object]] = []
    for account in accounts:
        ok, why = readable(account, store)
        rows.append({"kind": account.kind, "domain": account.domain, "username": account.username,
                     "organizations": list(account.organizations), "layer": account.layer,
                     "where": account.where, "source": source_kind(account), "readable": ok,
                     **({} if ok else {"problem": why})})
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no accounts; add a [[git_provider]] to ~/.config/gatepass/config.toml or run gatepass login")
        return
    for row in rows:
        orgs = f" orgs={','.join(map(str, row['organizations']))}" if row["organizations"] else ""  # type: ignore[call-overload]
        state = "ok" if row["readable"] else "UNREADABLE"
        click.echo(f"{row['kind']:6} {row['domain']:30} {row['username']:20} {row['layer']:6} "
                   f"{row['source']:8} {state:10} {row['where']}{orgs}")
