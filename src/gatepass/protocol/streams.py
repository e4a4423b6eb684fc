"""What both helper front ends share: their injected streams and the stderr diagnostics line."""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import BinaryIO


def resolve(argv: list[str] | None, stdin: BinaryIO | None, stdout: BinaryIO | None, stderr: BinaryIO | None,
            env: Mapping[str, str] | None) -> tuple[list[str], BinaryIO, BinaryIO, BinaryIO, Mapping[str, str]]:
    """The process's own argv, byte streams and environment, for whatever a test did not inject."""
    return (sys.argv[1:] if argv is None else argv, sys.stdin.buffer if stdin is None else stdin,
            sys.stdout.buffer if stdout is None else stdout, sys.stderr.buffer if stderr is None else stderr,
            os.environ if env is None else env)


def reporter(stderr: BinaryIO) -> Callable[[str], None]:
    """One ``gatepass: ...`` line on stderr per diagnostic; stdout is the protocol's alone."""
    def report(message: str) -> None:
        stderr.write(f"gatepass: {message}\n".encode("utf-8", "replace"))
        stderr.flush()
    return report


STDIN_TIMEOUT = 10.0  # seconds for the whole request; a helper's request is a few hundred bytes


def stdin_timeout(env: Mapping[str, str]) -> float:
    """``GATEPASS_STDIN_TIMEOUT`` (seconds, for tests and slow pipes), else ``STDIN_TIMEOUT``."""
    try:
        value = float(env.get("GATEPASS_STDIN_TIMEOUT", ""))
    except ValueError:
        return STDIN_TIMEOUT
    return value if 0 < value <= 3600 else STDIN_TIMEOUT


def read_input(stream: BinaryIO, limit: int, env: Mapping[str, str], *, blank_line_ends: bool = False) -> bytes:
    """What a helper reads from stdin: up to EOF (or, with ``blank_line_ends``, up to an empty line),
    at most ``limit + 1`` bytes, all within one deadline. A writer that never closes stdin, or
    trickles bytes, gets one clear error instead of a helper that waits forever.

    A stream without a file descriptor (a test's BytesIO) is read directly: it cannot block."""
    from gatepass.errors import InvalidRequestError

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return stream.read(limit + 1)
    import select

    timeout = stdin_timeout(env)
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    data = b""
    while len(data) <= limit and not (blank_line_ends and _has_blank_line(data)):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise InvalidRequestError(f"the request on stdin did not end within {timeout:g}s (stdin never closed); "
                                      "GATEPASS_STDIN_TIMEOUT sets the limit in seconds")
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def _has_blank_line(data: bytes) -> bool:
    return data.startswith(b"\n") or b"\n\n" in data
