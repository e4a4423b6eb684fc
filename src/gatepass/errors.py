"""The errors gatepass shows to people: one actionable line each, never a secret.

Every front end turns these into output in exactly one place:
``protocol/git.py`` (stderr, exit 0/1), ``protocol/docker.py`` (stdout, exit 1)
and ``cli/main.py`` (click). ``str(exc)`` must name the problem and the fix and
must never contain a token, a password or a file's content.
"""


class GatepassError(Exception):
    """Base for errors shown to users; ``str(exc)`` is one actionable line, never a secret."""


class InvalidRequestError(GatepassError):
    """Protocol input we cannot act on (CR/NUL in a git request, docker get with no URL)."""


class NotFoundError(GatepassError):
    """No credential matches. A normal outcome, not a failure."""


class ConfigError(GatepassError):
    """A config file that cannot be used, or a part of it. Names file, line and key; never a value."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.path, self.line, self.key = path, line, key
        where = path or ""
        if path and line:
            where = f"{path}:{line}"
        prefix = f"{where}: " if where else ""
        if key:
            prefix += f"{key}: "
        super().__init__(prefix + message)


class SecretUnavailableError(GatepassError):
    """An account's secret cannot be read now (missing file or variable, failing command...)."""


class StoreUnavailableError(GatepassError):
    """A keyring backend is missing, locked or timed out. Never reported as "not found"."""


class NonInteractiveError(GatepassError):
    """Answering would need a prompt; the helpers never prompt."""


class PrivateFileError(GatepassError):
    """A file or directory gatepass keeps for itself cannot be created, written or locked."""


def internal_error(exc: BaseException, debug: str = "GATEPASS_DEBUG=1") -> str:
    """The one line an unexpected failure becomes in each front end (``debug``: how that one shows the
    traceback). The type only: the exception's text could carry anything, a token included."""
    return f"internal error ({type(exc).__name__}); run again with {debug} for the traceback"
