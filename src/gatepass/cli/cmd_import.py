"""``gatepass import``: move docker ``auths`` and ``~/.git-credentials`` lines into the store layer."""

from __future__ import annotations

import base64
import binascii
import os
import urllib.parse

import click

from gatepass import app
from gatepass.cli.cmd_login import entry_for
from gatepass.cli.common import env, warn
from gatepass.cli.interrupts import deferred_interrupts
from gatepass.cli.terminal import printable
from gatepass.errors import GatepassError
from gatepass.files import write_atomic
from gatepass.stores.index import Entry


@click.group("import")
def import_group() -> None:
    """Import existing credentials into gatepass's store.

    \b
    Examples:
      gatepass import docker-config --dry-run
      gatepass import git-credentials ~/.git-credentials --remove
    """


def _save(found: list[tuple[Entry, str]], dry_run: bool, what: str) -> None:
    for entry, _ in found:
        scope = f"/{entry.path} (only for that path; git sends it with credential.useHttpPath=true)" \
            if entry.kind == "git" and entry.path else ""
        click.echo(printable(f"{'would import' if dry_run else 'importing'} {entry.kind} "
                             f"{entry.username}@{entry.host}{scope}"), err=True)
    if not dry_run and found:
        store = app.open_store(env(), app.load(env(), warn))
        for entry, secret in found:
            store.save(entry, secret)
    click.echo(f"{len(found)} credential(s) {'found' if dry_run else 'imported'} from {what}", err=True)


def docker_auths(data: dict[str, object]) -> list[tuple[str, Entry, str]]:
    """(auths key, entry, secret) for each entry with a user:password or an identity token."""
    found = []
    auths = data.get("auths") if isinstance(data.get("auths"), dict) else {}
    assert isinstance(auths, dict)
    for server, item in auths.items():
        if not isinstance(item, dict):
            continue
        if item.get("identitytoken"):
            username, secret = "<token>", str(item["identitytoken"])
        elif item.get("auth"):
            try:
                username, _, secret = base64.b64decode(str(item["auth"])).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                warn(f"auths[{server}] has an auth value that is not base64 user:password; skipped")
                continue
        else:
            continue
        try:
            found.append((server, entry_for("docker", server, username), secret))
        except GatepassError as exc:
            warn(f"auths[{server}]: {exc}; skipped")
    return found


@import_group.command("docker-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Say what would be imported; change nothing.")
@click.option("--remove", is_flag=True, help="Afterwards, remove the imported entries' secrets from FILE.")
def docker_config(file: str | None, dry_run: bool, remove: bool) -> None:
    """Import the ``auths`` of a docker config.json (base64 user:password and identity tokens).

    \b
    Example:
      gatepass import docker-config ~/.docker/config.json --dry-run
    """
    from gatepass.cli import dockerconfig

    path = dockerconfig.config_path(env(), file)
    data = dockerconfig.read_config(path)
    if data is None:
        raise GatepassError(f"{path} does not exist; give the docker config.json to import from")
    found = docker_auths(data)
    _save([(entry, secret) for _, entry, secret in found], dry_run, path)
    if remove and not dry_run and found:
        auths = data["auths"]
        assert isinstance(auths, dict)
        for server, _, _ in found:
            auths[server] = {}  # docker keeps empty entries for servers a helper answers
        with deferred_interrupts():  # no backup: it would be the very plaintext copy --remove is for
            dockerconfig.write_file(path, dockerconfig.render(data))
            scrubbed = _scrub_backup(path, [server for server, _, _ in found])
        click.echo(f"removed {len(found)} secret(s) from {path}", err=True)
        if scrubbed:
            click.echo(f"removed {scrubbed} secret(s) from {path + dockerconfig.BACKUP_SUFFIX} too", err=True)


def _scrub_backup(path: str, servers: list[str]) -> int:
    """Empty the imported servers' ``auths`` in the ``setup docker`` backup, if there is one: a
    plaintext copy the user did not ask for. Its other keys stay for --undo."""
    from gatepass.cli import dockerconfig

    backup_path = path + dockerconfig.BACKUP_SUFFIX
    backup = dockerconfig.read_config(backup_path)
    auths = backup.get("auths") if backup is not None else None
    if backup is None or not isinstance(auths, dict):
        return 0
    held = [server for server in servers if auths.get(server)]
    for server in held:
        auths[server] = {}
    if held:
        dockerconfig.write_file(backup_path, dockerconfig.render(backup), 0o600)
    return len(held)


def git_credential_lines(text: str) -> list[tuple[int, Entry, str]]:
    """(line index, entry, password) for each ``scheme://user:password@host[/path]`` line.

    A line with a path becomes a path-scoped entry: it answers git only for that repository path
    (as git's own store does with ``credential.useHttpPath``), never for the whole host.
    """
    found = []
    for number, line in enumerate(text.split("\n")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = urllib.parse.urlsplit(line)
        if parts.password is None or parts.username is None or not parts.hostname:
            warn(f"line {number + 1} is not scheme://user:password@host; skipped")
            continue
        host = parts.netloc.rpartition("@")[2]
        try:
            entry = entry_for("git", f"{parts.scheme}://{host}", urllib.parse.unquote(parts.username))
        except GatepassError as exc:
            warn(f"line {number + 1}: {exc}; skipped")
            continue
        entry.path = urllib.parse.unquote(parts.path.lstrip("/"))
        found.append((number, entry, urllib.parse.unquote(parts.password)))
    return found


@import_group.command("git-credentials")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Say what would be imported; change nothing.")
@click.option("--remove", is_flag=True, help="Afterwards, remove the imported lines from FILE.")
def git_credentials(file: str | None, dry_run: bool, remove: bool) -> None:
    """Import a git-credential-store file (default ~/.git-credentials).

    \b
    Example:
      gatepass import git-credentials --remove
    """
    path = file or os.path.join(env().get("HOME") or os.path.expanduser("~"), ".git-credentials")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise GatepassError(f"cannot read {path} ({exc.strerror})") from None
    found = git_credential_lines(text)
    _save([(entry, secret) for _, entry, secret in found], dry_run, path)
    if remove and not dry_run and found:
        lines = text.split("\n")
        drop = {number for number, _, _ in found}
        write_atomic(path, "\n".join(line for i, line in enumerate(lines) if i not in drop).encode())
        click.echo(f"removed {len(found)} line(s) from {path}", err=True)
