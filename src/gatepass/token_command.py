"""``token_command``: a token from a command's first line of output, cached until its ``ttl`` passes.

The command is an argv list (never a shell string), run in the config file's directory with
stdin from /dev/null, the caller's environment, its own process group and a timeout
(``GATEPASS_COMMAND_TIMEOUT`` seconds, default 10; an unusable value means the default) after
which the whole group is killed. Its stderr is discarded (it may echo the token); errors say
only the exit status or the timeout. Only a config that other users cannot change may run
commands: the file and its directory must belong to root or to this user and must not be group-
or world-writable (a sticky directory such as /tmp excepted).

With ``ttl`` (seconds, > 0) the token is cached per user in ``$XDG_CACHE_HOME/gatepass/tokens/``
(0600 files in a 0700 directory, written atomically; expired ones are deleted on the next
write), keyed by a hash of config file, username, ttl and argv, and returned with its expiry
(start of the run + ttl), which git receives as ``password_expiry_utc``. Parallel requests for
the same key wait on a lock so the command runs once. Without ``ttl`` nothing is cached: the
command runs on every request and the token carries no expiry.
"""

from __future__ import annotations

import os
import stat
import time

from gatepass.errors import SecretUnavailableError, StoreUnavailableError
from gatepass.paths import cache_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping

    from gatepass.stores.files import Lock

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
KILL_GRACE = 2.0  # after the group is killed, how long its output may take to close
MAX_CACHE_BYTES = 64 * 1024


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


def cache_path(env: Mapping[str, str], config_file: str, argv: tuple[str, ...], username: str, ttl: int) -> str:
    """The cache file of one (config file, username, ttl, argv)."""
    import hashlib

    digest = hashlib.sha256(repr((os.path.abspath(config_file), username, ttl, argv)).encode()).hexdigest()[:32]
    return os.path.join(cache_dir(env), "tokens", digest)


def _read_cache(path: str) -> tuple[str, int] | None:
    """(token, expiry) from a cache file that is ours and private, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            return None
        expiry_text, _, token = os.read(fd, MAX_CACHE_BYTES).decode("utf-8").partition("\t")
        return token, int(expiry_text)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _cached(path: str, moment: float, ttl: int) -> tuple[str, int] | None:
    hit = _read_cache(path)
    # Beyond now + ttl means the clock went back or the file was not written by us: not trusted.
    if hit and hit[0] and moment < hit[1] <= moment + ttl:
        return hit
    return None


def _prune(directory: str, moment: float) -> None:
    """Delete expired tokens: a cached token is only ever kept until it expires."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        hit = None if "." in name else _read_cache(path)
        if hit and hit[1] <= moment:
            try:
                os.unlink(path)
            except OSError:
                pass


def _remember(path: str, token: str, expiry: int, moment: float) -> None:
    from gatepass.stores.files import write_atomic

    try:
        write_atomic(path, f"{expiry}\t{token}".encode())
    except StoreUnavailableError:  # a cache that cannot be written only costs the next run
        return
    _prune(os.path.dirname(path), moment)


class _Locked:
    """Hold ``path``'s lock while the caller runs; without it (unusable cache dir) run anyway."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path, self.timeout = path, timeout
        self.held: Lock | None = None

    def __enter__(self) -> None:
        from gatepass.stores.files import Lock

        try:
            self.held = Lock(self.path, self.timeout).__enter__()
        except StoreUnavailableError:
            self.held = None

    def __exit__(self, *exc: object) -> None:
        if self.held is not None:
            self.held.__exit__()


def run_token_command(argv: tuple[str, ...], ttl: int | None, config_file: str, username: str,
                      env: Mapping[str, str], now: Callable[[], float] = time.time) -> tuple[str, int | None]:
    """(token, expiry or None) from the cache or a fresh run; SecretUnavailableError saying why not."""
    check_writers(config_file)
    if not ttl or ttl <= 0:
        return fetch(argv, config_file, env), None
    path = cache_path(env, config_file, argv, username, ttl)
    hit = _cached(path, now(), ttl)
    if hit:
        return hit
    with _Locked(path + ".lock", command_timeout(env) + KILL_GRACE + 1):
        moment = now()
        hit = _cached(path, moment, ttl)  # a parallel request may have fetched it while we waited
        if hit:
            return hit
        token = fetch(argv, config_file, env)
        expiry = int(moment) + ttl
        _remember(path, token, expiry, moment)
        return token, expiry
