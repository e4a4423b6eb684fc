"""``gatepass doctor``'s containers lines: whether podman, buildah and skopeo log in to gatepass or to
auth.json, and whether rootless podman will trust root's directories (``cli/rootrecord.py``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping

from gatepass.errors import GatepassError

Check = tuple[str, bool, str]  # as cmd_doctor's: (check name, ok, the line)
CONTAINER_TOOLS = ("podman", "buildah", "skopeo")


def check_containers(environ: Mapping[str, str]) -> Iterator[Check]:
    """Where podman, buildah or skopeo is installed, whether their logins go to gatepass (not auth.json)."""
    from gatepass.cli import registriesconf
    from gatepass.cli.setup_containers import read_text

    tools = [t for t in CONTAINER_TOOLS if shutil.which(t, path=environ.get("PATH"))]
    if not tools:
        return
    path = registriesconf.config_path(environ, system=False)
    system = registriesconf.config_path(environ, system=True)
    try:
        wired = [p for p in dict.fromkeys((path, system))
                 if registriesconf.HELPER in (registriesconf.helpers(read_text(p) or "", p) or [])]
    except GatepassError as exc:
        yield "containers-wiring", False, str(exc)
        return
    if wired:
        yield "containers-wiring", True, f"{', '.join(tools)} ask gatepass ({wired[0]})"
        yield from check_root_record(environ)
        return
    holding = [(file, count) for file, count in ((f, auth_file_credentials(f)) for f in auth_files(environ)) if count]
    for file, count in holding:
        yield ("containers-wiring", False, f"{file} holds {count} base64 password(s) of {', '.join(tools)}; run: "
               f"gatepass setup containers, then gatepass import docker-config {file} --remove")
    if not holding:
        yield ("containers-wiring", True, f"note: {', '.join(tools)} would log in to auth.json (base64 passwords); "
               "none is there; to send their logins to gatepass: gatepass setup containers")


def auth_files(environ: Mapping[str, str]) -> list[str]:
    """Where podman, buildah and skopeo keep logins (containers-auth.json(5)), in their order."""
    home = environ.get("HOME") or os.path.expanduser("~")
    found = [environ.get("REGISTRY_AUTH_FILE", "")]
    if environ.get("XDG_RUNTIME_DIR"):
        found.append(os.path.join(environ["XDG_RUNTIME_DIR"], "containers", "auth.json"))
    found.append(os.path.join(environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "containers", "auth.json"))
    return [path for path in dict.fromkeys(found) if path]


def auth_file_credentials(path: str) -> int:
    """How many ``auths`` entries of ``path`` hold a password or identity token (0: none, or no such file)."""
    import json

    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(1024 * 1024))
    except (OSError, ValueError):
        return 0
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        return 0
    return sum(1 for item in auths.values() if isinstance(item, dict) and (item.get("auth") or item.get("identitytoken")))


def check_root_record(environ: Mapping[str, str]) -> Iterator[Check]:
    """Rootless podman and buildah need the record of root's directories (``cli/rootrecord.py``) to be current."""
    from gatepass import ownership
    from gatepass.cli import rootrecord

    if os.geteuid() == 0 or ownership.root_unmapped():
        return
    recorded = ownership.read_record(ownership.root_record_path(environ))
    if not set(rootrecord.root_owned(environ)) <= recorded:
        yield ("containers-wiring", False, "rootless podman and buildah will not trust root's directories (no current "
               "record of them); run: gatepass setup containers")
