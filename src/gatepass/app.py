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


def load(env: Mapping[str, str], report: Callable[[str], None], hosts: list[str] | None = None) -> Config:
    """All config layers (only ``hosts``' accounts when given); every config error goes to ``report``."""
    config = load_config(env, hosts)
    for error in config.errors:
        report(error)
    return config


def host_keys(host: str) -> list[str]:
    """The config host keys that can match ``host``: itself and the one-label wildcard above it."""
    parent = host.partition(".")[2]
    return [host, "*." + parent] if parent else [host]


def answer(request: Request, env: Mapping[str, str], report: Callable[[str], None]
           ) -> tuple[Account, Secret] | None:
    """The chosen account and its secret, or ``None``: the first eligible account whose secret reads wins.

    An unreadable secret is reported and resolution moves on to the next candidate (DESIGN.md:
    never silently "not found").
    """
    config = load(env, report, host_keys(request.host))
    eligible, _ = rank(request, config.accounts)
    for candidate in eligible:
        try:
            return candidate.account, read_secret(candidate.account, env)
        except SecretUnavailableError as exc:
            report(str(exc))
    return None


def docker_list(env: Mapping[str, str], report: Callable[[str], None]) -> dict[str, str]:
    """Server string -> username for every concrete registry gatepass knows; never reads a secret.

    Docker Hub is listed as ``https://index.docker.io/v1/``. Where several accounts share a
    registry, the one resolution would try first (ignoring organizations) is shown. Wildcard
    domains name no registry a client could ask for, so they are not listed.
    """
    from gatepass.hosts import docker_display_key

    config = load(env, report)
    accounts = [a for a in config.accounts if a.kind == "docker" and not a.host.startswith("*.")]
    accounts.sort(key=lambda a: (bool(a.organizations), -a.rank, a.order))
    listed: dict[str, str] = {}
    for account in accounts:
        listed.setdefault(docker_display_key(account.host, account.port), account.username)
    return listed
