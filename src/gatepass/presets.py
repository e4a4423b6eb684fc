"""CI presets: the token a CI system already hands every job, with the username its git server expects.

``preset = "github-actions"`` on a git account means ``x-access-token`` + ``$GITHUB_TOKEN``;
``preset = "gitlab-ci"`` means ``gitlab-ci-token`` + ``$CI_JOB_TOKEN``. With
``GATEPASS_PRESET=NAME`` in the environment a job needs no config file at all: one account is
synthesised, with provenance ``GATEPASS_PRESET``, for the CI's own server: GitHub's
``GITHUB_SERVER_URL`` (https://github.com when unset), GitLab's ``CI_SERVER_PROTOCOL``,
``CI_SERVER_HOST`` and ``CI_SERVER_PORT``; its scheme decides https-only as ``https`` does.

Decisions where docs/design.md is silent: the synthesised account is the lowest layer (any
config file's account for that host wins), unscoped; a preset account in a file
may repeat the preset's username but not set another one or another secret.
"""

from __future__ import annotations

from gatepass.model import Account

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# name -> (username, environment variable holding the token)
PRESETS = {"github-actions": ("x-access-token", "GITHUB_TOKEN"),
           "gitlab-ci": ("gitlab-ci-token", "CI_JOB_TOKEN")}
SOURCE = "GATEPASS_PRESET"
LAYER, RANK = "environment", -1


def known() -> str:
    return ", ".join(sorted(PRESETS))


def _server(name: str, env: Mapping[str, str]) -> tuple[str, int | None, bool] | str:
    """(host, port, https) of the CI's git server, or why it is unknown."""
    from gatepass.hosts import parse_authority

    if name == "github-actions":
        scheme, _, rest = (env.get("GITHUB_SERVER_URL") or "https://github.com").partition("://")
        authority, where = rest.partition("/")[0], "GITHUB_SERVER_URL"
    else:
        host, port = env.get("CI_SERVER_HOST") or "", env.get("CI_SERVER_PORT") or ""
        if not host:
            return "GATEPASS_PRESET=gitlab-ci needs CI_SERVER_HOST (GitLab CI sets it)"
        scheme, authority, where = env.get("CI_SERVER_PROTOCOL") or "https", f"{host}:{port}" if port else host, \
            "CI_SERVER_HOST"
    scheme = scheme.lower()
    parsed = parse_authority(authority, scheme) if scheme in ("https", "http") else None
    if parsed is None:
        return f"GATEPASS_PRESET={name}: {where} does not name an http(s) server"
    return parsed[0], parsed[1], scheme == "https"


def environment_account(env: Mapping[str, str], order: int = 0) -> Account | str | None:
    """The account ``GATEPASS_PRESET`` asks for, a one-line error, or None when it is unset."""
    name = env.get(SOURCE)
    if not name:
        return None
    if name not in PRESETS:
        return f"GATEPASS_PRESET={name} is not a preset (known: {known()})"
    server = _server(name, env)
    if isinstance(server, str):
        return server
    host, port, secure = server
    username, variable = PRESETS[name]
    domain = host if port is None else f"{host}:{port}"
    return Account(kind="git", domain=domain, host=host, port=port, secure=secure, username=username,
                   secret_kind="env", secret_ref=variable, layer=LAYER, rank=RANK, file=SOURCE, order=order)
