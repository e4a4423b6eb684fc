"""The two wire protocols (``git``: git's credential helper protocol, ``docker``: docker's), and what
both helper front ends share: their injected streams, the stdin deadline and the stderr diagnostics line.

Kept in the package itself, not a module of its own: each module a warm ``get`` imports is a cost
paid on every git fetch. The warm path imports no ``os`` (which brings ``_collections_abc`` and
``posixpath``), ``select`` or ``__future__``: ``posix`` is the same system calls (tests/unit/protocol/test_startup.py
pins the set; benchmarks/bench_get.py measures it). Annotations naming types only mypy imports are strings.
"""

import posix
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import select
    from collections.abc import Callable, Mapping
    from typing import BinaryIO, NoReturn


# Which of the standard descriptors the helper was started without (``<&-``, ``>&-``, ``2>&-``).
CLOSED: set[int] = set()


def resolve(argv: "list[str] | None", stdin: "BinaryIO | None", stdout: "BinaryIO | None", stderr: "BinaryIO | None",
            env: "Mapping[str, str] | None") -> "tuple[list[str], BinaryIO, BinaryIO, BinaryIO, Mapping[str, str]]":
    """The process's own argv, byte streams and environment, for whatever a test did not inject."""
    if None in (sys.stdin, sys.stdout, sys.stderr):
        _hold_closed_descriptors((stdin, stdout, stderr))
    return (sys.argv[1:] if argv is None else argv, _stream(0, stdin), _stream(1, stdout), _stream(2, stderr),
            environ() if env is None else env)


def _hold_closed_descriptors(given: "tuple[BinaryIO | None, ...]") -> None:
    """Put ``/dev/null`` on each standard descriptor the process started without (Python then shows
    that stream as None), as git's ``sanitize_stdfds`` does: otherwise the store file or a lock
    opened later takes number 1 or 2, and a line meant for stdout or stderr, or a token command's
    output, lands in it."""
    for fd, stream in enumerate((sys.stdin, sys.stdout, sys.stderr)):
        if stream is None:
            if given[fd] is None:
                CLOSED.add(fd)
            try:
                null = posix.open("/dev/null", posix.O_RDWR)
                if null != fd:
                    posix.dup2(null, fd)
                    posix.close(null)
            except OSError:
                pass


def _stream(fd: int, given: "BinaryIO | None") -> "BinaryIO":
    if given is not None:
        return given
    own = (sys.stdin, sys.stdout, sys.stderr)[fd]
    if own is not None:
        return own.buffer
    return open(fd, "rb" if fd == 0 else "wb", closefd=False)  # /dev/null, held above


STDIN_CLOSED = "stdin is closed: the request comes there; nothing was done"


def environ() -> "Mapping[str, str]":
    """``os.environ`` once something imported ``os`` (a test's monkeypatch lands there), else the
    process environment decoded as ``os.fsdecode`` does, without importing ``os``."""
    os = sys.modules.get("os")
    if os is not None:
        environ: "Mapping[str, str]" = os.environ
        return environ
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return {key.decode(encoding, errors): value.decode(encoding, errors) for key, value in posix.environ.items()}


def reporter(stderr: "BinaryIO") -> "Callable[[str], None]":
    """One ``gatepass: ...`` line on stderr per diagnostic; stdout is the protocol's alone."""
    def report(message: str) -> None:
        stderr.write(f"gatepass: {message}\n".encode("utf-8", "replace"))
        stderr.flush()
    return report


STDIN_TIMEOUT = 10.0  # seconds for the whole request; a helper's request is a few hundred bytes


def stdin_timeout(env: "Mapping[str, str]") -> float:
    """``GATEPASS_STDIN_TIMEOUT`` (seconds, for tests and slow pipes), else ``STDIN_TIMEOUT``."""
    try:
        value = float(env.get("GATEPASS_STDIN_TIMEOUT", ""))
    except ValueError:
        return STDIN_TIMEOUT
    return value if 0 < value <= 3600 else STDIN_TIMEOUT


def read_input(stream: "BinaryIO", limit: int, env: "Mapping[str, str]", *, blank_line_ends: bool = False) -> bytes:
    """What a helper reads from stdin: up to EOF (or, with ``blank_line_ends``, up to an empty line),
    at most ``limit + 1`` bytes, all within one deadline. A writer that never closes stdin, or
    trickles bytes, gets one clear error instead of a helper that waits forever.

    A stream without a file descriptor (a test's BytesIO) is read directly: it cannot block."""
    from gatepass.errors import InvalidRequestError

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return stream.read(limit + 1)
    timeout = stdin_timeout(env)
    deadline = time.monotonic() + timeout
    # git writes its request and closes the pipe before the helper's interpreter is even up, so a pipe
    # is read non-blocking (its old mode put back) and ``select`` is imported only when the writer is
    # still writing; a regular file (``< request``) cannot block. A tty, a socket or anything else is
    # waited on before every read (``O_NONBLOCK`` on a terminal would reach every process sharing it).
    kind = posix.fstat(fd).st_mode & _S_IFMT
    wait = kind not in (_S_IFREG, _S_IFIFO)
    blocking = kind == _S_IFIFO and posix.get_blocking(fd)
    if blocking:
        posix.set_blocking(fd, False)
    poller: "select.poll | None" = None
    data = b""
    try:
        while len(data) <= limit and not (blank_line_ends and _has_blank_line(data)):
            if wait:
                if poller is None:
                    import select

                    poller = select.poll()
                    poller.register(fd, select.POLLIN)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not poller.poll(remaining * 1000):
                    raise InvalidRequestError(f"the request on stdin did not end within {timeout:g}s (stdin never "
                                              "closed); GATEPASS_STDIN_TIMEOUT sets the limit in seconds")
            try:
                chunk = posix.read(fd, 65536)
            except BlockingIOError:  # the writer is still writing: wait for it, within the deadline
                wait = True
                continue
            if not chunk:
                break
            data += chunk
    finally:
        if blocking:
            posix.set_blocking(fd, True)
    return data


_S_IFMT, _S_IFREG, _S_IFIFO = 0o170000, 0o100000, 0o010000


def _has_blank_line(data: bytes) -> bool:
    return data.startswith(b"\n") or b"\n\n" in data


def finish(code: int) -> "NoReturn":
    """End a helper process with ``main``'s ``code``: stdout and stderr flushed, then ``posix._exit``
    when nothing is left for the interpreter's own exit to do, else ``sys.exit``.

    CPython's finalization tears down every module and object, a measurable part of a warm ``get``
    (benchmarks/bench_get.py), for a process whose files are all written through descriptors already
    closed and fsynced (gatepass.files). It is kept whenever it has work: an ``atexit`` handler
    (logging, a library's cleanup), another live thread (the normal exit waits for it), or a keyring
    backend loaded (``keyring:<module.Class>`` runs code gatepass does not know). The launchers call
    this; tests call ``main`` and keep their interpreter."""
    import atexit

    threading = sys.modules.get("threading")
    if atexit._ncallbacks() or "keyring" in sys.modules or (threading is not None and threading.active_count() > 1):
        sys.exit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)  # the normal exit reports or ignores it as it always did
    posix._exit(code)
