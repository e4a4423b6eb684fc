"""SIGKILL a writer at every step, deterministically: no sleeps, no races with the scheduler.

``trace`` runs Python ``code`` in a child whose ``os``/``posix`` file-system calls are hooked and returns the
list of calls it made. ``kill_at`` runs it again and, just before call number ``step`` (or halfway
through it, for a write: ``"N-half"``), the child stops itself with SIGSTOP; the parent waits for
that stop and SIGKILLs it there. ``points`` lists every step of a trace, halves included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence

HOOKED = ("open", "write", "fsync", "fchmod", "close", "replace", "rename", "link", "unlink")

PRELUDE = """
import json, os, posix, signal, sys
_stop_at = sys.argv[1]
_calls = []

def _hooked(name, real):
    def call(*args, **kwargs):
        _calls.append(name)
        step = str(len(_calls) - 1)
        if _stop_at == step + "-half":  # a write cut in the middle: half the bytes are on disk
            data = memoryview(args[1])
            real(args[0], data[:max(1, len(data) // 2)])
            os.kill(os.getpid(), signal.SIGSTOP)
        if _stop_at == step:  # just before this call
            os.kill(os.getpid(), signal.SIGSTOP)
        return real(*args, **kwargs)
    return call

for _name in %r:
    for _module in (os, posix):  # gatepass's warm-path modules call posix directly (gatepass.paths)
        setattr(_module, _name, _hooked(_name, getattr(_module, _name)))
sys.argv[1:] = sys.argv[2:]
""" % (HOOKED,)

EPILOGUE = "\nsys.stderr.write('\\nSTEPKILL-TRACE ' + json.dumps(_calls) + '\\n')\n"


def trace(code: str, args: Sequence[str], env: Mapping[str, str], stdin: bytes = b"") -> list[str]:
    """Every hooked call ``code`` makes, in order (the run completes)."""
    done = subprocess.run([sys.executable, "-c", PRELUDE + code + EPILOGUE, "", *args], input=stdin,
                          env=dict(env), capture_output=True, timeout=120)
    marker = done.stderr.rpartition(b"\nSTEPKILL-TRACE ")[2]
    assert done.returncode == 0 and marker, done.stderr.decode(errors="replace")[-2000:]
    calls: list[str] = json.loads(marker)
    return calls


def points(calls: Sequence[str]) -> list[str]:
    return [str(i) for i in range(len(calls))] + [f"{i}-half" for i, name in enumerate(calls) if name == "write"]


def kill_at(point: str, code: str, args: Sequence[str], env: Mapping[str, str], stdin: bytes = b"") -> None:
    """Run ``code`` until it reaches ``point``, then SIGKILL it there."""
    child = subprocess.Popen([sys.executable, "-c", PRELUDE + code, point, *args], env=dict(env),
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert child.stdin is not None
    child.stdin.write(stdin)
    child.stdin.close()
    _, status = os.waitpid(child.pid, os.WUNTRACED)
    if not os.WIFSTOPPED(status):  # it ended instead: reap nothing twice, report clearly
        child.returncode = os.waitstatus_to_exitcode(status)
        raise AssertionError(f"the writer never reached step {point} (it exited with {child.returncode})")
    child.kill()
    child.wait()
