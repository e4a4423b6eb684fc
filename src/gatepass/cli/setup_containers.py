"""``gatepass setup containers``: make podman, buildah and skopeo use gatepass for every registry, or undo it.

The edit (``registriesconf.py``) changes only ``credential-helpers``; before the first change an
existing file is copied to ``<file>.gatepass-backup``. ``--undo`` puts the backup back when the
file is still exactly what setup made of it, removes a drop-in setup created, and otherwise
takes only gatepass out of ``credential-helpers``.
"""

from __future__ import annotations

import os
import stat

import click

from gatepass.cli import dockerconfig, registriesconf, rootrecord
from gatepass.cli.common import env, warn
from gatepass.cli.interrupts import deferred_interrupts
from gatepass.cli.setup_git import say
from gatepass.errors import GatepassError


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise GatepassError(f"cannot read {path} ({getattr(exc, 'strerror', None) or 'not UTF-8'}); "
                            "nothing was changed") from None


def write(path: str, text: str) -> None:
    """Atomically, keeping the file's mode (0644 for a new one: registries.conf holds no secret)."""
    real = os.path.realpath(path)
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        mode = 0o644
    dockerconfig.write_file(real, text.encode("utf-8"), mode)


def wire(path: str) -> bool:
    current = read_text(path)
    new = registriesconf.with_gatepass(current or "", path)
    if new == current:
        return False
    with deferred_interrupts():
        backup = path + registriesconf.BACKUP_SUFFIX
        if current is not None and (not os.path.exists(backup) or
                                    registriesconf.HELPER not in (registriesconf.helpers(current, path) or [])):
            dockerconfig.write_file(backup, current.encode("utf-8"), 0o600)
            say(f"backup: {backup}")
        write(path, new)
    say(f"wrote {path}: {registriesconf.LINE}")
    return True


def unwire(path: str) -> bool:
    current = read_text(path)
    if current is None:
        return False
    backup_path = path + registriesconf.BACKUP_SUFFIX
    backup = read_text(backup_path)
    with deferred_interrupts():
        if backup is not None and current == registriesconf.with_gatepass(backup, path):
            write(path, backup)
            say(f"{path} is back to what it was before gatepass setup")
            return True
        if backup is None and current == registriesconf.with_gatepass("", path):
            os.unlink(path)  # a drop-in (or file) setup created
            say(f"removed {path}, which gatepass setup had created")
            return True
        new = registriesconf.without_gatepass(current, path)
        if new == current:
            return False
        write(path, new)
    warn(f"{path} changed since setup; took only gatepass out of {registriesconf.KEY}")
    return True


@click.command("containers")
@click.option("--system", is_flag=True, help="/etc/containers/registries.conf, for every user (needs root).")
@click.option("--undo", is_flag=True, help="Put the file back as it was (or take gatepass out of credential-helpers).")
@click.option("--force", is_flag=True, help="Write it even though docker-credential-gatepass is not on PATH.")
def setup_containers(system: bool, undo: bool, force: bool) -> None:
    """Write credential-helpers = ["gatepass"] into containers' registries.conf, so podman, buildah
    and skopeo ask gatepass for every registry and their login/logout store and erase through it
    instead of writing base64 passwords to auth.json. Every other line is kept as written; an
    existing file is backed up first. For a user without ~/.config/containers/registries.conf, a
    drop-in in registries.conf.d is written instead: a new registries.conf would hide the system one.

    \b
    Examples:
      gatepass setup containers
      sudo gatepass setup containers --system
      gatepass setup containers --undo
    """
    path = registriesconf.config_path(env(), system)
    if not undo:
        dockerconfig.require_helper_on_path(env(), force)
    changed = unwire(path) if undo else wire(path)
    if not undo and not system:
        rootrecord.record_quietly(env())
    if not changed:
        say(f"{path}: " + ("no gatepass entry; nothing changed" if undo else "already wired; nothing changed"))
