"""``gatepass setup git|docker|containers``: wire git, docker's config.json and containers' registries.conf to gatepass, or undo it.

Both are idempotent, keep what was there, and undo exactly what they did: ``setup git`` records
its changes beside them in the same git config file (``gatepass.setup*`` keys), ``setup docker``
keeps a 0600 backup of ``config.json`` from before its first change. Each change of several
steps runs with Ctrl-C held until it is complete (``interrupts.py``).
"""

from __future__ import annotations

import click

from gatepass.cli import dockerconfig, gitconfig, registriesconf, setup_containers, setup_docker, setup_git
from gatepass.cli.common import env
from gatepass.errors import GatepassError


@click.group()
def setup() -> None:
    """Wire git, docker and podman/buildah/skopeo to gatepass (and --undo it).

    \b
    Examples:
      gatepass setup git
      gatepass setup docker --creds-store
    """


setup.add_command(setup_git.setup_git)
setup.add_command(setup_docker.setup_docker)
setup.add_command(setup_containers.setup_containers)


@setup.command("uninstall", hidden=True)
@click.option("--force", is_flag=True, help="Also remove wiring setup did not record.")
def setup_uninstall(force: bool) -> None:
    """Undo what setup did (run by ./install --uninstall): git (global), docker's config.json (every
    gatepass entry goes), containers' registries.conf (user); then check that nothing still names
    gatepass. What does is listed, and without --force nothing more happens (exit 1), so no wiring
    is left pointing at a helper that is about to be deleted; --force removes it too.

    \b
    Example:
      gatepass setup uninstall --force
    """
    git = gitconfig.GitConfig("--global", env())
    docker = dockerconfig.config_path(env())
    if gitconfig.available(env()):
        setup_git.unwire(git)
    setup_docker.wire_docker(docker, creds_store=False, undo=True)
    setup_containers.unwire(registriesconf.config_path(env(), system=False))
    left = setup_git.leftovers(git) if gitconfig.available(env()) else []
    if left and not force:
        raise GatepassError("still wired to gatepass, not by gatepass setup: " + "; ".join(left)
                            + "; remove that yourself, or run ./install --uninstall --force")
    if left:
        setup_git.remove_leftovers(git)
