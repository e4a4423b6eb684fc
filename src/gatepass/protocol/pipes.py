"""A reader that went away (``gatepass list | head -1``) ends gatepass as it ends other Unix tools.

``cat``, ``ls`` and ``git`` die of SIGPIPE, silently, and the shell reports status 141. Python
ignores SIGPIPE and raises BrokenPipeError instead, which would become "internal error" and
"Exception ignored ... BrokenPipeError" noise when the interpreter flushes stdout at exit.
So the default disposition is restored and the signal delivered to ourselves: nothing more is
written and nothing is printed. Only ``os`` and ``signal`` are imported (both built in).
"""

from __future__ import annotations

import os
import signal
from typing import NoReturn


def end_quietly() -> NoReturn:
    """Die of SIGPIPE, as a C program writing to a closed pipe does (exit status 141 in the shell)."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(128 + signal.SIGPIPE)  # not reached: SIGPIPE's default action ends the process
