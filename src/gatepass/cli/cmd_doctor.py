"""``gatepass doctor``: one line per check, OK or what to do; exit 1 when anything needs fixing."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping

import click

from gatepass import __version__
from gatepass.cli import dockerconfig, doctor_containers, gitconfig, modes
from gatepass.cli.common import env, load_all, print_json
from gatepass.errors import GatepassError
from gatepass.model import Account
from gatepass.stores.layer import Store

Check = tuple[str, bool, str]  # (check name, ok, the line: what is so, or what to do)
TIMEOUT = 10


def _run(argv: list[str], environ: Mapping[str, str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=dict(environ), timeout=TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None


def git_helper_path(environ: Mapping[str, str]) -> str | None:
    """The git-credential-gatepass git runs: the absolute path setup wrote, else (for ``credential.helper
    gatepass``) git's exec-path first, then PATH."""
    if gitconfig.available(environ):
        try:
            helpers = gitconfig.effective_helpers(gitconfig.GitConfig("", environ).get_all(gitconfig.HELPER_KEY))
        except GatepassError:
            helpers = []
        configured = next((h for h in helpers if gitconfig.is_gatepass(h)), "")
        if os.path.isabs(configured):
            return configured if os.access(configured, os.X_OK) else None
    done = _run(["git", "--exec-path"], environ) if gitconfig.available(environ) else None
    if done is not None and done.returncode == 0:
        candidate = os.path.join(done.stdout.strip(), "git-credential-gatepass")
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("git-credential-gatepass", path=environ.get("PATH"))


def reinstall_advice() -> str:
    """How to put the helpers back, for the way this gatepass was installed: ./install's venv carries
    a ``.gatepass-source`` stamp; otherwise pip or pipx did it, and the helpers sit beside this Python."""
    if os.path.exists(os.path.join(sys.prefix, ".gatepass-source")):
        return "re-run ./install"
    bin_dir = os.path.dirname(sys.executable)
    how = "pipx reinstall gatepass" if "pipx" in sys.prefix.split(os.sep) else "pip install --force-reinstall gatepass"
    return f"reinstall ({how}) and put {bin_dir} on PATH"


def check_executables(environ: Mapping[str, str]) -> Iterator[Check]:
    git_helper = git_helper_path(environ)
    if git_helper is None:
        yield "git-helper", False, f"git-credential-gatepass is not on PATH (nor in git --exec-path); {reinstall_advice()}"
    else:
        done = _run([git_helper, "doctor"], environ)  # an unknown action: the helper starts and answers nothing
        ok = done is not None and done.returncode == 0 and not done.stdout
        yield "git-helper", ok, f"git runs {git_helper}" if ok else f"{git_helper} does not start; {reinstall_advice()}"
    docker_helper = shutil.which("docker-credential-gatepass", path=environ.get("PATH"))
    if docker_helper is None:
        yield "docker-helper", False, f"docker-credential-gatepass is not on PATH; {reinstall_advice()}"
        return
    done = _run([docker_helper, "version"], environ)
    said = done.stdout.strip() if done is not None else ""
    want = f"docker-credential-gatepass (gatepass) {__version__}"
    yield ("docker-helper", said == want, f"docker runs {docker_helper}" if said == want else
           f"{docker_helper} says {said or 'nothing'!r}, not {want!r}: an older copy comes first on PATH; {reinstall_advice()}")


def check_git(environ: Mapping[str, str], accounts: list[Account]) -> Iterator[Check]:
    if not gitconfig.available(environ):
        yield "git-wiring", False, "git is not installed or not on PATH"
        return
    git = gitconfig.GitConfig("", environ)  # what git itself reads here: system, global, this repo
    helpers = gitconfig.effective_helpers(git.get_all(gitconfig.HELPER_KEY))
    listed = ", ".join(helpers) or "none"
    if helpers and gitconfig.is_gatepass(helpers[0]):
        yield "git-wiring", True, f"git asks gatepass first (credential.helper: {listed})"
        yield from check_helpers_after(helpers[1:])
    elif any(gitconfig.is_gatepass(h) for h in helpers):
        yield "git-wiring", False, f"git asks {helpers[0]} before gatepass ({listed}); run: gatepass setup git"
    else:
        yield "git-wiring", False, f"git does not ask gatepass first (credential.helper: {listed}); run: gatepass setup git"
    from gatepass.cli.setup_git import username_keys

    for key, user in username_keys(accounts, lambda message: None).items():
        url = key[len("credential."):-len(".username")] + "/"
        if git.urlmatch("credential.username", url) != user:
            yield "git-wiring", False, f"git will not send {user} for {url} without useHttpPath; run: gatepass setup git"


def check_helpers_after(after: list[str]) -> Iterator[Check]:
    """Each helper after gatepass is told every token gatepass answers (git approves to all):
    ``store`` writes it to ~/.git-credentials in plaintext, an unknown helper is not vouched for."""
    for value in after:
        name = gitconfig.helper_name(value)
        if gitconfig.plaintext(value):
            yield ("git-wiring", False, f"credential.helper {value} after gatepass writes every token gatepass answers "
                   "to ~/.git-credentials in plaintext; run: gatepass setup git")
        elif name not in gitconfig.KEYCHAIN_HELPERS and not gitconfig.is_gatepass(value):
            yield ("git-wiring", False, f"credential.helper {value} after gatepass is told every token gatepass answers, "
                   "and gatepass cannot tell where it keeps them; run: gatepass setup git (or remove it)")


def check_docker(environ: Mapping[str, str], accounts: list[Account]) -> Iterator[Check]:
    path = dockerconfig.config_path(environ)
    try:
        data = dockerconfig.read_config(path) or {}
    except GatepassError as exc:
        yield "docker-wiring", False, str(exc)
        return
    keys, _ = dockerconfig.registry_keys(accounts)
    missing = [key for key in keys if not dockerconfig.routes_to_gatepass(data, key)]
    if missing:
        yield "docker-wiring", False, f"{path} does not send {', '.join(missing)} to gatepass; run: gatepass setup docker"
    elif keys:
        yield "docker-wiring", True, f"{path} sends every configured registry to gatepass"
    else:
        yield "docker-wiring", True, "no docker registry configured; nothing to wire"


def check_config() -> Iterator[Check]:
    """What ``gatepass config check`` reports, computed the same way: its errors and warnings are FIX lines."""
    from gatepass.cli.cmd_config import gather

    report = gather()
    present = [str(item["path"]) for item in report.files if item["exists"]]
    ok = not report.errors
    yield ("config", ok, f"config files: {', '.join(present) or 'none yet'}; {report.accounts} account(s)"
           + ("" if ok else f"; {len(report.errors)} error(s)"))
    for error in report.errors:
        yield "config", False, error + "; see: gatepass config check"
    for warning in report.warnings:
        yield "config", False, warning
    for note in report.notes:
        yield "config", True, note
    for problem in modes.own_file_problems(env()):
        yield "modes", False, problem
    from gatepass.cli.cache_report import trust_report  # the files the caches would ignore, and why

    for ok, line in trust_report(env()):
        yield "cache", ok, line


# --- store backend round trip ---------------------------------------------------------------------
# Owned by the store layer (gatepass.stores.layer / gatepass.stores): the backend in use and a
# write/read/delete of a throwaway secret. Extend here when backends grow their own self-test.
def check_store(store: Store) -> Iterator[Check]:
    service, user, value = "gatepass:doctor:round-trip", "doctor", "gatepass-doctor-check"  # not a secret
    try:
        backend = store.backend()
        backend.set(service, user, value)
        try:
            ok = backend.get(service, user) == value
        finally:
            backend.delete(service, user)
    except GatepassError as exc:
        yield "store", False, f"store backend: {exc}"
        return
    yield "store", ok, f"store backend {backend.name}: write/read/delete " + ("works" if ok else "read back something else")
# --- end of store backend round trip --------------------------------------------------------------


def check_bus(environ: Mapping[str, str]) -> Iterator[Check]:
    """Who answers on the session bus: the Secret Service only ever talks to one run by you or root."""
    address = environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        yield "bus", True, "session bus: none (DBUS_SESSION_BUS_ADDRESS is unset); the store uses the encrypted file"
        return
    from gatepass.stores.dbus import Connection, DBusError, ForeignBusError

    try:
        connection = Connection(address, 0.5)
    except ForeignBusError as exc:
        yield "bus", False, (f"session bus is run by uid {exc.uid}, not by you: gatepass sends it nothing; "
                             "unset DBUS_SESSION_BUS_ADDRESS or start your own session bus")
        return
    except (DBusError, OSError) as exc:
        yield "bus", True, f"session bus does not answer ({type(exc).__name__}); the store uses the encrypted file"
        return
    uid = connection.peer_uid
    connection.close()
    yield "bus", True, f"session bus is run by uid {uid} ({'you' if uid == os.geteuid() else 'root'})"


# --- Vault/OpenBao login (owned by gatepass.engines.vault) ---------------------------------------
def check_vault(engines: Mapping[str, Mapping[str, object]], accounts: list[Account]) -> Iterator[Check]:
    """One login with the ``[vault]`` settings, when an account reads from Vault: the token's ttl and policies."""
    if not any(a.secret_kind == "vault" for a in accounts) and "vault" not in engines:
        return
    from gatepass.engines.vault import login_report

    try:
        yield "vault", True, login_report(engines.get("vault", {}), env())
    except GatepassError as exc:
        yield "vault", False, f"{exc}"
# --- end of Vault/OpenBao login -------------------------------------------------------------------


def checks() -> Iterator[Check]:
    environ = env()
    yield "versions", True, f"gatepass {__version__} on Python {platform.python_version()} ({sys.executable})"
    yield from check_executables(environ)
    from gatepass.readback import IGNORED

    IGNORED.clear()  # what this run's load ignores (and rebuilds) is reported by the "cache" check
    config, store, accounts = load_all(None, lambda message: None)  # config check below says it all, once
    yield from check_config()
    yield from check_bus(environ)
    yield from check_store(store)
    yield from check_git(environ, accounts)
    yield from check_docker(environ, accounts)
    yield from doctor_containers.check_containers(environ)
    yield from check_vault(config.engines, accounts)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON array of {check, ok, message}.")
def doctor(as_json: bool) -> None:
    """Check the Python and gatepass versions, which git-credential-gatepass and
    docker-credential-gatepass git and docker will actually run, the config layers and their
    errors, file modes, the store backend (a write/read/delete round trip), and whether git's
    credential.helper and docker's config.json use gatepass, who runs the session bus, and with Vault/OpenBao accounts one
    login (the token's ttl and policies). One line each: OK, or FIX and what to do. Exits 1 when
    anything needs fixing.

    \b
    Example:
      gatepass doctor
    """
    found = list(checks())
    if as_json:
        print_json([{"check": name, "ok": ok, "message": text} for name, ok, text in found])
    else:
        for _, ok, text in found:
            click.echo(f"{'OK  ' if ok else 'FIX '} {text}")
    if not all(ok for _, ok, _ in found):
        raise SystemExit(1)

