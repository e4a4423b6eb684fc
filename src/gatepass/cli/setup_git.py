"""``gatepass setup git``: make gatepass git's credential helper, write the organization username keys, or undo it.

By default the helper list becomes a reset (an empty ``credential.helper``) and then gatepass, as
``gh auth setup-git`` and git-credential-manager do: git hands every credential it approves to
every helper it asks, so a ``store`` after gatepass would write each token gatepass answers into
``~/.git-credentials`` in plaintext. ``--keep-helpers`` keeps the others, after
gatepass, and names those that store plaintext. gatepass is written as the absolute path of its
helper, so git finds it without PATH (cron, systemd units, IDEs started from a desktop).

Every change is recorded beside it in the same file (``gatepass.setup*`` keys) so ``--undo``
removes exactly what setup did: the helper list it found is put back when the list is still the
one setup wrote, the username keys it set are removed, and a config file setup created is
removed again once nothing else is in it. ``./install`` runs this command (one rule, one place).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping

import click

from gatepass.cli import gitconfig
from gatepass.cli.common import env, load_all, warn
from gatepass.cli.gitconfig import (
    HELPER_KEY,
    MARK_CREATED,
    MARK_HELPER,
    MARK_HELPERS_SET,
    MARK_HELPERS_WERE,
    MARK_USERNAME,
    GitConfig,
    is_gatepass,
)
from gatepass.cli.interrupts import deferred_interrupts
from gatepass.errors import GatepassError
from gatepass.hosts import join_host_port
from gatepass.model import Account

EXECUTABLE = "git-credential-gatepass"
MARKS = (MARK_HELPER, MARK_HELPERS_WERE, MARK_HELPERS_SET, MARK_USERNAME, MARK_CREATED)
EMPTY_CONFIG = re.compile(r"(\s*\[[^\]]*\]\s*)*\s*")  # only (empty) section headers: what `git config --unset` leaves


def say(message: str) -> None:
    click.echo(message, err=True)


def describe(helpers: list[str]) -> str:
    return ", ".join(h or "(reset)" for h in helpers) or "none"


def helper_path(environ: Mapping[str, str]) -> str | None:
    """The absolute path of the git-credential-gatepass installed beside this ``gatepass``.

    Beside the running ``gatepass`` script (./install's bin dir, a venv's or pipx's bin), else
    beside this interpreter (a venv), else on PATH; None when there is none (then the name
    ``gatepass`` is written and git looks for it on PATH).
    """
    for directory in (os.path.dirname(os.path.abspath(sys.argv[0])), os.path.dirname(sys.executable)):
        candidate = os.path.join(directory, EXECUTABLE)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    found = shutil.which(EXECUTABLE, path=environ.get("PATH"))
    return os.path.abspath(found) if found else None


USE_HTTP_PATH = "credential.useHttpPath"


def username_keys(accounts: list[Account], report: Callable[[str], None] = warn) -> dict[str, str]:
    """``credential.<scheme>://HOST[:PORT]/ORG.username`` -> username for each organization-scoped git account.

    git fills the username in from these before asking a helper, matching the URL's path even
    without credential.useHttpPath, so the scoped account answers (docs/design.md, resolution
    step 5). git matches ``*.`` in a host to one label, as gatepass does. Where two accounts
    claim one organization, the one resolution tries first (higher layer, then file order) is
    written; the other is reported.
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


def wire_helper(git: GitConfig, helper: str, keep: bool) -> bool:
    current = git.get_all(HELPER_KEY)
    wanted = gitconfig.helpers_wanted(current, helper, keep)
    if keep:
        for value in gitconfig.effective_helpers(wanted)[1:]:
            if gitconfig.plaintext(value):
                warn(f"credential.helper {value} stays after gatepass and stores every token gatepass answers "
                     "in plaintext (~/.git-credentials); run gatepass setup git without --keep-helpers to drop it")
    if wanted == current:
        return False
    if git.get(MARK_HELPER) is None:  # the first change: record what was there (before changing it)
        path = git.file_path()
        if path is not None and not os.path.exists(path):
            git.set(MARK_CREATED, "true")
        git.replace_list(MARK_HELPERS_WERE, current)
        git.set(MARK_HELPER, "replaced")
    git.replace_list(HELPER_KEY, wanted)
    git.replace_list(MARK_HELPERS_SET, wanted)
    say(f"git config {git.scope}: credential.helper is now {describe(wanted)} (was: {describe(current)})")
    dropped = [v for v in gitconfig.effective_helpers(current) if v and not is_gatepass(v) and v not in wanted]
    if dropped:
        say(f"git config {git.scope}: git no longer asks {describe(dropped)}; --keep-helpers keeps them after gatepass")
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


def unwire_helper(git: GitConfig) -> None:
    mark, current = git.get(MARK_HELPER), git.get_all(HELPER_KEY)
    were = git.get_all(MARK_HELPERS_WERE)
    if mark == "replaced" and current == git.get_all(MARK_HELPERS_SET):
        git.replace_list(HELPER_KEY, were)
        say(f"git config {git.scope}: credential.helper is back to {describe(were)}")
    elif mark == "reordered" and [v for v in current if not is_gatepass(v)] == [v for v in were if not is_gatepass(v)]:
        git.replace_list(HELPER_KEY, were)  # recorded by an earlier version of setup
        say(f"git config {git.scope}: credential.helper is back to {describe(were)}")
    elif mark is not None and any(is_gatepass(v) for v in current):
        git.replace_list(HELPER_KEY, [v for v in current if not is_gatepass(v)])
        left = [v for v in current if not is_gatepass(v)]
        say(f"git config {git.scope}: removed gatepass from credential.helper (it changed since setup; left: {describe(left)})")
    elif any(is_gatepass(v) for v in current):
        warn(f"credential.helper gatepass in git config {git.scope} was not added by gatepass setup; left in place")


def unwire(git: GitConfig) -> None:
    created = git.get(MARK_CREATED) == "true"
    unwire_helper(git)
    for key in git.get_all(MARK_USERNAME):
        git.unset(key)
        say(f"git config {git.scope}: removed {key}")
    for key in MARKS:
        git.unset(key)
    path = git.file_path()
    if created and path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                left = handle.read()
        except OSError:
            return
        if EMPTY_CONFIG.fullmatch(left):
            os.unlink(path)
            say(f"removed {path}, which gatepass setup had created")


def helper_entries(git: GitConfig) -> list[tuple[str, str]]:
    """(key, value) of every ``credential.helper`` and ``credential.<url>.helper`` naming gatepass."""
    out = git.run("-z", "--get-regexp", r"^credential\..*helper$", ok=(0, 1)).stdout
    pairs = [item.partition("\n") for item in out.split("\0")[:-1]]
    return [(key, value) for key, _, value in pairs if is_gatepass(value)]


def leftovers(git: GitConfig) -> list[str]:
    """What in this git config still names gatepass (after an undo): for ``./install --uninstall``."""
    return [f"git config {git.scope}: {key} {value}" for key, value in helper_entries(git)]


def remove_leftovers(git: GitConfig) -> None:
    for key, value in helper_entries(git):
        git.run("--fixed-value", "--unset-all", key, value, ok=(0, 5))
        say(f"git config {git.scope}: removed {key} {value}")


@click.command("git")
@click.option("--global", "scope", flag_value="--global", default=True, help="Your global git config (default).")
@click.option("--system", "scope", flag_value="--system", help="The system git config (/etc/gitconfig; needs root).")
@click.option("--keep-helpers", is_flag=True,
              help="Keep the helpers already there, after gatepass (they are then told every token it answers).")
@click.option("--helper", "helper", metavar="PATH", help="The git-credential-gatepass to write (default: the one beside gatepass).")
@click.option("--undo", is_flag=True, help="Remove exactly what setup added (and put the helper list back).")
@click.option("--use-http-path", is_flag=True,
              help="Also set credential.useHttpPath true: git, and libgit2 clients such as cargo, send the repository path.")
def setup_git(scope: str, keep_helpers: bool, helper: str | None, undo: bool, use_http_path: bool) -> None:
    """Make gatepass git's only credential helper (a reset, then the absolute path of
    git-credential-gatepass), and write credential.https://HOST/ORG.username for each
    organization-scoped account, so git sends the right user even without useHttpPath.
    libgit2 clients (cargo's default fetcher) read neither those keys nor a host-scoped
    useHttpPath: --use-http-path sets the global credential.useHttpPath true for them (--undo
    removes it). Running it again changes nothing; keys you set yourself are left alone.

    \b
    Examples:
      gatepass setup git
      gatepass setup git --use-http-path
      gatepass setup git --keep-helpers
      sudo gatepass setup git --system
      gatepass setup git --undo
    """
    git = GitConfig(scope, env())
    with deferred_interrupts():
        if undo:
            unwire(git)
            return
        if helper is not None and not os.path.isabs(helper):
            raise GatepassError(f"--helper {helper} must be an absolute path (git runs it from any directory)")
        found = helper or helper_path(env())
        if found is None:
            warn(f"no {EXECUTABLE} found beside gatepass or on PATH; writing the name gatepass, which git looks up on PATH")
        _, _, accounts = load_all("git")
        changed = wire_helper(git, found or gitconfig.HELPER, keep_helpers)
        wanted = username_keys(accounts)
        if use_http_path or USE_HTTP_PATH in git.get_all(MARK_USERNAME):  # once asked, kept until --undo
            wanted[USE_HTTP_PATH] = "true"
        changed = wire_usernames(git, wanted) or changed
    say(f"git config {scope}: " + ("gatepass is wired" if changed else "already wired; nothing changed"))
    if scope == "--global" and not env().get("GIT_CONFIG_NOSYSTEM"):
        try:
            system = [v for v in GitConfig("--system", env()).get_all(HELPER_KEY) if v and not is_gatepass(v)]
        except GatepassError:
            system = []  # an unreadable system config is not this command's business
        if system and not any(v == "" for v in git.get_all(HELPER_KEY)):
            warn(f"the system git config also sets credential.helper ({describe(system)}); git asks it before gatepass")
        elif system and changed and not keep_helpers:
            say(f"git config {scope}: the reset also keeps git from asking the system config's {describe(system)}")
