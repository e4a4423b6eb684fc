"""``GATEPASS_TRACE``: one JSON line per helper call, saying which account answered and why.

The value follows ``GIT_TRACE``: ``1``, ``2`` or ``true`` write the line to stderr (after
``gatepass: trace``), ``0`` or ``false`` trace nothing, an absolute path appends to that file, and
anything else (a relative name, which would land in git's work tree) is refused with one line.

Imported only when the variable is set: with tracing off the helpers import neither this module nor
``json`` (docs/design.md "Choosing an account outside git; tracing"). A line holds the time, the
helper and operation, the request (protocol, host, path, the username git asked for, the
``GATEPASS_ACCOUNT`` restriction), every candidate with its rule, reason and where it comes from
(file:line or the store), the winner's username (or null) and the duration in milliseconds. Never a
secret: candidates are described by the resolver's reasons and by error messages, which by contract
name no value.

The file is appended to with ``O_APPEND`` (one ``write`` per line, so parallel helpers interleave
whole lines), created 0600, opened ``O_NOFOLLOW`` and used only when it is a regular file of the
effective user that no one else can write (:func:`gatepass.ownership.file_problem`), under directories
that are neither another user's symlink nor writable by others (root must not write through
another user's link). A query string in the request path is redacted. A trace that cannot be written costs one
stderr line and never changes the helper's answer or exit status.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gatepass.model import Account, Candidate, Request

MAX_TRACE_BYTES = 1 << 62  # a trace is never read back; only its owner and mode matter
TO_STDERR = ("1", "2", "true")  # as GIT_TRACE
OFF = ("0", "false")


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
            "path": redacted(request.path) if request else None, "username": request.username if request else None,
            "account": request.account if request else None,
            "candidates": self.candidates, "winner": self.winner, "outcome": self.outcome,
            "duration_ms": round((time.time() - self.started) * 1000, 1),
        }

    def write(self, report: Callable[[str], None]) -> None:
        """Append the line (to stderr for ``1``, ``2`` or ``true``); any failure is one stderr line,
        never an exception."""
        try:
            import json

            text = json.dumps(self.line(), ensure_ascii=True, sort_keys=False)
            if self.path.lower() in TO_STDERR:
                report(f"trace {text}")
                return
            if not self.path.startswith("/"):
                report(f"GATEPASS_TRACE={_shown(self.path)}: not 1, 2, true or an absolute path; nothing traced")
                return
            _append(self.path, (text + "\n").encode("ascii"))
        except Exception as exc:  # a trace never fails the helper, whatever went wrong
            report(f"GATEPASS_TRACE: not written to {self.path} ({_why(exc)})")


def _shown(value: str) -> str:
    """A refused value as one printable line."""
    shown = "".join(c if c.isprintable() else "?" for c in value[:80])
    return shown + ("..." if len(value) > 80 else "")


def redacted(path: str | None) -> str | None:
    """A request path with its query string replaced (``?access_token=...`` is a secret)."""
    if path is None or "?" not in path:
        return path
    return path[:path.index("?")] + "?<redacted>"


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


def _chain_problem(path: str) -> str | None:
    """Why the directories above ``path`` would let someone else choose where the trace goes: a
    directory that is another user's symlink (root writing through ``/tmp/x/gp`` with ``/tmp/x`` that
    user's link), or one, as written or resolved, that is not root's or the effective user's, or that
    others can write (``readback``)."""
    from gatepass.readback import directory_problem

    directory = os.path.dirname(os.path.abspath(path))
    probe, euid = directory, os.geteuid()
    while True:
        try:
            st = os.lstat(probe)
        except OSError:
            st = None
        if st is not None and st.st_mode & 0o170000 == 0o120000 and st.st_uid not in (0, euid):
            return f"{probe} is a symlink of uid {st.st_uid}"  # root's /var/run -> /run, or your own, are fine
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    return directory_problem(directory)


def _append(path: str, data: bytes) -> None:
    why = _chain_problem(path)
    if why:
        raise TraceFileError(why)
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
    return Trace(path, helper, operation, started) if path and path.lower() not in OFF else None
