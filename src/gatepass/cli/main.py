"""The ``gatepass`` command group; GatepassError becomes click output here and only here."""

from __future__ import annotations

import click

from gatepass import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gatepass")
def cli() -> None:
    """Manage the accounts git-credential-gatepass and docker-credential-gatepass hand out.

    \b
    Example:
      gatepass --version
    """
