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
from gatepass.cli.setup_git import say
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
    """Undo what setup did (run by ./install --uninstall); the same as `gatepass uninstall`.

    \b
    Example:
      gatepass setup uninstall --force
    """
    unwire_all(force)


@click.command("uninstall")
@click.option("--force", is_flag=True, help="Also remove wiring setup did not record.")
def uninstall(force: bool) -> None:
    """Undo every wiring before gatepass itself goes (pip uninstall, pipx uninstall): git's global
    credential.helper, docker's config.json (every gatepass entry), containers' registries.conf
    (user); then check that nothing still names gatepass. What does is listed, and without --force
    nothing more happens (exit 1), so git is never left naming a helper about to be deleted;
    --force removes it too. The config, the store and the host key are kept.

    \b
    Examples:
      gatepass uninstall && pipx uninstall gatepass
      gatepass uninstall --force
    """
    unwire_all(force)
    say("nothing names gatepass any more; its config, store and host key are kept. Now: pipx uninstall gatepass "
        "(or pip uninstall gatepass)")


def unwire_all(force: bool) -> None:
    """Undo setup git, setup docker and setup containers (user); refuse on wiring setup did not record, unless ``force``."""
    git = gitconfig.GitConfig("--global", env())
    docker = dockerconfig.config_path(env())
    if gitconfig.available(env()):
        setup_git.unwire(git)
    setup_docker.wire_docker(docker, creds_store=False, undo=True)
    setup_containers.unwire(registriesconf.config_path(env(), system=False))
    left = setup_git.leftovers(git) if gitconfig.available(env()) else []
    if left and not force:
        raise GatepassError("still wired to gatepass, not by gatepass setup: " + "; ".join(left)
                            + "; remove that yourself, or run again with --force")
    if left:
        setup_git.remove_leftovers(git)
