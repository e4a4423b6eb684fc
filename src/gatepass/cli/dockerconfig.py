"""docker's ``config.json``: where it is, what routes a registry to gatepass, and safe edits with a backup.

docker (and docker-py, skopeo, podman, buildah) ask the helper named in ``credHelpers`` for a
registry's server string, else the one in ``credsStore``; skopeo, podman and buildah read only
``credHelpers``. Docker Hub is looked up as ``https://index.docker.io/v1/`` by the docker CLI and
docker-py and as ``docker.io`` by the containers tools, so both keys are written.

Edits keep every other key. The file may hold base64 passwords in ``auths``, so the backup is
0600; the write is atomic (temp file in the same directory, fsync, rename), follows a symlink to
the real file as docker itself does, and keeps the file's mode (0600 for a new file).
"""

from __future__ import annotations

import copy
import json
import os
import stat
from collections.abc import Iterable, Mapping

from gatepass.errors import GatepassError
from gatepass.files import write_atomic
from gatepass.hosts import DOCKER_HUB_KEY, docker_display_key
from gatepass.model import Account

HELPER = "gatepass"
HUB_KEYS = (DOCKER_HUB_KEY, "docker.io")
BACKUP_SUFFIX = ".gatepass-backup"

Data = dict[str, object]


def require_helper_on_path(env: Mapping[str, str], force: bool) -> None:
    """Refuse (unless ``force``) to name gatepass in a client's config while docker-credential-gatepass
    is not on PATH: docker, podman and skopeo then fail every registry, public pulls included."""
    import shutil
    import sys

    name = "docker-credential-" + HELPER
    if force or shutil.which(name, path=env.get("PATH", "")):
        return
    beside = os.path.dirname(sys.executable)
    where = (f"put {beside} on PATH (it is there)" if os.access(os.path.join(beside, name), os.X_OK)
             else "install gatepass so that it is on PATH")
    raise GatepassError(f"{name} is not on PATH, and docker, podman and skopeo would then fail every registry, "
                        f"public pulls included; {where}, or write it anyway with --force; nothing was changed")


def config_path(env: Mapping[str, str], explicit: str | None = None) -> str:
    """``--config``, else ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (docker's own rule)."""
    if explicit:
        return explicit
    base = env.get("DOCKER_CONFIG") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def read_config(path: str) -> Data | None:
    """The JSON object in ``path``; ``None`` when there is no such file. Never quotes the content."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GatepassError(f"cannot read {path} ({exc.strerror}); nothing was changed") from None
    except ValueError as exc:  # JSONDecodeError's text is a position, never the document
        message = str(exc).split(":")[0]
        raise GatepassError(f"{path} is not valid JSON ({message}); fix or move it, nothing was changed") from None
    if not isinstance(data, dict):
        raise GatepassError(f"{path} is not a JSON object; fix or move it, nothing was changed")
    return data


def registry_keys(accounts: Iterable[Account]) -> tuple[list[str], list[str]]:
    """(server strings to route to gatepass, wildcard domains no credHelpers key can name).

    >>> from gatepass.model import Account
    >>> def acct(host, port=None): return Account(kind="docker", domain=host, host=host, port=port,
    ...     secure=True, username="u", secret_kind="inline", secret_ref="", layer="user", rank=2, file="f")
    >>> registry_keys([acct("docker.io"), acct("127.0.0.1", 5000), acct("*.example.com")])
    (['https://index.docker.io/v1/', 'docker.io', '127.0.0.1:5000'], ['*.example.com'])
    """
    keys: list[str] = []
    wildcards: list[str] = []
    for account in accounts:
        if account.kind != "docker" or getattr(account, "path", None):
            continue  # stored exact keys (identity-token refresh URLs) are no registry
        if "*" in account.host:  # *.example.com, and the ECR and Artifact Registry patterns
            wildcards.append(account.domain)
            continue
        key = docker_display_key(account.host, account.port)
        for k in HUB_KEYS if key == DOCKER_HUB_KEY else (key,):
            if k not in keys:
                keys.append(k)
    return keys, list(dict.fromkeys(wildcards))


def helpers_of(data: Data) -> dict[str, object]:
    value = data.get("credHelpers")
    return dict(value) if isinstance(value, dict) else {}


def with_gatepass(data: Data, keys: Iterable[str], creds_store: bool | None) -> Data:
    """``data`` with ``credHelpers`` naming gatepass for ``keys``, and ``credsStore`` gatepass; the rest kept.

    ``credsStore``: ``True`` sets it, ``False`` leaves it as it is, ``None`` (the default) sets it
    unless another helper already holds it (then ``docker login`` already keeps no plaintext).
    Why both: ``credsStore`` is what ``docker login`` to a registry gatepass has no account for
    writes to, instead of a base64 ``auth`` in this file; ``credHelpers`` name the configured
    registries for the clients that ignore ``credsStore`` (skopeo, podman, buildah without
    ``gatepass setup containers``) and keep them on gatepass if ``credsStore`` is changed later.

    >>> with_gatepass({"auths": {}, "credHelpers": {"gcr.io": "gcloud"}}, ["ghcr.io"], False)
    {'auths': {}, 'credHelpers': {'gcr.io': 'gcloud', 'ghcr.io': 'gatepass'}}
    >>> with_gatepass({}, [], None), with_gatepass({"credsStore": "desktop"}, [], None)
    ({'credsStore': 'gatepass'}, {'credsStore': 'desktop'})
    """
    new = copy.deepcopy(data)
    helpers = helpers_of(new)
    for key in keys:
        helpers[key] = HELPER
    if helpers:
        new["credHelpers"] = helpers
    if creds_store or (creds_store is None and not new.get("credsStore")):
        new["credsStore"] = HELPER
    return new


def without_gatepass(data: Data, backup: Data | None) -> Data:
    """``data`` with gatepass's entries taken out: a value the backup held is put back, others removed.

    >>> without_gatepass({"credHelpers": {"a": "gatepass", "b": "gatepass", "c": "x"}, "credsStore": "gatepass"},
    ...                  {"credHelpers": {"b": "desktop"}})
    {'credHelpers': {'b': 'desktop', 'c': 'x'}}
    """
    new = copy.deepcopy(data)
    before = helpers_of(backup or {})
    helpers = helpers_of(new)
    for key in [k for k, v in helpers.items() if v == HELPER]:
        if key in before:
            helpers[key] = before[key]
        else:
            del helpers[key]
    if helpers:
        new["credHelpers"] = helpers
    else:
        new.pop("credHelpers", None)
    if new.get("credsStore") == HELPER:
        if backup is not None and "credsStore" in backup:
            new["credsStore"] = backup["credsStore"]
        else:
            del new["credsStore"]
    return new


def routes_to_gatepass(data: Data, key: str) -> bool:
    """Whether docker would ask gatepass for ``key``: its credHelpers entry, else credsStore."""
    helpers = helpers_of(data)
    if key in helpers:
        return helpers[key] == HELPER
    return data.get("credsStore") == HELPER


def uses_gatepass(data: Data) -> bool:
    return data.get("credsStore") == HELPER or HELPER in helpers_of(data).values()


def plain_auths(data: Data) -> int:
    """How many ``auths`` entries hold a password or identity token in the file itself."""
    auths = data.get("auths")
    if not isinstance(auths, dict):
        return 0
    return sum(1 for v in auths.values() if isinstance(v, dict) and (v.get("auth") or v.get("identitytoken")))


def render(data: Data) -> bytes:
    return (json.dumps(data, indent="\t") + "\n").encode("utf-8")


def write_file(path: str, content: bytes, mode: int | None = None) -> None:
    """Atomically replace ``path`` (its symlink target, if it is one) with ``content``.

    The mode is ``mode``, else the current file's, else 0600; a missing directory is made 0700.
    """
    real = os.path.realpath(path)
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(real).st_mode)
        except FileNotFoundError:
            mode = 0o600
    write_atomic(real, content, mode)


def back_up(path: str) -> tuple[str, bool]:
    """Copy ``path`` as it is now to its 0600 backup beside it; returns the backup's path and whether
    it replaced an earlier backup (the caller says so: never silently)."""
    backup = path + BACKUP_SUFFIX
    replaced = os.path.lexists(backup)
    with open(path, "rb") as handle:
        write_file(backup, handle.read(), 0o600)
    return backup, replaced
