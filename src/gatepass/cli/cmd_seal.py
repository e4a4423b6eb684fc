"""``gatepass host-key`` and ``gatepass seal``: per-host keys, and tokens only those hosts can open."""

from __future__ import annotations

import os

import click

from gatepass.cli.common import KINDS, env, read_token
from gatepass.errors import GatepassError


@click.command("host-key")
@click.option("--init", is_flag=True, help="Create the key pair if there is none (never replaces one).")
def host_key(init: bool) -> None:
    """Print this host's public key (gatepass-pub:v1:...) to seal tokens for it.

    The private key is GATEPASS_HOST_KEY, else /etc/gatepass/host.key for root, else
    ~/.config/gatepass/host.key; it is 0600 and never leaves this host.

    \b
    Example:
      sudo gatepass host-key --init     # once per host, then paste the line into your provisioning repo
    """
    from gatepass.sealing import create_key, default_key_path, load_private, public_key_text

    path = default_key_path(env())
    if not os.path.exists(path):
        if not init:
            raise GatepassError(f"no host key at {path}; create one with: gatepass host-key --init")
        raw = create_key(path)
        click.echo(f"created {path}", err=True)
    else:
        try:
            raw = load_private(path).public_key().public_bytes_raw()
        except PermissionError:
            raise GatepassError(f"cannot read {path}; run as its owner (root for the host key)") from None
    click.echo(public_key_text(raw))


@click.command()
@click.option("--to", "recipients", multiple=True, required=True, help="A host's public key (repeat for several hosts).")
@click.option("--kind", type=KINDS, required=True, help="The account's kind.")
@click.option("--domain", required=True, help="The account's domain, as written in the config.")
@click.option("--username", required=True, help="The account's username.")
def seal(recipients: tuple[str, ...], kind: str, domain: str, username: str) -> None:
    """Read a token on stdin and print a sealed value for `token = "..."` that only the given hosts can
    open, and only for this kind, domain and username.

    \b
    Example:
      printf %s "$TOKEN" | gatepass seal --to gatepass-pub:v1:AbC... --kind git --domain github.com --username deploy
    """
    from gatepass.config.schema import normalize_domain
    from gatepass.sealing import binding, parse_public_key
    from gatepass.sealing import seal as seal_token

    try:
        host, port, _ = normalize_domain(kind, domain)
    except ValueError as exc:
        raise GatepassError(f"--domain {exc}") from None
    keys = [parse_public_key(text) for text in recipients]
    click.echo(seal_token(read_token(True), keys, binding(kind, host, port, username)))
