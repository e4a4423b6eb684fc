"""The composition root: load the layers, rank candidates, read the first readable secret.

The one place the helpers' parts are wired together. Front ends pass ``env`` (``os.environ``
or a test's dict) and a ``report`` callback for diagnostics; nothing here writes output.
"""

from __future__ import annotations

from gatepass.config.layers import Config, load_config
from gatepass.errors import SecretUnavailableError
from gatepass.resolver import rank
from gatepass.secrets import Secret, read_secret

TYPE_CHECKING = False  # typing costs ~10 ms to import; mypy reads this the same way
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gatepass.model import Account, Request


def load(env: Mapping[str, str], report: Callable[[str], None]) -> Config:
    """All config layers; every config error goes to ``report`` (one line each) and is otherwise skipped."""
    config = load_config(env)
    for error in config.errors:
        report(error)
    return config


def answer(request: Request, env: Mapping[str, str], report: Callable[[str], None]
           ) -> tuple[Account, Secret] | None:
    """The chosen account and its secret, or ``None``: the first eligible account whose secret reads wins.

    An unreadable secret is reported and resolution moves on to the next candidate (DESIGN.md:
    never silently "not found").
    """
    config = load(env, report)
    eligible, _ = rank(request, config.accounts)
    for candidate in eligible:
        try:
            return candidate.account, read_secret(candidate.account, env)
        except SecretUnavailableError as exc:
            report(str(exc))
    return None
