"""``gatepass seal``: a token read on stdin, sealed to hosts' public keys for one account."""

from __future__ import annotations

import sys

import click

from gatepass.cli.cmd_hostkey import host_key  # noqa: F401  # main.py registered it here first
from gatepass.cli.common import KINDS
from gatepass.errors import GatepassError


def _read_token() -> str:
    """The token: stdin's first line when piped, else a hidden prompt asked twice; never argv."""
    if sys.stdin.isatty():
        token = str(click.prompt("Token", hide_input=True, confirmation_prompt="Repeat the token", err=True))
    else:
        token = sys.stdin.readline().rstrip("\n").rstrip("\r")
    if not token:
        raise GatepassError("the token is empty; pipe it in on stdin")
    if any(c in token for c in "\r\n\0"):
        raise GatepassError("the token contains a line break or NUL; git and docker could not use it")
    return token


@click.command()
@click.option("--to", "recipients", multiple=True, required=True, metavar="PUBKEY",
              help="A host's public key from `gatepass host-key` (repeat for several hosts).")
@click.option("--kind", type=KINDS, required=True, help="The account's kind.")
@click.option("--domain", required=True, help="The account's domain, as written in the config.")
@click.option("--username", required=True, help="The account's username.")
def seal(recipients: tuple[str, ...], kind: str, domain: str, username: str) -> None:
    """Read a token on stdin and print a sealed value for `token = "..."` that only the given hosts
    can open, and only for this kind, domain and username (a copy on another account fails).

    The token is never taken from the command line. The value may sit in a world-readable file.

    \b
    Example:
      printf %s "$TOKEN" | gatepass seal --to gatepass-pub:v1:AbC... --to gatepass-pub:v1:XyZ... \\
          --kind git --domain github.com --username deploy-bot
    """
    from gatepass.config.schema import normalize_domain
    from gatepass.sealing import binding, parse_public_key
    from gatepass.sealing import seal as seal_token

    try:
        host, port, _ = normalize_domain(kind, domain)
    except ValueError as exc:
        raise GatepassError(f"--domain {exc}") from None
    keys = [parse_public_key(text) for text in recipients]
    click.echo(seal_token(_read_token(), keys, binding(kind, host, port, username)))
