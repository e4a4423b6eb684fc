"""``GATEPASS_TRACE=FILE``: one JSON line per helper call, saying which account answered and why.

Imported only when the variable is set: with tracing off the helpers import neither this module nor
``json`` (docs/design.md "Choosing an account outside git; tracing"). A line holds the time, the
helper and operation, the request (protocol, host, path, the username git asked for, the
``GATEPASS_ACCOUNT`` restriction), every candidate with its rule, reason and where it comes from
(file:line or the store), the winner's username (or null) and the duration in milliseconds. Never a
secret: candidates are described by the resolver's reasons and by error messages, which by contract
name no value.

The file is appended to with ``O_APPEND`` (one ``write`` per line, so parallel helpers interleave
whole lines), created 0600, opened ``O_NOFOLLOW`` and used only when it is a regular file of the
effective user that no one else can write (:func:`gatepass.ownership.file_problem`). A trace that cannot
be written costs one stderr line and never changes the helper's answer or exit status.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gatepass.model import Account, Candidate, Request

MAX_TRACE_BYTES = 1 << 62  # a trace is never read back; only its owner and mode matter


class Trace:
    """What one helper call decided, written as one JSON line by :meth:`write`."""

    def __init__(self, path: str, helper: str, operation: str, started: float) -> None:
        self.path, self.helper, self.operation, self.started = path, helper, operation, started
        self.request: Request | None = None
        self.candidates: list[dict[str, object]] = []
        self.winner: str | None = None
        self.outcome: str | None = None

    def ranked(self, request: Request, eligible: list[Candidate], ruled_out: list[Candidate]) -> None:
        """The resolver's verdict: eligible candidates (best first), then the ruled-out ones."""
        self.request = request
        self.candidates = [_candidate(c.account, c.rule, c.reason, "eligible" if c.ok else "ruled out")
                           for c in [*eligible, *ruled_out]]

    def unreadable(self, account: Account, message: str) -> None:
        for item in self.candidates:
            if item["where"] == account.where and item["username"] == account.username and item["result"] == "eligible":
                item["result"], item["error"] = "unreadable", message
                return

    def chose(self, account: Account) -> None:
        self.winner = account.username
        for item in self.candidates:
            if item["where"] == account.where and item["username"] == account.username and item["result"] == "eligible":
                item["result"] = "chosen"
                return

    def line(self) -> dict[str, object]:
        request = self.request
        return {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.started)) + f".{int(self.started * 1000) % 1000:03d}Z",
            "helper": self.helper, "operation": self.operation,
            "protocol": request.scheme if request else None, "host": _host(request),
            "path": request.path if request else None, "username": request.username if request else None,
            "account": request.account if request else None,
            "candidates": self.candidates, "winner": self.winner, "outcome": self.outcome,
            "duration_ms": round((time.time() - self.started) * 1000, 1),
        }

    def write(self, report: Callable[[str], None]) -> None:
        """Append the line; any failure is one stderr line, never an exception."""
        try:
            import json

            data = (json.dumps(self.line(), ensure_ascii=True, sort_keys=False) + "\n").encode("ascii")
            _append(self.path, data)
        except Exception as exc:  # a trace never fails the helper, whatever went wrong
            report(f"GATEPASS_TRACE: not written to {self.path} ({_why(exc)})")


def _why(exc: Exception) -> str:
    return exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else str(exc) or type(exc).__name__


def _host(request: Request | None) -> str | None:
    if request is None:
        return None
    return request.host if request.port is None else f"{request.host}:{request.port}"


def _candidate(account: Account, rule: str, reason: str, result: str) -> dict[str, object]:
    return {"username": account.username, "domain": account.domain, "rule": rule, "reason": reason,
            "where": account.where, "layer": account.layer, "result": result}


class TraceFileError(Exception):
    pass


def _append(path: str, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        from gatepass.ownership import file_problem

        why = file_problem(os.fstat(fd), MAX_TRACE_BYTES)
        if why:
            raise TraceFileError(f"it {why}")
        written = os.write(fd, data)
        if written != len(data):
            raise TraceFileError("short write")
    finally:
        os.close(fd)


def start(env: Mapping[str, str], helper: str, operation: str, started: float) -> Trace | None:
    """A Trace when ``GATEPASS_TRACE`` names a file, else None."""
    path = env.get("GATEPASS_TRACE")
    return Trace(path, helper, operation, started) if path else None
