"""``gatepass exec``: run one command with ``GATEPASS_ACCOUNT`` set, so its git and docker use that account.

The command replaces this process (``os.execvpe``) instead of running as a child: stdin, stdout,
stderr, the terminal, the process id and every signal go straight to it, and its exit status is
the one the caller sees, with nothing of gatepass left running to forward or translate them. The
environment is the caller's with exactly one change: ``GATEPASS_ACCOUNT`` set to ``--account``
(or removed without it, so the command gets gatepass's ordinary choice).
"""

from __future__ import annotations

import os
import sys

import click

from gatepass.errors import GatepassError


def command_environment(environ: dict[str, str], account: str | None) -> dict[str, str]:
    """``environ`` with only ``GATEPASS_ACCOUNT`` changed."""
    changed = dict(environ)
    if account is None:
        changed.pop("GATEPASS_ACCOUNT", None)
    else:
        changed["GATEPASS_ACCOUNT"] = account
    return changed


@click.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--account", "-a", metavar="USERNAME",
              help="The username every git and docker credential of CMD must have (sets GATEPASS_ACCOUNT).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_cmd(account: str | None, command: tuple[str, ...]) -> None:
    """Run CMD with GATEPASS_ACCOUNT=USERNAME, so the git and docker credential helpers answer only
    with that user's account (a second account on one registry, where docker sends only the host).
    Nothing else in the environment changes; CMD replaces gatepass, so its input, output, signals
    and exit status are its own.

    \b
    Examples:
      gatepass exec --account robot-two -- docker pull registry.example/app:1.0
      gatepass exec -a deploy -- git clone https://git.example/acme/app.git
    """
    if account is not None and (not account or any(c in account for c in "\r\n\0")):
        raise GatepassError("--account needs a username (one line, not empty); example: gatepass exec -a deploy -- git fetch")
    argv = list(command[1:] if command[0] == "--" else command)
    if not argv:
        raise GatepassError("no command given; example: gatepass exec -a deploy -- git fetch")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, command_environment(dict(os.environ), account))
    except FileNotFoundError:
        click.echo(f"gatepass: {argv[0]}: command not found", err=True)
        sys.exit(127)
    except OSError as exc:
        click.echo(f"gatepass: {argv[0]}: cannot run ({exc.strerror})", err=True)
        sys.exit(126)
