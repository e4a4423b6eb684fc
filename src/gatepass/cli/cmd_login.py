"""``gatepass login`` and ``gatepass logout``: put a token into the store layer, or take it out."""

from __future__ import annotations

import click

from gatepass import app
from gatepass.cli.common import KINDS, env, read_token, warn
from gatepass.errors import GatepassError
from gatepass.hosts import join_host_port, parse_authority, parse_docker_server, split_host_port
from gatepass.stores.index import Entry


def entry_for(kind: str, domain: str, username: str) -> Entry:
    """The store entry a login writes: git at ``https://host`` (``http://`` when written so), docker by server key."""
    if kind == "docker":
        parsed = parse_docker_server(domain)
        if parsed is None or parsed[3]:
            raise GatepassError(f"{_shown(domain)} is not a registry host[:port]; example: gatepass login docker ghcr.io")
        _, host, port, _ = parsed
        return Entry("docker", "", join_host_port(host, port), "", username)
    scheme, _, rest = domain.rpartition("://")
    scheme = (scheme or "https").lower()
    authority = parse_authority(rest.rstrip("/"), scheme) if scheme in ("http", "https") and "/" not in rest.rstrip("/") else None
    if authority is None:
        raise GatepassError(f"{_shown(domain)} is not a host[:port] or http(s)://host[:port]; "
                            "example: gatepass login git github.com")
    host, port = authority
    return Entry("git", scheme, join_host_port(host, port), "", username)


def _shown(domain: str) -> str:
    """``domain`` as an error may show it: a ``user:token@`` someone pasted in is left out."""
    scheme, sep, rest = domain.rpartition("://")
    if "@" not in rest:
        return domain
    return f"{scheme}{sep}[userinfo removed]@{rest.rpartition('@')[2]}"


def plain_http_if_configured(kind: str, domain: str) -> str:
    """``http://DOMAIN`` when no scheme is written and the config serves that git host only over http.

    A git login is for https unless told otherwise; but a provider with ``https = false`` answers
    only http requests, so a login for it saved under https would never be asked for.
    """
    if kind != "git" or "://" in domain:
        return domain
    parsed = parse_authority(domain.rstrip("/"), "https")
    if parsed is None:
        return domain
    from gatepass.cli.common import load_all

    _, _, accounts = load_all("git", lambda message: None)
    same_host = [a for a in accounts if a.layer != "store" and (a.host, a.port) == parsed]
    for account in same_host:
        if not any(a.secure for a in same_host):
            warn(f"{account.where} serves {domain} over plain http (https = false): saving for http://{domain}")
            return f"http://{domain}"
    return domain


@click.command()
@click.argument("kind", type=KINDS)
@click.argument("domain")
@click.option("--username", "-u", help="The account's username (asked for when omitted and a terminal is there).")
@click.option("--token-stdin", is_flag=True, help="Read the token from stdin's first line instead of a prompt.")
def login(kind: str, domain: str, username: str | None, token_stdin: bool) -> None:
    """Save a token for DOMAIN into the store layer (the keyring), asked for with a hidden prompt.

    \b
    Examples:
      gatepass login git github.com --username me
      echo "$CI_TOKEN" | gatepass login docker ghcr.io -u ci --token-stdin
    """
    if username is None:
        if token_stdin:
            raise GatepassError("--token-stdin needs --username")
        username = click.prompt("Username")
    assert username is not None
    domain = plain_http_if_configured(kind, domain)
    entry = entry_for(kind, domain, username)
    token = read_token(token_stdin)
    store = app.store_for((split_host_port(entry.host) or (entry.host, None))[0], env(), warn)
    store.save(entry, token)
    where = f"{entry.protocol}://{entry.host}" if kind == "git" else entry.host
    assumed = (f" (https, as no scheme was written; for plain http: gatepass login git http://{domain})"
               if kind == "git" and "://" not in domain else "")
    click.echo(f"saved {kind} token for {username} on {where} in {entry.backend}{assumed}", err=True)


@click.command()
@click.argument("kind", type=KINDS)
@click.argument("domain")
@click.option("--username", "-u", help="Only this user's token (default: every stored token for DOMAIN).")
def logout(kind: str, domain: str, username: str | None) -> None:
    """Remove stored tokens for DOMAIN from the store layer. Config files are never changed.

    \b
    Example:
      gatepass logout git github.com --username me
    """
    want = entry_for(kind, domain, username or "")
    store = app.open_store(env(), app.load(env(), warn))
    removed = store.erase(lambda e: e.kind == kind and e.host == want.host and e.protocol == want.protocol
                          and (username is None or e.username == username))
    where = f"{want.protocol}://{want.host}" if kind == "git" else want.host
    click.echo(f"removed {len(removed)} stored token(s) for {where}", err=True)
    if not removed:
        from gatepass.hosts import split_host_port

        host, port = split_host_port(want.host) or (want.host, None)
        configured = [a for a in app.load(env(), lambda message: None).accounts
                      if a.kind == kind and (a.host, a.port) == (host, port) and a.layer != "store"
                      and (username is None or a.username == username)]
        for account in configured[:1]:
            warn(f"the login for {account.label()} comes from {account.where}, which gatepass does not edit; "
                 "remove the account there to log out")
