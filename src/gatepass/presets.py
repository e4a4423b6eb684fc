"""CI presets: the tokens a CI system already hands every job, with the usernames its servers expect.

``preset = "github-actions"`` on a git account means ``x-access-token`` + ``$GITHUB_TOKEN``;
``preset = "gitlab-ci"`` means ``gitlab-ci-token`` + ``$CI_JOB_TOKEN``.

A job needs no config file and no switch: in GitHub Actions (``GITHUB_ACTIONS=true`` with
``GITHUB_TOKEN`` set) and in GitLab CI (``GITLAB_CI=true`` with ``CI_JOB_TOKEN`` set) the matching
preset is on, as ``GATEPASS_PRESET=NAME`` forces it anywhere; ``GATEPASS_PRESET=none`` turns
detection off. Its accounts, provenance ``GATEPASS_PRESET``:

- github-actions: git on ``GITHUB_SERVER_URL`` (https://github.com when unset) as
  ``x-access-token`` + ``$GITHUB_TOKEN``; the registry ``ghcr.io`` as ``$GITHUB_ACTOR`` + ``$GITHUB_TOKEN``,
  only when the server is github.com (an Enterprise Server's job token is that server's alone).
- gitlab-ci: git on ``CI_SERVER_PROTOCOL://CI_SERVER_HOST:CI_SERVER_PORT`` as ``gitlab-ci-token`` +
  ``$CI_JOB_TOKEN``; the registry ``$CI_REGISTRY`` (when the project has one) as ``$CI_REGISTRY_USER``
  + ``$CI_REGISTRY_PASSWORD``.

A server's scheme decides https-only as ``https`` does. Outside CI a stray ``GITHUB_TOKEN`` answers
nothing. An explicit ``GATEPASS_PRESET`` whose token is missing is one error line naming the
variable and how a job exports it (detection never fires without the token).

Decisions where docs/design.md is silent: these accounts are the lowest layer (any config file's
account for that host wins), unscoped; a preset account in a file may repeat the preset's username
but not set another one or another secret; a registry account whose variables are missing is
reported only when that registry is asked for.
"""

from gatepass.model import LAYER_RANK, Account

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# name -> (git username, environment variable holding the job's token)
PRESETS = {"github-actions": ("x-access-token", "GITHUB_TOKEN"),
           "gitlab-ci": ("gitlab-ci-token", "CI_JOB_TOKEN")}
DETECT = (("github-actions", "GITHUB_ACTIONS"), ("gitlab-ci", "GITLAB_CI"))  # "true" in every job (app.load tests them too)
SOURCE = "GATEPASS_PRESET"
LAYER = "environment"
RANK = LAYER_RANK[LAYER]
GHCR = "ghcr.io"
GITHUB = "https://github.com"  # ghcr.io takes the job token of github.com's jobs only
# How a job gets each variable into its environment: said when it is missing.
EXPORTS = {
    "GITHUB_TOKEN": "export it from the workflow: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
    "GITHUB_ACTOR": "GitHub Actions sets it in every job",
    "CI_JOB_TOKEN": "GitLab CI sets it in every job (a job token must be enabled for the project)",
    "CI_REGISTRY_USER": "GitLab CI sets it when the project's container registry is enabled",
    "CI_REGISTRY_PASSWORD": "GitLab CI sets it when the project's container registry is enabled",
}


def known() -> str:
    return ", ".join(sorted(PRESETS))


def active(env: "Mapping[str, str]") -> tuple[str, bool] | None:
    """(preset name, whether ``GATEPASS_PRESET`` named it) in effect, or None.

    ``GATEPASS_PRESET`` wins (``none`` turns presets off); else the CI this job runs in, when it
    handed the job its token."""
    name = env.get(SOURCE)
    if name:
        return None if name == "none" else (name, True)
    for name, flag in DETECT:
        if env.get(flag) == "true" and env.get(PRESETS[name][1]):
            return name, False
    return None


def hint(variable: str) -> str:
    """What to do about a missing preset variable, or "" for any other variable."""
    return EXPORTS.get(variable, "")


def _server(name: str, env: "Mapping[str, str]") -> tuple[str, int | None, bool] | str:
    """(host, port, https) of the CI's git server, or why it is unknown."""
    from gatepass.hosts import parse_authority

    if name == "github-actions":
        scheme, _, rest = (env.get("GITHUB_SERVER_URL") or GITHUB).partition("://")
        authority, where = rest.partition("/")[0], "GITHUB_SERVER_URL"
    else:
        host, port = env.get("CI_SERVER_HOST") or "", env.get("CI_SERVER_PORT") or ""
        if not host:
            return f"{SOURCE}=gitlab-ci needs CI_SERVER_HOST (GitLab CI sets it)"
        scheme, authority, where = env.get("CI_SERVER_PROTOCOL") or "https", f"{host}:{port}" if port else host, \
            "CI_SERVER_HOST"
    scheme = scheme.lower()
    parsed = parse_authority(authority, scheme) if scheme in ("https", "http") else None
    if parsed is None:
        return f"{SOURCE}={name}: {where} does not name an http(s) server"
    return parsed[0], parsed[1], scheme == "https"


def _registry(name: str, env: "Mapping[str, str]") -> tuple[str, tuple[str, int | None, bool, str, str] | str] | None:
    """(host, account) of the CI's container registry, the account as (host, port, https, username,
    token variable) or why it is unusable; None when the job has no registry."""
    from gatepass.hosts import parse_docker_server

    if name == "github-actions":
        if (env.get("GITHUB_SERVER_URL") or GITHUB).rstrip("/").lower() != GITHUB:
            return None  # GitHub Enterprise Server: its job token is that server's, never ghcr.io's
        server, user_variable, token_variable = GHCR, "GITHUB_ACTOR", "GITHUB_TOKEN"
    else:
        server, user_variable, token_variable = env.get("CI_REGISTRY") or "", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD"
        if not server:
            return None  # the project's container registry is off
    parsed = parse_docker_server(server)
    if parsed is None or parsed[3]:
        return server, f"{SOURCE}={name}: CI_REGISTRY does not name a registry (host[:port])"
    scheme, host, port, _ = parsed
    for variable in (user_variable, token_variable):
        if not env.get(variable):
            return host, f"{SOURCE}={name}: {variable} is not set, so {server} gets no account; {hint(variable)}"
    return host, (host, port, scheme != "http", env[user_variable], token_variable)


def environment_accounts(env: "Mapping[str, str]", order: int = 0, hosts: list[str] | None = None
                         ) -> tuple[list[Account], list[str]]:
    """The accounts of the preset in effect (:func:`active`) for ``hosts`` (all when None), and one
    line for each problem that concerns them."""
    chosen = active(env)
    if chosen is None:
        return [], []
    name, explicit = chosen
    if name not in PRESETS:
        return [], [f"{SOURCE}={name} is not a preset (known: {known()}, or none to turn presets off)"]
    username, variable = PRESETS[name]
    if explicit and not env.get(variable):
        return [], [f"{SOURCE}={name}: {variable} is not set; {hint(variable)}"]
    accounts: list[Account] = []
    errors: list[str] = []
    server = _server(name, env)
    if isinstance(server, str):
        errors.append(server)
    elif hosts is None or server[0] in hosts:
        host, port, secure = server
        accounts.append(_account("git", host, port, secure, username, variable, order))
    registry = _registry(name, env)
    if registry is not None and (hosts is None or registry[0] in hosts):
        if isinstance(registry[1], str):
            errors.append(registry[1])
        else:
            host, port, secure, user, token_variable = registry[1]
            accounts.append(_account("docker", host, port, secure, user, token_variable, order + len(accounts)))
    return accounts, errors


def environment_account(env: "Mapping[str, str]", order: int = 0) -> Account | str | None:
    """The preset's git account, a one-line error, or None when no preset is in effect."""
    accounts, errors = environment_accounts(env, order)
    if errors and not [a for a in accounts if a.kind == "git"]:
        return errors[0]
    return next((a for a in accounts if a.kind == "git"), None)


def _account(kind: str, host: str, port: int | None, secure: bool, username: str, variable: str,
             order: int) -> Account:
    domain = host if port is None else f"{host}:{port}"
    return Account(kind=kind, domain=domain, host=host, port=port, secure=secure, username=username,
                   secret_kind="env", secret_ref=variable, layer=LAYER, rank=RANK, file=SOURCE, order=order)
