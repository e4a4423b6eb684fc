"""What both helper front ends share: their injected streams and the stderr diagnostics line."""

from __future__ import annotations

import os
import sys

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
