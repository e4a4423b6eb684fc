"""``token_command``: a token from a command's first line of output, cached until its ``ttl`` passes.

The command is an argv list (never a shell string), run in the config file's directory with
stdin from /dev/null, the caller's environment, its own process group and a timeout
(``GATEPASS_COMMAND_TIMEOUT`` seconds, default 10; an unusable value means the default) after
which the whole group is killed. Its stderr is discarded (it may echo the token); errors say
only the exit status or the timeout. Only a config that other users cannot change may run
commands: the file and its directory must belong to root or to this user and must not be group-
or world-writable (a sticky directory such as /tmp excepted).

With ``ttl`` (seconds, > 0) the token is cached per user in ``gatepass.engines.tokencache`` (the
one expiry-aware cache: 0600 files, trusted read-back, expired entries deleted on the next
write), keyed by config file, username, ttl and argv, and returned with its expiry
(start of the run + ttl), which git receives as ``password_expiry_utc``. Parallel requests for
the same key wait on a lock so the command runs once. Without ``ttl`` nothing is cached: the
command runs on every request and the token carries no expiry.
"""

from __future__ import annotations

import os
import stat
import time

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
KILL_GRACE = 2.0  # after the group is killed, how long its output may take to close


def check_writers(config_file: str) -> None:
    """SecretUnavailableError unless only root or this user can change ``config_file`` (file and directory)."""
    euid = os.geteuid()
    real = os.path.realpath(config_file)
    for path in dict.fromkeys((config_file, os.path.dirname(config_file) or ".", real, os.path.dirname(real))):
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_uid not in (0, euid):
            raise SecretUnavailableError(f"token_command refused: {path} belongs to another user (uid {st.st_uid}), "
                                         "who could change the command; it must belong to root or to you")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
            raise SecretUnavailableError(f"token_command refused: {path} is writable by other users; "
                                         f"run: chmod go-w {path}")


def command_timeout(env: Mapping[str, str]) -> float:
    """``GATEPASS_COMMAND_TIMEOUT`` in seconds when it is a number in (0, 3600], else 10."""
    try:
        value = float(env.get("GATEPASS_COMMAND_TIMEOUT") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if 0 < value <= MAX_TIMEOUT else DEFAULT_TIMEOUT


def _kill_group(pid: int) -> None:
    import signal

    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:  # the group is gone already
        pass


def _stop(proc: subprocess.Popen[bytes]) -> bytes:
    """Kill the command's process group; what it printed before, if its output closes in time."""
    import subprocess

    _kill_group(proc.pid)
    try:
        out, _ = proc.communicate(timeout=KILL_GRACE)
        return out
    except subprocess.TimeoutExpired:  # something left the group and holds the pipe: give up on it
        if proc.stdout:
            proc.stdout.close()
        proc.wait()
        return b""


def _execute(argv: tuple[str, ...], config_file: str, env: Mapping[str, str], timeout: float) -> bytes:
    import subprocess  # here, not at the top: a cached token answers without it (~15 ms)

    name = argv[0]
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(env), start_new_session=True,
                                cwd=os.path.dirname(os.path.abspath(config_file)))
    except OSError as exc:
        raise SecretUnavailableError(f"token_command {name} cannot run ({exc.strerror})") from None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        exited = proc.poll()
        out = _stop(proc)
        if exited is None:  # still running at the deadline
            raise SecretUnavailableError(f"token_command {name} timed out after {timeout:g}s; "
                                         "it was stopped (GATEPASS_COMMAND_TIMEOUT sets the limit)") from None
        # It exited by itself, but a process it left behind kept the output open: judge it by its status.
    finally:
        if proc.poll() is None:  # interrupted (Ctrl-C): never leave the command running
            _stop(proc)
    if proc.returncode < 0:
        raise SecretUnavailableError(f"token_command {name} was killed by signal {-proc.returncode}")
    if proc.returncode != 0:
        raise SecretUnavailableError(f"token_command {name} failed with exit status {proc.returncode}")
    return out


def _token(name: str, out: bytes) -> str:
    try:
        token = out.split(b"\n", 1)[0].decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretUnavailableError(f"token_command {name} printed a first line that is not UTF-8 text") from None
    if not token:
        raise SecretUnavailableError(f"token_command {name} printed no token on its first line")
    if "\0" in token:
        raise SecretUnavailableError(f"token_command {name} printed a NUL byte in its token")
    return token


def fetch(argv: tuple[str, ...], config_file: str, env: Mapping[str, str]) -> str:
    """Run the command now (no cache) and return its token; SecretUnavailableError saying why not."""
    return _token(argv[0], _execute(argv, config_file, env, command_timeout(env)))


def cache_key(config_file: str, argv: tuple[str, ...], username: str, ttl: int) -> tuple[str, ...]:
    """The token cache key of one (config file, username, ttl, argv)."""
    return ("token_command", os.path.abspath(config_file), username, str(ttl), *argv)


def run_token_command(argv: tuple[str, ...], ttl: int | None, config_file: str, username: str,
                      env: Mapping[str, str], now: Callable[[], float] = time.time) -> tuple[str, int | None]:
    """(token, expiry or None) from the cache or a fresh run; SecretUnavailableError saying why not."""
    check_writers(config_file)
    if not ttl or ttl <= 0:
        return fetch(argv, config_file, env), None
    from gatepass.engines import tokencache

    key = cache_key(config_file, argv, username, ttl)
    hit = _cached(env, key, now, ttl)
    if hit:
        return hit
    with tokencache.lock(env, key, command_timeout(env) + KILL_GRACE + 1):
        hit = _cached(env, key, now, ttl)  # a parallel request may have fetched it while we waited
        if hit:
            return hit
        moment = now()
        token = fetch(argv, config_file, env)
        expiry = int(moment) + ttl
        tokencache.put(env, key, token, expiry, now)
        return token, expiry


def _cached(env: Mapping[str, str], key: tuple[str, ...], now: Callable[[], float], ttl: int) -> tuple[str, int] | None:
    from gatepass.engines import tokencache

    hit = tokencache.get(env, key, now)
    # Beyond now + ttl means the clock went back: not trusted.
    return hit if hit and hit[1] <= now() + ttl else None
