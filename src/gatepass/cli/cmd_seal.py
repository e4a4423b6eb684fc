"""``gatepass seal``: a token read on stdin, sealed with age to hosts' public keys for one account."""

from __future__ import annotations

import sys

import click

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
    return token


def _binding(kind: str, domain: str, scheme: str | None) -> tuple[str, str]:
    """(scheme, normalised domain) the value is bound to; a docker ``http://`` domain means http."""
    from gatepass.config.schema import normalize_domain

    try:
        host, port, written = normalize_domain(kind, domain)
    except ValueError as exc:
        raise GatepassError(f"--domain {exc}") from None
    if written is not None and scheme is not None and scheme != ("https" if written else "http"):
        raise GatepassError(f"--scheme {scheme} contradicts --domain {domain}; leave out --scheme")
    chosen = scheme or ("http" if written is False else "https")
    return chosen, host if port is None else f"{host}:{port}"


@click.command()
@click.option("--to", "recipients", multiple=True, required=True, metavar="RECIPIENT",
              help="An age1... key, a whole ssh-ed25519 public key line, or a file of them (repeat for several hosts).")
@click.option("--kind", type=KINDS, required=True, help="The account's kind.")
@click.option("--domain", required=True, help="The account's domain, as written in the config.")
@click.option("--username", required=True, help="The account's username.")
@click.option("--scheme", type=click.Choice(["https", "http"]), default=None,
              help="http for a git provider with https = false (default https; a docker http:// domain says it).")
def seal(recipients: tuple[str, ...], kind: str, domain: str, username: str, scheme: str | None) -> None:
    """Read a token on stdin and print it as an ASCII-armored age file that only the given hosts
    can open, and only for this kind, scheme, domain and username (a copy on another account fails).

    Paste the output into the config as a TOML multi-line string (token = \"\"\" ... \"\"\").
    The token is never taken from the command line; the sealed value may sit in a world-readable
    file. Stock `age -d -i KEY` opens it; its plaintext format is in the README.

    \b
    Example:
      printf %s "$TOKEN" | gatepass seal --to age1qy... --to /etc/ssh/ssh_host_ed25519_key.pub \\
          --kind git --domain github.com --username deploy-bot
    """
    from gatepass.sealing import parse_recipient
    from gatepass.sealing import seal as seal_token

    chosen, where = _binding(kind, domain, scheme)
    keys = [key for text in recipients for key in parse_recipient(text)]
    click.echo(seal_token(_read_token(), keys, kind, chosen, where, username), nl=False)
