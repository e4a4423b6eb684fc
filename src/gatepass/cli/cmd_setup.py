"""``gatepass setup git|docker``: wire git's credential.helper and docker's config.json to gatepass, or undo it.

Both are idempotent, keep what was there, and undo exactly what they did: ``setup git`` records
its changes beside them in the same git config file (``gatepass.setup*`` keys), ``setup docker``
keeps a 0600 backup of ``config.json`` from before its first change. Each change of several
steps runs with Ctrl-C held until it is complete (``interrupts.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import click

from gatepass.cli import dockerconfig
from gatepass.cli.common import env, load_all, warn
from gatepass.cli.gitconfig import HELPER_KEY, MARK_HELPER, MARK_HELPERS_WERE, MARK_USERNAME, GitConfig, helpers_first, is_gatepass
from gatepass.cli.interrupts import deferred_interrupts
from gatepass.errors import GatepassError
from gatepass.hosts import join_host_port
from gatepass.model import Account


@click.group()
def setup() -> None:
    """Wire git and docker to gatepass (and --undo it).

    \b
    Examples:
      gatepass setup git
      gatepass setup docker --creds-store
    """


def say(message: str) -> None:
    click.echo(message, err=True)


# --- git ----------------------------------------------------------------------------------------

def username_keys(accounts: list[Account], report: Callable[[str], None] = warn) -> dict[str, str]:
    """``credential.<scheme>://HOST[:PORT]/ORG.username`` -> username for each organization-scoped git account.

    git fills the username in from these before asking a helper, matching the URL's path even
    without credential.useHttpPath, so the scoped account answers (DESIGN step 5). git matches
    ``*.`` in a host to one label, as gatepass does. Where two accounts claim one organization,
    the one resolution tries first (higher layer, then file order) is written; the other is reported.
    """
    keys: dict[str, str] = {}
    for account in sorted(accounts, key=lambda a: (-a.rank, a.order)):
        if account.kind != "git" or not account.organizations or account.layer == "store":
            continue
        scheme = "https" if account.secure else "http"
        for org in account.organizations:
            key = f"credential.{scheme}://{join_host_port(account.host, account.port)}/{org}.username"
            if key not in keys:
                keys[key] = account.username
            elif keys[key] != account.username:
                report(f"{account.where}: {account.label()} is scoped to {org} like {keys[key]}, which git will be told to use")
    return keys


def wire_helper(git: GitConfig) -> bool:
    current = git.get_all(HELPER_KEY)
    wanted = helpers_first(current)
    if wanted == current:
        return False
    if git.get(MARK_HELPER) is None:  # the first change: record what it was (before changing it)
        if any(is_gatepass(v) for v in current):
            git.replace_list(MARK_HELPERS_WERE, current)
            git.set(MARK_HELPER, "reordered")
        else:
            git.set(MARK_HELPER, "added")
    git.replace_list(HELPER_KEY, wanted)
    say(f"git config {git.scope}: credential.helper is now {describe(wanted)} (was: {describe(current)})")
    return True


def wire_usernames(git: GitConfig, wanted: dict[str, str]) -> bool:
    marked, changed = git.get_all(MARK_USERNAME), False
    for key, user in wanted.items():
        have = git.get(key)
        if have == user:
            continue
        if have is not None and key not in marked:
            warn(f"git config {git.scope} already sets {key} to {have}; left as is (not set by gatepass setup)")
            continue
        if key not in marked:
            marked.append(key)
            git.replace_list(MARK_USERNAME, marked)
        git.set(key, user)
        changed = True
        say(f"git config {git.scope}: {key} {user}")
    stale = [key for key in marked if key not in wanted]
    for key in stale:  # set by an earlier setup for an account that is gone or no longer scoped
        git.unset(key)
        say(f"git config {git.scope}: removed {key} (no scoped account needs it now)")
    if stale:
        git.replace_list(MARK_USERNAME, [key for key in marked if key in wanted])
    return changed or bool(stale)


def unwire(git: GitConfig) -> None:
    mark, current = git.get(MARK_HELPER), git.get_all(HELPER_KEY)
    if mark == "added":
        git.run("--unset-all", HELPER_KEY, "^gatepass$", ok=(0, 5))
        say(f"git config {git.scope}: removed credential.helper gatepass")
    elif mark == "reordered":
        were = git.get_all(MARK_HELPERS_WERE)
        if [v for v in current if not is_gatepass(v)] == [v for v in were if not is_gatepass(v)]:
            git.replace_list(HELPER_KEY, were)
            say(f"git config {git.scope}: credential.helper is back to {describe(were)}")
        else:
            warn(f"credential.helper changed since setup ({describe(current)}); left as is")
    elif any(is_gatepass(v) for v in current):
        warn(f"credential.helper gatepass in git config {git.scope} was not added by gatepass setup (./install?); "
             "left in place")
    for key in git.get_all(MARK_USERNAME):
        git.unset(key)
        say(f"git config {git.scope}: removed {key}")
    for key in (MARK_HELPER, MARK_HELPERS_WERE, MARK_USERNAME):
        git.unset(key)


def describe(helpers: list[str]) -> str:
    return ", ".join(h or "(reset)" for h in helpers) or "none"


@setup.command("git")
@click.option("--global", "scope", flag_value="--global", default=True, help="Your global git config (default).")
@click.option("--system", "scope", flag_value="--system", help="The system git config (/etc/gitconfig; needs root).")
@click.option("--undo", is_flag=True, help="Remove exactly what setup added (and put a reordered helper list back).")
def setup_git(scope: str, undo: bool) -> None:
    """Put gatepass first in credential.helper, keeping the other helpers in their order (after the
    last reset, an empty value, so git really asks it), and write credential.https://HOST/ORG.username
    for each organization-scoped account, so git sends the right user even without useHttpPath.
    Running it again changes nothing; keys you set yourself are left alone.

    \b
    Examples:
      gatepass setup git
      sudo gatepass setup git --system
      gatepass setup git --undo
    """
    git = GitConfig(scope, env())
    with deferred_interrupts():
        if undo:
            unwire(git)
            return
        _, _, accounts = load_all("git")
        changed = wire_helper(git)
        changed = wire_usernames(git, username_keys(accounts)) or changed
    say(f"git config {scope}: " + ("gatepass is wired" if changed else "already wired; nothing changed"))
    if scope == "--global" and not env().get("GIT_CONFIG_NOSYSTEM"):
        try:
            system = [v for v in GitConfig("--system", env()).get_all(HELPER_KEY) if v]
        except GatepassError:
            system = []  # an unreadable system config is not this command's business
        if system and not any(v == "" for v in git.get_all(HELPER_KEY)):
            warn(f"the system git config also sets credential.helper ({describe(system)}); git asks it before gatepass")


# --- docker -------------------------------------------------------------------------------------

@setup.command("docker")
@click.option("--creds-store", is_flag=True, help="Also set credsStore, for every registry (skopeo and podman ignore it).")
@click.option("--undo", is_flag=True, help="Take gatepass's entries out again, putting back the values they replaced.")
@click.option("--config", "path", type=click.Path(dir_okay=False), help="config.json (default: $DOCKER_CONFIG or ~/.docker).")
def setup_docker(creds_store: bool, undo: bool, path: str | None) -> None:
    """Name gatepass in config.json's credHelpers for every registry gatepass has an account for
    (its server string; an insecure http:// registry as host:port; Docker Hub under both
    https://index.docker.io/v1/ and docker.io). Every other key is kept. Before the first change
    the file is copied to config.json.gatepass-backup (0600); --undo puts back what it held.

    \b
    Examples:
      gatepass setup docker
      gatepass setup docker --creds-store --config /srv/ci/.docker/config.json
      gatepass setup docker --undo
    """
    path = dockerconfig.config_path(env(), path)
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
        if not keys and not creds_store:
            warn("no docker registry is configured yet; add a [[docker_registry]] or run: gatepass login docker HOST")
        new = dockerconfig.with_gatepass(current, keys, creds_store)
    if new == current:
        say(f"{path} is already as wanted; nothing changed")
        return
    with deferred_interrupts():
        if not undo and before is not None and (backup is None or not dockerconfig.uses_gatepass(current)):
            say(f"backup: {dockerconfig.back_up(path)}")  # the state before this round of gatepass changes
        if undo and new == {} and backup is None and before is not None:
            os.unlink(os.path.realpath(path))  # setup created it: nothing was there before
            say(f"removed {path}, which gatepass setup had created")
            return
        dockerconfig.write_file(path, dockerconfig.render(new))
    say(f"wrote {path}")
    if not undo and dockerconfig.plain_auths(new):
        warn(f"{path} still holds {dockerconfig.plain_auths(new)} credential(s) in auths; "
             f"move them into gatepass with: gatepass import docker-config {path} --remove")
