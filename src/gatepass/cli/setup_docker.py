"""``gatepass setup docker``: name gatepass in docker's config.json, or undo it.

Before the first change the file is copied to ``config.json.gatepass-backup`` (0600); ``--undo``
puts back what it held. Every other key is kept (``dockerconfig.py``).
"""

from __future__ import annotations

import os

import click

from gatepass.cli import dockerconfig, rootrecord
from gatepass.cli.common import env, load_all, warn
from gatepass.cli.interrupts import deferred_interrupts
from gatepass.cli.setup_git import say


@click.command("docker")
@click.option("--creds-store/--no-creds-store", default=None,
              help="credsStore gatepass even over another helper's / leave credsStore alone. Default: set it unless "
                   "another helper holds it.")
@click.option("--undo", is_flag=True, help="Take gatepass's entries out again, putting back the values they replaced.")
@click.option("--config", "path", type=click.Path(dir_okay=False), help="config.json (default: $DOCKER_CONFIG or ~/.docker).")
@click.option("--force", is_flag=True, help="Write it even though docker-credential-gatepass is not on PATH.")
def setup_docker(creds_store: bool | None, undo: bool, path: str | None, force: bool) -> None:
    """Name gatepass in config.json's credHelpers for every registry gatepass has an account for
    (its server string; an insecure http:// registry as host:port; Docker Hub under both
    https://index.docker.io/v1/ and docker.io), and in credsStore, so `docker login` to any other
    registry stores through gatepass instead of leaving a base64 password in the file (unless
    another helper already is the credsStore). Every other key is kept. Before the first change
    the file is copied to config.json.gatepass-backup (0600); --undo puts back what it held.

    \b
    Examples:
      gatepass setup docker
      gatepass setup docker --creds-store --config /srv/ci/.docker/config.json
      gatepass setup docker --undo
    """
    if not undo:
        dockerconfig.require_helper_on_path(env(), force)
    wire_docker(dockerconfig.config_path(env(), path), creds_store, undo)
    if not undo:
        rootrecord.record_quietly(env())  # podman reads credHelpers too


def wire_docker(path: str, creds_store: bool | None, undo: bool) -> None:
    backup_path = path + dockerconfig.BACKUP_SUFFIX
    before = dockerconfig.read_config(path)
    current = before if before is not None else {}
    backup = dockerconfig.read_config(backup_path)
    if undo:
        new = dockerconfig.without_gatepass(current, backup)
    else:
        _, _, accounts = load_all("docker")
        keys, wildcards = dockerconfig.registry_keys(accounts)
        for domain in wildcards:
            warn(f"{domain}: a wildcard names no single registry for credHelpers; use --creds-store to cover it")
        if creds_store is None and current.get("credsStore") not in (None, "", dockerconfig.HELPER):
            warn(f"credsStore {current['credsStore']} kept: docker login to a registry without an account here "
                 "stores there; --creds-store makes it gatepass")
        if not keys and creds_store is False:
            warn("no docker registry is configured yet; add a [[docker_registry]] or run: gatepass login docker HOST")
        new = dockerconfig.with_gatepass(current, keys, creds_store)
    if new == current:
        say(f"{path} is already as wanted; nothing changed")
        return
    with deferred_interrupts():
        if not undo and before is not None and (backup is None or not dockerconfig.uses_gatepass(current)):
            made, replaced = dockerconfig.back_up(path)  # the state before this round of gatepass changes
            say(f"backup: {made}" + (" (replacing the one taken before gatepass's previous round)" if replaced else ""))
        if undo and new == {} and backup is None and before is not None:
            os.unlink(os.path.realpath(path))  # setup created it: nothing was there before
            say(f"removed {path}, which gatepass setup had created")
            return
        dockerconfig.write_file(path, dockerconfig.render(new))
    say(f"wrote {path}")
    if not undo and dockerconfig.plain_auths(new):
        warn(f"{path} still holds {dockerconfig.plain_auths(new)} credential(s) in auths; "
             f"move them into gatepass with: gatepass import docker-config {path} --remove")

