"""GitHub App installation tokens, minted on demand: a signed JWT, the installation, an access token.

Implements GitHub's REST API (version 2022-11-28) as documented in github/rest-api-description:
``GET /orgs/{org}/installation`` and ``GET /repos/{owner}/{repo}/installation`` (200: an
``installation`` whose ``id`` we use; 404: the app is not installed there) and
``POST /app/installations/{installation_id}/access_tokens`` (201: an ``installation-token``
with ``token`` and ``expires_at``). All three authenticate with a JWT (RS256, ``iat`` 60 s in
the past against clock drift, ``exp`` 9 minutes ahead so the span stays within GitHub's 10,
``iss`` the app id), signed with ``cryptography`` by engines/jws.py.

Decisions where docs/design.md is silent:
- The installation is looked up for the request's owner: ``/repos/{owner}/{repo}/installation``
  when git sent a path with a repository (it also finds installations on user accounts), else
  ``/orgs/{org}/installation``. With no path, an account scoped to exactly one organization uses
  it; otherwise the error says to set ``credential.useHttpPath`` or ``installation_id``.
- The token is cached (engines.tokencache) per (api_url, app_id, owner or installation_id) until
  5 minutes before its ``expires_at``, so git never receives one about to lapse.
- The private key file is read with the rules for any secret file: a regular file (a FIFO is
  refused before reading), owned by root or the effective user, not world-accessible nor
  group-writable, at most 64 KiB.
- ``api_url`` is https (plain http only to a loopback address): the JWT it carries can mint tokens
  for 10 minutes. It goes over engines/httpjson: no redirect followed, curl's proxy rule, 2 s to
  connect, 5 s for the whole fetch (lookup and minting together), a 1 MiB answer cap.
  Error text carries the status and GitHub's documented meaning, never a body, key or token.
"""

from __future__ import annotations

import time

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from gatepass.model import Account, Request

DEFAULT_API = "https://api.github.com"
MAX_KEY_BYTES = 64 * 1024
EARLY_RENEWAL = 300  # seconds before expires_at a cached token stops being handed out
JWT_BACKDATE, JWT_LIFETIME = 60, 540
TOTAL_TIMEOUT = 5.0  # the whole fetch: installation lookup and minting together


def spec_of(account: Account) -> dict[str, object]:
    ref: Any = account.secret_ref  # an engine account's ref is its spec table (config/schema.py)
    spec: dict[str, object] = ref
    return spec


def api_url(spec: Mapping[str, object]) -> str:
    return str(spec.get("api_url") or DEFAULT_API).rstrip("/")


def check_api_url(url: str) -> None:
    """The app's JWT mints tokens for 10 minutes: it goes over https, or plain http to this machine
    only, to the host engines/urls.py reads (no userinfo, no fragment, no query).

    >>> check_api_url("http://127.0.0.1:8080")
    >>> check_api_url("http://ghe.example/api/v3")
    Traceback (most recent call last):
    gatepass.errors.SecretUnavailableError: api_url must start with https:// (plain http only to 127.0.0.1, ::1 or localhost)
    """
    from gatepass.engines import urls

    problem = urls.problem(url)
    if problem is not None:
        raise SecretUnavailableError(f"api_url {problem}")


def owner_and_repo(account: Account, request: Request) -> tuple[str | None, str | None]:
    """(owner, repository) from the request's path; a single scoped organization when no path."""
    segments = [s for s in (request.path or "").strip("/").split("/") if s]
    if segments:
        repo = segments[1] if len(segments) > 1 else None
        if repo is not None and repo.endswith(".git"):
            repo = repo[:-4]
        return segments[0].lower(), repo or None
    if len(account.organizations) == 1:
        return account.organizations[0], None
    return None, None


def cache_key(account: Account, request: Request, env: Mapping[str, str] | None = None,
              settings: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """One token per installation: an explicit ``installation_id``, else the request's owner."""
    spec = spec_of(account)
    base = ("github_app", api_url(spec), str(spec["app_id"]))
    if spec.get("installation_id") is not None:
        return (*base, "installation", str(spec["installation_id"]))
    owner, _ = owner_and_repo(account, request)
    return (*base, "owner", owner or "")


def read_private_key(path: str) -> bytes:
    """The PEM bytes of ``path``, refused unless it is a private regular file (see module docstring)."""
    from gatepass.engines.jws import read_key_file

    return read_key_file(path, MAX_KEY_BYTES, "private_key_file", "one PEM private key")


def offline_problem(account: Account) -> str | None:
    """What ``config check`` can say without calling GitHub: api_url, and the key file's trust and format."""
    from gatepass.paths import token_file_path

    spec = spec_of(account)
    path = token_file_path(account.file, str(spec["private_key_file"]))
    try:
        check_api_url(api_url(spec))
        _signing_key(read_private_key(path), path)
    except SecretUnavailableError as exc:
        return str(exc)
    return None


def _signing_key(pem: bytes, path: str) -> object:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SecretUnavailableError(f"private_key_file {path} holds no unencrypted PEM private key "
                                     "(download one from the GitHub App's settings)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SecretUnavailableError(f"private_key_file {path} is not an RSA key; GitHub Apps sign with RSA")
    return key


def app_jwt(app_id: str, pem: bytes, path: str, now: float) -> str:
    """An RS256 JWT for the app: iat 60 s back (clock drift), exp 9 minutes ahead, iss the app id."""
    from gatepass.engines.jws import sign_rs256

    claims = {"iat": int(now) - JWT_BACKDATE, "exp": int(now) + JWT_LIFETIME, "iss": app_id}
    return sign_rs256(claims, _signing_key(pem, path))


def fetch(account: Account, request: Request, env: Mapping[str, str],
          settings: Mapping[str, object] | None = None) -> tuple[str, int]:
    """(installation token, unix time to stop using it: 5 minutes before ``expires_at``)."""
    from gatepass.engines import github_http as http
    from gatepass.engines.httpjson import deadline_in
    from gatepass.paths import token_file_path

    deadline = deadline_in(TOTAL_TIMEOUT)
    spec = spec_of(account)
    check_api_url(api_url(spec))
    moment = time.time()
    path = token_file_path(account.file, str(spec["private_key_file"]))
    jwt = app_jwt(str(spec["app_id"]), read_private_key(path), path, moment)
    base = api_url(spec)
    installation = spec.get("installation_id")
    if installation is None:
        installation = _installation(account, request, base, jwt, deadline, env)
    answer = http.call("POST", f"{base}/app/installations/{installation}/access_tokens", jwt,
                       f"minting a token for installation {installation}", deadline=deadline, env=env)
    token, expires_at = answer.get("token"), answer.get("expires_at")
    if not isinstance(token, str) or not token or not isinstance(expires_at, str):
        raise SecretUnavailableError(f"{base} answered the token request without token and expires_at")
    return token, renew_at(http.parse_time(expires_at), moment)


def renew_at(expires_at: int, now: float) -> int:
    """5 minutes before ``expires_at``; a token that lives shorter than that (a clock off by an hour,
    a test server) is used until ``expires_at`` itself rather than handed out already expired.

    >>> renew_at(10_000, 5_000), renew_at(10_000, 9_900)
    (9700, 10000)
    """
    early = expires_at - EARLY_RENEWAL
    return early if early > now else expires_at


def _safe_name(name: str) -> bool:
    """GitHub owner and repository names: letters, digits, ``-``, ``_``, ``.``; never ``.`` or ``..``."""
    return bool(name) and name not in (".", "..") and all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)


def _installation(account: Account, request: Request, base: str, jwt: str, deadline: float,
                  env: Mapping[str, str]) -> object:
    from gatepass.engines import github_http as http

    owner, repo = owner_and_repo(account, request)
    if owner is None:
        raise SecretUnavailableError("git sent no repository path, so the GitHub App installation is unknown; "
                                     "run: git config --global credential.useHttpPath true (or set installation_id)")
    if not _safe_name(owner) or (repo is not None and not _safe_name(repo)):
        raise SecretUnavailableError("the request path does not name a GitHub owner/repository")
    if repo is not None:
        url, where = f"{base}/repos/{owner}/{repo}/installation", f"repository {owner}/{repo}"
    else:
        url, where = f"{base}/orgs/{owner}/installation", f"organization {owner}"
    answer = http.call("GET", url, jwt, f"finding the installation on {where}", deadline=deadline, env=env,
                       not_found=f"GitHub App {spec_of(account)['app_id']} is not installed on {where}")
    installation = answer.get("id")
    if not isinstance(installation, int) or isinstance(installation, bool):
        raise SecretUnavailableError(f"{base} answered the installation lookup for {where} without an id")
    return installation
