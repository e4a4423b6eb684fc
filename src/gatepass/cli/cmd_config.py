"""``gatepass config check``: every layer parsed and validated, secrets and file modes checked."""

from __future__ import annotations

import os
import stat

import click

from gatepass.cli.common import env, print_json
from gatepass.config.layers import layer_files, parse_files
from gatepass.errors import SecretUnavailableError
from gatepass.secrets import read_secret


@click.group()
def config() -> None:
    """Inspect gatepass's config layers."""


def _token_file_problems(path: str) -> list[str]:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return []
    return [f"{path}: token file is readable by other users; run: chmod 600 {path}"] if mode & stat.S_IROTH else []


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Files, errors and warnings as JSON.")
def check(as_json: bool) -> None:
    """Parse and validate every layer, read every file and environment token, check file modes.
    Exits 1 on any error, so provisioning can run it. Token commands are not run.

    \b
    Example:
      gatepass config check && echo fleet config OK
    """
    files = layer_files(env())
    key: list[tuple[str, str, tuple[int, ...] | None]] = []
    for layer, _, path in files:
        try:
            st = os.stat(path)
            key.append((layer, path, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode, st.st_uid, st.st_dev)))
        except OSError:
            key.append((layer, path, None))
    parsed = parse_files(files, key)
    errors, warnings = list(parsed.errors), []
    for account in parsed.accounts:
        if account.secret_kind in ("file", "env"):
            try:
                read_secret(account, env())
            except SecretUnavailableError as exc:
                errors.append(str(exc))
        if account.secret_kind == "command":
            from gatepass.token_command import check_writers

            try:
                check_writers(account.file)
            except SecretUnavailableError as exc:
                errors.append(f"{account.where}: account {account.label()}: {exc}")
        if account.secret_kind == "file":
            ref = str(account.secret_ref)
            warnings += _token_file_problems(ref if os.path.isabs(ref) else os.path.join(os.path.dirname(account.file), ref))
    found = [{"layer": layer, "path": path, "exists": exists} for layer, path, exists in parsed.files]
    if as_json:
        print_json({"files": found, "accounts": len(parsed.accounts), "errors": errors, "warnings": warnings})
    else:
        for item in found:
            click.echo(f"{item['layer']:7} {item['path']}: {'found' if item['exists'] else 'absent'}")
        click.echo(f"{len(parsed.accounts)} account(s)")
        for line in warnings:
            click.echo(f"warning: {line}", err=True)
        for line in errors:
            click.echo(f"error: {line}", err=True)
    if errors:
        raise SystemExit(1)
