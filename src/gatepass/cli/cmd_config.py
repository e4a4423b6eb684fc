"""``gatepass config check``: every layer parsed and validated now, secrets and file modes checked.

It parses with ``config.layers.parse_files`` directly, never from the parsed-config cache, so
what it reports is what the files say at this moment.
"""

from __future__ import annotations

import shutil
from typing import Any, NamedTuple

import click

from gatepass.cli import modes
from gatepass.cli.common import env, print_json
from gatepass.config.layers import Config, layer_files, parse_files
from gatepass.errors import GatepassError, SecretUnavailableError
from gatepass.model import Account
from gatepass.paths import token_file_path
from gatepass.secret_sources import read_secret


@click.group()
def config() -> None:
    """Inspect gatepass's config layers.

    \b
    Example:
      gatepass config check --json
    """


def parse_now(files: list[tuple[str, int, str]]) -> Config:
    """Every layer file parsed and validated from disk (the cache is neither read nor written)."""
    return parse_files(files)


def check_account(account: Account, errors: list[str], warnings: list[str]) -> None:
    """What can be known about an account's secret without printing it or running anything
    (engines are not called: ``[vault]`` is checked once, by :func:`check_engines`)."""
    if account.untrusted:  # its layer's error says it once (a layer others can write gives no secret)
        return
    kind = account.secret_kind
    if kind in ("file", "env"):
        try:
            read_secret(account, env())  # the value is dropped; only an error is kept
        except SecretUnavailableError as exc:
            errors.append(str(exc))
        if kind == "file":
            warning = modes.token_file_warning(token_file_path(account.file, str(account.secret_ref)))
            if warning:
                warnings.append(f"{account.where}: account {account.label()}: {warning}")
    elif kind == "command":
        from gatepass.engines.command import check_writers

        argv: Any = account.secret_ref  # secret_kind "command": an argv tuple (config/schema.py)
        program = str(tuple(argv)[0])  # argv[0] only: the rest may be anything
        try:
            check_writers(account.file)
        except SecretUnavailableError as exc:
            errors.append(f"{account.where}: account {account.label()}: {exc}")
        if shutil.which(program, path=env().get("PATH")) is None:
            errors.append(f"{account.where}: account {account.label()}: token_command {program} is not found "
                          "on PATH; install it or give its full path")
    elif kind in ("github_app", "aws_ecr", "gcp_service_account"):  # checked offline: no token is minted here
        import importlib

        problem = importlib.import_module(f"gatepass.engines.{kind}").offline_problem(account)
        if problem:
            errors.append(f"{account.where}: account {account.label()}: {problem}")
    elif kind == "sealed":
        try:
            read_secret(account, env())
        except GatepassError as exc:  # a fleet file may hold values sealed for other hosts
            warnings.append(f"cannot be opened on this host: {exc}")


def check_engines(parsed: Config, errors: list[str], warnings: list[str]) -> None:
    """The ``[vault]`` table as the engine will use it (with VAULT_ADDR and friends), when an account needs it."""
    if not any(a.secret_kind == "vault" for a in parsed.accounts) and "vault" not in parsed.engines:
        return
    from gatepass.engines.vault import settings_problems

    for problem in settings_problems(parsed.engines.get("vault", {}), env()):
        errors.append(f"[vault]: {problem}")


class Report(NamedTuple):
    files: list[dict[str, object]]  # layer, path, exists, accounts
    accounts: int
    errors: list[str]
    warnings: list[str]
    notes: list[str]  # defaults applied (a provider without domain): worth saying, nothing to fix


def gather() -> Report:
    """Everything ``config check`` reports, computed now (``doctor`` shows the same)."""
    from gatepass.config.lint import lint

    parsed = parse_now(layer_files(env()))
    errors, warnings = list(parsed.errors), list[str]()
    for account in parsed.accounts:
        check_account(account, errors, warnings)
    check_engines(parsed, errors, warnings)
    counts: dict[str, int] = {}
    for account in parsed.accounts:
        counts[account.file] = counts.get(account.file, 0) + 1
    found = [{"layer": layer, "path": path, "exists": exists, "accounts": counts.get(path, 0)}
             for layer, path, exists in parsed.files]
    typos, notes = lint([path for _, path, exists in parsed.files if exists])
    return Report(found, len(parsed.accounts), errors, warnings + typos, notes)


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Files, errors and warnings as JSON.")
def check(as_json: bool) -> None:
    """Parse and validate every layer (syntax, schema, duplicates), read every token_file and
    token_env (the values are dropped, never shown), check token_command programs and sealed
    values, and file modes: a world-readable file with inline tokens is an error, token files
    others can read and config files others can write are warnings, and so is a table name close
    to one gatepass reads ([[git_providers]]); a provider without domain gets a note saying it
    is github.com or docker.io (Komodo's default). Token commands are not run.
    Lists the files looked at, found or not. Exits 1 on any error, so provisioning can run it.

    \b
    Examples:
      gatepass config check && echo "fleet config OK"
      GATEPASS_CONFIG=new.toml gatepass config check --json | jq .errors
    """
    report = gather()
    found, errors, warnings = report.files, report.errors, report.warnings
    if as_json:
        print_json({"files": found, "accounts": report.accounts, "errors": errors, "warnings": warnings,
                    "notes": report.notes})
    else:
        for item in found:
            state = f"found, {item['accounts']} account(s)" if item["exists"] else "not found"
            click.echo(f"{item['layer']:7} {item['path']}: {state}")
        click.echo(f"{report.accounts} account(s) in {sum(1 for f in found if f['exists'])} file(s); "
                   f"{len(errors)} error(s), {len(warnings)} warning(s)")
        for line in report.notes:
            click.echo(f"note: {line}", err=True)
        for line in warnings:
            click.echo(f"warning: {line}", err=True)
        for line in errors:
            click.echo(f"error: {line}", err=True)
    if errors:
        raise SystemExit(1)
