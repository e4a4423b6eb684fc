"""``token_command``: a token from a command's first line of output, cached until its ``ttl`` passes.

The command is an argv list (never a shell string), run with stdin from /dev/null, its own
process group and a timeout (``GATEPASS_COMMAND_TIMEOUT``, default 10 s) after which the whole
group is killed. Its stderr is not shown (it may echo the token); only the exit status is. Only a
config that other users cannot write (file and directory) may run commands. With ``ttl`` the
token is cached per user in ``$XDG_CACHE_HOME/gatepass/tokens/`` (0600 in 0700), keyed by config
file, argv and username, and handed to git with ``password_expiry_utc``; without ``ttl`` the
command runs on every request.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time

from gatepass.errors import SecretUnavailableError
from gatepass.paths import cache_dir

DEFAULT_TIMEOUT = 10.0


def check_writers(config_file: str) -> None:
    for path in (config_file, os.path.dirname(config_file) or "."):
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue
        if mode & (stat.S_IWGRP | stat.S_IWOTH) and not (stat.S_ISDIR(mode) and mode & stat.S_ISVTX):
            raise SecretUnavailableError(f"token_command refused: {path} is writable by other users; "
                                         f"run: chmod go-w {path}")


def _cache_path(env, config_file: str, argv: tuple[str, ...], username: str) -> str:  # type: ignore[no-untyped-def]
    import hashlib

    digest = hashlib.sha256("\0".join([config_file, username, *argv]).encode()).hexdigest()[:32]
    return os.path.join(cache_dir(env), "tokens", digest)


def _cached(path: str, moment: int) -> tuple[str, int] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            expiry_text, _, token = handle.read().partition("\t")
        expiry = int(expiry_text)
    except (OSError, ValueError):
        return None
    return (token, expiry) if expiry > moment and token else None


def _remember(path: str, token: str, expiry: int) -> None:
    from gatepass.stores.files import write_atomic

    try:
        write_atomic(path, f"{expiry}\t{token}".encode())
    except Exception:  # a cache that cannot be written only costs the next run
        pass


def run_token_command(argv: tuple[str, ...], ttl: int | None, config_file: str, username: str,  # type: ignore[no-untyped-def]
                      env) -> tuple[str, int | None]:
    """(token, expiry) from the cache or a fresh run; SecretUnavailableError saying why not."""
    check_writers(config_file)
    moment = int(time.time())
    cache = _cache_path(env, config_file, argv, username) if ttl else None
    if cache:
        hit = _cached(cache, moment)
        if hit:
            return hit
    timeout = float(env.get("GATEPASS_COMMAND_TIMEOUT") or DEFAULT_TIMEOUT)
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(env), start_new_session=True,
                                cwd=os.path.dirname(config_file) or None)
    except OSError as exc:
        raise SecretUnavailableError(f"token_command {argv[0]} cannot run ({exc.strerror})") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SecretUnavailableError(f"token_command {argv[0]} timed out after {timeout:g}s") from None
    if proc.returncode != 0:
        raise SecretUnavailableError(f"token_command {argv[0]} failed with exit status {proc.returncode}")
    token = out.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    if not token:
        raise SecretUnavailableError(f"token_command {argv[0]} printed no token")
    expiry = moment + ttl if ttl else None
    if cache and expiry:
        _remember(cache, token, expiry)
    return token, expiry
