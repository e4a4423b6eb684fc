"""``gatepass seal``: a token read on stdin, sealed with age to hosts' public keys for one account."""

from __future__ import annotations

import sys

import click

from gatepass.cli.common import KINDS, read_token
from gatepass.errors import GatepassError


def _binding(kind: str, domain: str, scheme: str | None) -> tuple[str, str]:
    """(scheme, normalised domain) the value is bound to; a docker ``http://`` domain means http."""
    from gatepass.hosts import normalize_domain

    try:
        host, port, written = normalize_domain(kind, domain)
    except ValueError as exc:
        raise GatepassError(f"--domain {exc}") from None
    if written is not None and scheme is not None and scheme != ("https" if written else "http"):
        raise GatepassError(f"--scheme {scheme} contradicts --domain {domain}; leave out --scheme")
    chosen = scheme or ("http" if written is False else "https")
    return chosen, host if port is None else f"{host}:{port}"


def _existing(path: str, want: tuple[str, str, str, str]) -> str | None:
    """The sealed value ``path`` (a config file) holds for this account, if any."""
    import os

    from gatepass.config.layers import parse_files
    from gatepass.sealing import binding

    if not os.path.exists(path):
        return None
    config = parse_files([("host", 1, path)])
    for account in config.accounts:
        if account.secret_kind == "sealed" and binding(account) == want:
            return str(account.secret_ref)
    return None


@click.command()
@click.option("--to", "recipients", multiple=True, required=True, metavar="RECIPIENT",
              help="An age1... key, a whole ssh-ed25519 or ssh-rsa public key line, or a file of them (repeat for several "
                   "hosts).")
@click.option("--kind", type=KINDS, required=True, help="The account's kind.")
@click.option("--domain", required=True, help="The account's domain, as written in the config.")
@click.option("--username", required=True, help="The account's username.")
@click.option("--scheme", type=click.Choice(["https", "http"]), default=None,
              help="http for a git provider with https = false (default https; a docker http:// domain says it).")
@click.option("--reuse", "reuse", default=None, metavar="CONFIG",
              help="Print the value CONFIG already holds for this account when it opens here to this very token "
                   "(for idempotent provisioning: age output is randomized).")
def seal(recipients: tuple[str, ...], kind: str, domain: str, username: str, scheme: str | None,
         reuse: str | None) -> None:
    """Read a token on stdin and print it as an ASCII-armored age file that only the given hosts
    can open, and only for this kind, scheme, domain and username (a copy on another account fails).

    Paste the output into the config as a TOML multi-line string (token = \"\"\" ... \"\"\").
    The token is never taken from the command line; the sealed value may sit in a world-readable
    file. Stock `age -d -i KEY` opens it; its plaintext format is in the README. With --reuse, a
    value CONFIG already holds is printed unchanged when this host's identity opens it to the same
    token and account and its recipients' types match --to (provisioning stays idempotent).

    \b
    Example:
      printf %s "$TOKEN" | gatepass seal --to age1qy... --to /etc/ssh/ssh_host_ed25519_key.pub \\
          --kind git --domain github.com --username deploy-bot
    """
    from gatepass.sealing import parse_recipient, reusable
    from gatepass.sealing import seal as seal_token

    chosen, where = _binding(kind, domain, scheme)
    keys = [key for text in recipients for key in parse_recipient(text)]
    token = read_token(from_stdin=not sys.stdin.isatty(), outcome="nothing was sealed")
    want = (kind, chosen, where, username)
    old = _existing(reuse, want) if reuse else None
    if old is not None:
        from gatepass.cli.common import env
        from gatepass.hostkey import HostKeyError, load_identities

        try:
            identities = load_identities(env())[0]
        except HostKeyError:
            identities = []
        if identities and reusable(old, token, want, keys, identities):
            click.echo(old if old.endswith("\n") else old + "\n", nl=False)
            return
    click.echo(seal_token(token, keys, kind, chosen, where, username), nl=False)
