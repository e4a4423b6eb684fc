"""``gatepass host-key``: this host's X25519 key pair for sealed secrets, created once, public half printed."""

from __future__ import annotations

import os

import click

from gatepass.cli.common import env
from gatepass.errors import GatepassError


@click.command("host-key")
@click.option("--init", is_flag=True, help="Create the key pair if there is none (an existing key is kept, never replaced).")
def host_key(init: bool) -> None:
    """Print this host's public key (gatepass-pub:v1:...), to seal tokens for it with `gatepass seal`.

    The private key is GATEPASS_HOST_KEY when set, else /etc/gatepass/host.key for root, else
    ~/.config/gatepass/host.key (a user's own key, for the user layer). It is 0600, is never
    replaced and never leaves this host: back it up like an ssh host key. Sealed values are opened
    with the host key and the user's key both. Only the public key goes to stdout; its key id
    (named by "sealed for another host" errors) and the file go to stderr.

    \b
    Examples:
      sudo gatepass host-key --init        # once per host; paste the line into your provisioning repo
      PUB=$(gatepass host-key)             # print it again later
    """
    from gatepass.hostkey import create_key, default_key_path, key_id, public_key_text, public_of

    path = default_key_path(env())
    if os.path.lexists(path):
        try:
            raw = public_of(path)
        except FileNotFoundError:
            raise GatepassError(f"{path} is a link to nothing; remove it or point it at the key") from None
        note = "exists already, kept" if init else "the private key"
    elif init:
        raw = create_key(path)
        note = "created, 0600"
    else:
        raise GatepassError(f"no host key at {path}; create one with: gatepass host-key --init")
    click.echo(public_key_text(raw))
    click.echo(f"key id {key_id(raw).hex()}; {path}: {note}", err=True)
