"""``gatepass doctor``: one line per check, OK or what to do."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess

import click

from gatepass import __version__, app
from gatepass.cli.common import env
from gatepass.errors import GatepassError


@click.command()
def doctor() -> None:
    """Check the Python and gatepass versions, the executables git and docker will run, the keyring
    backend (a write/read/delete round trip), the config layers and the git and docker wiring.

    \b
    Example:
      gatepass doctor
    """
    problems = 0

    def line(ok: bool, text: str) -> None:
        nonlocal problems
        problems += not ok
        click.echo(f"{'OK  ' if ok else 'FIX '} {text}")

    line(True, f"gatepass {__version__} on Python {platform.python_version()}")
    for name in ("git-credential-gatepass", "docker-credential-gatepass"):
        where = shutil.which(name)
        line(where is not None, f"{name}: {where}" if where else f"{name} is not on PATH; run ./install")
    errors: list[str] = []
    config = app.load(env(), errors.append)
    present = [path for _, path, exists in config.files if exists]
    line(True, f"config files: {', '.join(present) or 'none yet'}; {len(config.accounts)} account(s)")
    for error in errors:
        line(False, error)
    store = app.open_store(env(), config)
    try:
        backend = store.backend()
        backend.set("gatepass:doctor:check", "doctor", "round-trip")
        ok = backend.get("gatepass:doctor:check", "doctor") == "round-trip"
        backend.delete("gatepass:doctor:check", "doctor")
        line(ok, f"store backend {backend.name}: write/read/delete " + ("works" if ok else "read back something else"))
    except GatepassError as exc:
        line(False, f"store backend: {exc}")
    helpers = subprocess.run(["git", "config", "--get-all", "credential.helper"], capture_output=True, text=True,
                             env=dict(env())).stdout.split("\n")[:-1] if shutil.which("git") else []
    line(bool(helpers) and helpers[0] == "gatepass",
         "git asks gatepass first" if helpers[:1] == ["gatepass"] else "git does not ask gatepass first; run: gatepass setup git")
    from gatepass.cli.cmd_setup import _read_json, docker_config_path

    try:
        docker = _read_json(docker_config_path(None))
        wired = docker.get("credsStore") == "gatepass" or "gatepass" in dict(docker.get("credHelpers") or {}).values()  # type: ignore[call-overload]
        line(wired, "docker config.json uses gatepass" if wired else "docker does not use gatepass; run: gatepass setup docker")
    except GatepassError as exc:
        line(False, str(exc))
    for _, path, exists in config.files:
        if exists and os.stat(path).st_mode & 0o002:
            line(False, f"{path} is writable by other users; run: chmod o-w {path}")
    if problems:
        raise SystemExit(1)
