"""Holding Ctrl-C (and SIGTERM, SIGHUP) back while a change of several steps is made, so none is half-made.

A single atomic write needs no help; ``setup git`` runs several ``git config`` commands and
``setup docker`` writes a backup before the file, and an interrupt between two of them would
leave a mix. The signal is delivered, with its normal effect, once the block is done.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Run the block with SIGINT/SIGTERM/SIGHUP held; re-deliver them after it, in arrival order."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in DEFERRED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for number in dict.fromkeys(received):
            signal.raise_signal(number)
