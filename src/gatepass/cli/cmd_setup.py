"""``gatepass setup git|docker``: wire git's credential.helper and docker's config.json to gatepass."""

from __future__ import annotations

import json
import os
import subprocess

import click

from gatepass import app
from gatepass.cli.common import env, warn
from gatepass.errors import GatepassError
from gatepass.hosts import docker_display_key
from gatepass.stores.files import write_atomic

HUB_KEYS = ("https://index.docker.io/v1/", "docker.io")


@click.group()
def setup() -> None:
    """Wire git and docker to gatepass."""


def _git(scope: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", "config", scope, *args], capture_output=True, text=True, env=dict(env()))
    if check and done.returncode not in (0, 1, 5):
        raise GatepassError(f"git config {scope} {args[0]} failed: {done.stderr.strip()}")
    return done


def org_usernames() -> list[tuple[str, str]]:
    """(``credential.https://HOST/ORG.username`` key, user) for each organization-scoped git account."""
    pairs = []
    for account in app.load(env(), warn).accounts:
        if account.kind == "git" and account.organizations and not account.host.startswith("*."):
            scheme = "https" if account.secure else "http"
            for org in account.organizations:
                pairs.append((f"credential.{scheme}://{account.domain}/{org}.username", account.username))
    return pairs


@setup.command("git")
@click.option("--global", "scope", flag_value="--global", default=True, help="~/.gitconfig (default).")
@click.option("--system", "scope", flag_value="--system", help="/etc/gitconfig.")
@click.option("--undo", is_flag=True, help="Remove what setup added.")
def setup_git(scope: str, undo: bool) -> None:
    """Put gatepass first in credential.helper (keeping other helpers) and, for each organization-scoped
    account, credential.https://HOST/ORG.username so git sends the right user without useHttpPath.

    \b
    Example:
      gatepass setup git --global
    """
    helpers = _git(scope, "--get-all", "credential.helper").stdout.split("\n")[:-1]
    if undo:
        if "gatepass" in helpers:
            _git(scope, "--unset-all", "credential.helper", "^gatepass$")
        for key, user in org_usernames():
            if _git(scope, "--get", key).stdout.strip() == user:
                _git(scope, "--unset", key)
        click.echo(f"removed gatepass from git config {scope}", err=True)
        return
    if not helpers or helpers[0] != "gatepass":
        _git(scope, "--unset-all", "credential.helper")
        for helper in ["gatepass", *(h for h in helpers if h != "gatepass")]:
            _git(scope, "--add", "credential.helper", helper)
        click.echo(f"git config {scope}: credential.helper gatepass (first)", err=True)
    for key, user in org_usernames():
        if _git(scope, "--get", key).stdout.strip() != user:
            _git(scope, key, user)
            click.echo(f"git config {scope}: {key} {user}", err=True)


def docker_config_path(path: str | None) -> str:
    if path:
        return path
    base = env().get("DOCKER_CONFIG") or os.path.join(env().get("HOME") or os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def registry_keys() -> list[str]:
    keys: list[str] = []
    for account in app.load(env(), warn).accounts:
        if account.kind == "docker" and not account.host.startswith("*."):
            key = docker_display_key(account.host, account.port)
            for k in HUB_KEYS if key == HUB_KEYS[0] else (key,):
                if k not in keys:
                    keys.append(k)
    return keys


def _read_json(path: str) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise GatepassError(f"{path} is not readable JSON ({exc}); fix or move it, nothing was changed") from None
    if not isinstance(data, dict):
        raise GatepassError(f"{path} is not a JSON object; nothing was changed")
    return data


@setup.command("docker")
@click.option("--creds-store", is_flag=True, help="Also set credsStore (every registry; skopeo/podman ignore it).")
@click.option("--undo", is_flag=True, help="Remove gatepass's entries, restoring earlier values from the backup.")
@click.option("--config", "path", type=click.Path(dir_okay=False), help="config.json (default: $DOCKER_CONFIG or ~/.docker).")
def setup_docker(creds_store: bool, undo: bool, path: str | None) -> None:
    """Point docker's config.json credHelpers at gatepass for every configured registry (Docker Hub under
    both https://index.docker.io/v1/ and docker.io). Every other key is kept; a backup is written first.

    \b
    Example:
      gatepass setup docker --creds-store
    """
    path = docker_config_path(path)
    data = _read_json(path)
    backup_path = path + ".gatepass-backup"
    backup = _read_json(backup_path)
    helpers = data.get("credHelpers") if isinstance(data.get("credHelpers"), dict) else {}
    assert isinstance(helpers, dict)
    if undo:
        before = backup.get("credHelpers") if isinstance(backup.get("credHelpers"), dict) else {}
        assert isinstance(before, dict)
        for key in [k for k, v in helpers.items() if v == "gatepass"]:
            if key in before:
                helpers[key] = before[key]
            else:
                del helpers[key]
        if data.get("credsStore") == "gatepass":
            if backup.get("credsStore"):
                data["credsStore"] = backup["credsStore"]
            else:
                del data["credsStore"]
    else:
        for key in registry_keys():
            helpers[key] = "gatepass"
        if creds_store:
            data["credsStore"] = "gatepass"
    if helpers:
        data["credHelpers"] = helpers
    else:
        data.pop("credHelpers", None)
    if data == _read_json(path):
        click.echo(f"{path} already as wanted", err=True)
        return
    if os.path.exists(path) and not os.path.exists(backup_path):
        with open(path, "rb") as handle:
            write_atomic(backup_path, handle.read())
    write_atomic(path, (json.dumps(data, indent="\t") + "\n").encode())
    click.echo(f"wrote {path} (backup: {backup_path})", err=True)
