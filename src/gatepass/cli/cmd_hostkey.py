"""``gatepass host-key``: the age identity that opens sealed tokens here, created once, public key printed."""

from __future__ import annotations

import os

import click

from gatepass.cli.common import env
from gatepass.errors import GatepassError


@click.command("host-key")
@click.option("--init", is_flag=True, help="Create the identity if there is none (an existing one is kept, never replaced).")
@click.option("--group", default=None, metavar="GROUP",
              help="Share a new key with GROUP (0640). Default for /etc/gatepass/host.key: group gatepass when it exists.")
def host_key(init: bool, group: str | None) -> None:
    """Print this host's public key (age1...), the recipient `gatepass seal --to` takes.

    The identity is GATEPASS_HOST_KEY when set (an age-keygen file, or an unencrypted OpenSSH
    key such as /etc/ssh/ssh_host_ed25519_key), else /etc/gatepass/host.key (root:gatepass 0640),
    else ~/.config/gatepass/host.key; --init writes the first for root or when GATEPASS_HOST_KEY
    is set, else the last. The public key is written beside it (host.key.pub, world-readable).
    Only the public key goes to stdout; the file goes to stderr. Back the key up like an ssh host key.

    \b
    Examples:
      sudo gatepass host-key --init        # once per host; paste the line into your provisioning repo
      PUB=$(gatepass host-key)             # print it again later (any user: it reads host.key.pub)
    """
    from gatepass.hostkey import create_key, init_path, show

    if init:
        path = init_path(env())
        if not os.path.lexists(path):
            public = create_key(path, group)
            click.echo(public)
            click.echo(f"{path}: created; public key in {path}.pub", err=True)
            return
    elif group is not None:
        raise GatepassError("--group applies to --init only")
    public, path = show(env(), [init_path(env())] if init else None)
    click.echo(public)
    click.echo(f"{path}: {'exists already, kept' if init else 'the identity'}", err=True)
