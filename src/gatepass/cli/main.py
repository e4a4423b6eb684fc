"""The ``gatepass`` command group; errors become output here and only here.

Subcommands live one per module and are imported only when run (``gatepass --help`` stays
quick). A GatepassError is one line on stderr and exit 1; anything else is one line too, with
the traceback only under ``--debug`` (or ``GATEPASS_DEBUG=1``); Ctrl-C is exit 130.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from gatepass import __version__
from gatepass.errors import GatepassError, internal_error

COMMANDS = {  # name -> "module:attribute", imported lazily
    "list": "gatepass.cli.cmd_list:list_cmd",
    "login": "gatepass.cli.cmd_login:login",
    "logout": "gatepass.cli.cmd_login:logout",
    "explain": "gatepass.cli.cmd_explain:explain",
    "config": "gatepass.cli.cmd_config:config",
    "setup": "gatepass.cli.cmd_setup:setup",
    "import": "gatepass.cli.cmd_import:import_group",
    "doctor": "gatepass.cli.cmd_doctor:doctor",
    "host-key": "gatepass.cli.cmd_hostkey:host_key",
    "seal": "gatepass.cli.cmd_seal:seal",
    "exec": "gatepass.cli.cmd_exec:exec_cmd",
    "uninstall": "gatepass.cli.cmd_setup:uninstall",
}
READ_ONLY = frozenset({"list", "explain", "config", "doctor"})  # they never write a file


SHORT_HELP = {  # what `gatepass --help` lists, so it imports no command module
    "list": "List every account, where it comes from and whether its secret reads.",
    "login": "Save a token for a domain into the store (hidden prompt).",
    "logout": "Remove stored tokens for a domain.",
    "explain": "Show which account git or docker would get, and why the others lost.",
    "config": "Check the config layers: syntax, schema, secrets, file modes.",
    "setup": "Wire git, docker's config.json and podman's registries.conf to gatepass.",
    "import": "Import docker config.json auths or ~/.git-credentials into the store.",
    "doctor": "Check versions, executables, store, config and wiring; one line each.",
    "host-key": "Print (or create) this host's key for sealed tokens.",
    "seal": "Seal a token read on stdin for one or more hosts.",
    "exec": "Run one command with GATEPASS_ACCOUNT set (pick the account by username).",
    "uninstall": "Undo every wiring (git, docker, containers) before pip/pipx uninstall.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, SHORT_HELP[name]) for name in self.list_commands(ctx)])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """click's main, then stdout flushed while a closed pipe can still end us quietly (not at exit)."""
        try:
            return super().main(*args, **kwargs)
        finally:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                from gatepass.protocol.pipes import end_quietly

                end_quietly()

    def invoke(self, ctx: click.Context) -> object:
        debug = bool(ctx.params.get("debug")) or bool(os.environ.get("GATEPASS_DEBUG"))
        try:
            return super().invoke(ctx)
        except GatepassError as exc:
            if debug:
                raise
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # the reader went away: end as other Unix tools do, silently
            from gatepass.protocol.pipes import end_quietly

            end_quietly()
        except KeyboardInterrupt:
            # Said only where true: these commands write nothing. Others may stop between two writes
            # (login: the secret, then the index; import: one entry after another).
            tail = "; nothing was changed" if ctx.invoked_subcommand in READ_ONLY else ""
            click.echo(f"gatepass: interrupted{tail}", err=True)
            sys.exit(130)
        except Exception as exc:
            if debug:
                raise
            raise click.ClickException(internal_error(exc, "--debug")) from None


@click.group(name="gatepass", cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gatepass")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
def cli(debug: bool) -> None:
    """Manage the accounts git-credential-gatepass and docker-credential-gatepass hand out.

    \b
    Examples:
      gatepass list
      gatepass explain https://github.com/acme/app.git
      gatepass login git github.com --username me
      gatepass setup git --global
    """
