"""The ``command`` engine (``token_command``): a token from a command's first line of output, cached
until its ``ttl`` passes. An engine like the others (docs/design.md "Secrets from engines"):
``gatepass.engines.read_engine`` calls ``admit`` (the config may run commands), then ``cache_key``
(``None`` without ``ttl``: never cached), the cache, the key's lock (``lock_wait``) and ``fetch``.

The command is an argv list (never a shell string), run in the config file's directory with
stdin from /dev/null, the caller's environment, its own process group and a timeout
(``GATEPASS_COMMAND_TIMEOUT`` seconds, default 10; an unusable value means the default) after
which the whole group is killed; its output is capped at 64 KiB (ample for a token; more is an
error, never buffered). Its stderr is discarded (it may echo the token); errors say only the exit
status, the timeout or the cap. Only a config that other users cannot change may run commands: the
file that was parsed (judged by the identity ``fstat`` gave on the descriptor parsed, recorded in
the parse cache, never by a fresh look at the path, which a symlink flip could redirect) must
belong to root or to this user, must not be group- or world-writable, must still be the file at
its path, and no other user may write a directory above it (a sticky one such as /tmp excepted).
That is judged before a cached token is used too.

With ``ttl`` (seconds, > 0) the token is cached per user in ``gatepass.engines.tokencache`` (the
one expiry-aware cache: 0600 files, trusted read-back, expired entries deleted on the next
write), keyed by config file, username, ttl and argv, and returned with its expiry
(start of the run + ttl), which git receives as ``password_expiry_utc``. Parallel requests for
the same key wait on a lock (for the command's timeout and a grace) so the command runs once.
Without ``ttl`` nothing is cached: the command runs on every request and the token carries no expiry.
"""

from __future__ import annotations

import os
import stat
import time

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping
    from typing import Any

    from gatepass.model import Account, Request

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 3600.0
KILL_GRACE = 2.0  # slack on top of the command timeout for a lock waiter
MAX_OUTPUT = 64 * 1024


def check_writers(config_file: str, source: tuple[int, ...] | None = None) -> None:
    """SecretUnavailableError unless only root or this user can change ``config_file``.

    ``source`` is the identity (``config.cache.identity``) of the file as it was parsed: owner and
    mode are judged on it, and the path must still lead to that very file. Without it (``config
    check``) the path is looked at now.
    """
    from gatepass.readback import directory_problem

    if source is None:
        try:
            st = os.stat(config_file)
        except OSError as exc:
            raise SecretUnavailableError(f"token_command refused: {config_file} cannot be checked ({exc.strerror})") from None
        source = (st.st_dev, st.st_ino, st.st_uid, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    else:
        try:
            st = os.stat(config_file)
            now: tuple[int, ...] | None = (st.st_dev, st.st_ino, st.st_uid, st.st_mode, st.st_size,
                                           st.st_mtime_ns, st.st_ctime_ns)
        except OSError:
            now = None
        if now != tuple(source):
            raise SecretUnavailableError(f"token_command refused: {config_file} changed since it was read; "
                                         "run the command again")
    uid, mode = source[2], source[3]
    if uid not in (0, os.geteuid()):
        raise SecretUnavailableError(f"token_command refused: {config_file} belongs to another user (uid {uid}), "
                                     "who could change the command; it must belong to root or to you")
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise SecretUnavailableError(f"token_command refused: {config_file} is writable by other users; "
                                     f"run: chmod go-w {config_file}")
    for directory in dict.fromkeys((os.path.dirname(os.path.abspath(config_file)),
                                    os.path.dirname(os.path.realpath(config_file)))):
        why = directory_problem(directory)
        if why:
            raise SecretUnavailableError(f"token_command refused: {why}, so others could change "
                                         f"{config_file}; it must belong to root or to you")


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


def _collect(proc: subprocess.Popen[bytes], name: str, deadline: float) -> tuple[bytes, bool]:
    """The command's output until it closes it, or what came before the deadline (then True).
    More than MAX_OUTPUT bytes is an error at once: a token is short, and output is never buffered
    without limit."""
    import select

    assert proc.stdout is not None
    fd, chunks, total = proc.stdout.fileno(), list[bytes](), 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), True
        if not select.select([fd], [], [], left)[0]:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        total += len(chunk)
        if total > MAX_OUTPUT:
            _kill_group(proc.pid)
            raise SecretUnavailableError(f"token_command {name} printed more than {MAX_OUTPUT // 1024} KiB; "
                                         "it was stopped (a token is one short line)")
        chunks.append(chunk)


def _execute(argv: tuple[str, ...], config_file: str, env: Mapping[str, str], timeout: float) -> bytes:
    import subprocess  # here, not at the top: a cached token answers without its imports

    name = argv[0]
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=dict(env), start_new_session=True,
                                cwd=os.path.dirname(os.path.abspath(config_file)))
    except OSError as exc:
        raise SecretUnavailableError(f"token_command {name} cannot run ({exc.strerror})") from None
    deadline = time.monotonic() + timeout
    try:
        out, late = _collect(proc, name, deadline)
        if not late:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:  # closed its output but goes on running
                late = True
        if late:
            exited = proc.poll()
            _kill_group(proc.pid)
            if exited is None:  # still running at the deadline
                raise SecretUnavailableError(f"token_command {name} timed out after {timeout:g}s; "
                                             "it was stopped (GATEPASS_COMMAND_TIMEOUT sets the limit)")
            # It exited by itself, but a process it left behind kept the output open: judge it by its status.
    finally:
        if proc.poll() is None:  # interrupted (Ctrl-C) or over the cap: never leave the command running
            _kill_group(proc.pid)
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
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


def run(argv: tuple[str, ...], config_file: str, env: Mapping[str, str]) -> str:
    """Run the command now (no cache) and return its token; SecretUnavailableError saying why not."""
    return _token(argv[0], _execute(argv, config_file, env, command_timeout(env)))


def _argv(account: Account) -> tuple[str, ...]:
    ref: Any = account.secret_ref  # secret_kind "command": the argv tuple of strings (config/schema.py)
    return tuple(ref)


def admit(account: Account, env: Mapping[str, str]) -> None:
    """SecretUnavailableError unless the config the account came from may run commands (``check_writers``
    on the identity of the file that was parsed)."""
    check_writers(account.file, account.source)


def lock_wait(env: Mapping[str, str]) -> float:
    """How long a parallel request waits for the one running the command: its timeout and a grace."""
    return command_timeout(env) + KILL_GRACE + 1


def cache_key(account: Account, request: Request, *, env: Mapping[str, str], settings: Mapping[str, object]
              ) -> tuple[str, ...] | None:
    """One cached token per (config file, username, ttl, argv); ``None`` without ``ttl``: never cached."""
    if not account.ttl or account.ttl <= 0:
        return None
    return (os.path.abspath(account.file), account.username, str(account.ttl), *_argv(account))


def fetch(account: Account, request: Request, env: Mapping[str, str], *, settings: Mapping[str, object]
          ) -> tuple[str, int | None]:
    """(token, start of the run + ttl, or None without ttl)."""
    moment = time.time()
    token = run(_argv(account), account.file, env)
    return token, (int(moment) + account.ttl if account.ttl and account.ttl > 0 else None)
