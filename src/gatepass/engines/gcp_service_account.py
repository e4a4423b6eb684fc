"""Google service-account access tokens for Artifact Registry and GCR: ``gcp_service_account = { key_file }``.

Implements the OAuth 2.0 JWT-bearer grant (RFC 7523 §2.1) as Google documents it for service
accounts ("Using OAuth 2.0 for Server to Server Applications"): an assertion signed RS256 with the
key's ``private_key`` (header ``kid`` = ``private_key_id``), claims ``iss`` = ``client_email``,
``scope`` = ``https://www.googleapis.com/auth/cloud-platform``, ``aud`` = the key's ``token_uri``,
``iat`` now and ``exp`` one hour later (Google's maximum); ``POST token_uri`` form-encoded
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=...``; the answer's
``access_token`` and ``expires_in``. Registries take it as the password of ``oauth2accesstoken``
(what docker-credential-gcr and ``gcloud auth print-access-token | docker login`` send).

Decisions where docs/design.md is silent:
- The key file is a secret file with ``private_key_file``'s rules (a regular file of root or the
  effective user, nothing for other users, at most 64 KiB), read with ``json``. Relative paths are
  relative to the config file, as ``token_file``.
- ``token_uri`` (default ``https://oauth2.googleapis.com/token``) follows every engine URL's rule:
  https, plain http only to a loopback address, no userinfo or fragment; no redirect is followed.
- The token is cached per key file until 5 minutes before ``expires_in`` ends (a token that lives
  shorter than that is used until its end); ``list`` shows the registry without minting anything.
- Signing uses ``cryptography`` (already a dependency) with the standard library's ``http.client``,
  not google-auth: see docs/design.md §7 for the measured import cost.
"""

from __future__ import annotations

import time

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from gatepass.model import Account, Request

USERNAME = "oauth2accesstoken"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LIFETIME = 3600  # what Google grants at most
EARLY_RENEWAL = 300
MAX_KEY_BYTES = 64 * 1024
MAX_SERVER_TEXT = 160


class ServiceAccountKey:
    """What gatepass uses of a key file (a class, not a NamedTuple: this module is on the warm path)."""

    __slots__ = ("client_email", "private_key", "private_key_id", "token_uri")

    def __init__(self, *, client_email: str, private_key: object, private_key_id: str, token_uri: str) -> None:
        self.client_email, self.private_key = client_email, private_key  # private_key: an RSAPrivateKey
        self.private_key_id, self.token_uri = private_key_id, token_uri


def spec_of(account: Account) -> dict[str, object]:
    ref: Any = account.secret_ref  # an engine account's ref is its spec table (config/schema.py)
    spec: dict[str, object] = ref
    return spec


def key_path(account: Account) -> str:
    from gatepass.paths import token_file_path

    return token_file_path(account.file, str(spec_of(account)["key_file"]))


def cache_key(account: Account, request: Request, env: Mapping[str, str] | None = None,
              settings: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """One token per key file (and scope): every registry the account answers shares it."""
    return ("gcp_service_account", key_path(account), SCOPE)


def _username_problem(account: Account) -> str | None:
    if account.username != USERNAME:
        return f'Google access tokens are the password of user {USERNAME}; set username = "{USERNAME}" on this account'
    return None


def check_token_uri(url: str) -> None:
    """The assertion mints tokens for an hour: an engine URL (engines/urls.py: https unless loopback, no userinfo).

    >>> check_token_uri("http://127.0.0.1:8080/token")
    >>> check_token_uri("http://evil.test#@127.0.0.1/token")
    Traceback (most recent call last):
    gatepass.errors.SecretUnavailableError: key_file: token_uri must not have a fragment (#...)
    """
    from gatepass.engines.urls import problem

    wrong = problem(url, base=False)
    if wrong is not None:
        raise SecretUnavailableError(f"key_file: token_uri {wrong}")


def read_key(path: str) -> ServiceAccountKey:
    """The service-account key in ``path``; SecretUnavailableError naming the rule it breaks, never its content."""
    import json

    from gatepass.engines.jws import read_key_file, rsa_private_key

    data = read_key_file(path, MAX_KEY_BYTES, "key_file", "one service-account key")
    try:
        table = json.loads(data)
    except ValueError:
        table = None
    if not isinstance(table, dict) or table.get("type") != "service_account":
        raise SecretUnavailableError(f"key_file {path} is not a service-account key (a JSON file with "
                                     '"type": "service_account", made by gcloud iam service-accounts keys create)')
    fields = {name: table.get(name) for name in ("client_email", "private_key", "private_key_id", "token_uri")}
    fields["token_uri"] = fields["token_uri"] or DEFAULT_TOKEN_URI
    missing = [name for name in ("client_email", "private_key") if not isinstance(fields[name], str) or not fields[name]]
    if missing or not all(isinstance(value, str) for value in fields.values() if value is not None):
        raise SecretUnavailableError(f"key_file {path} lacks {' and '.join(missing) or 'string values'}")
    key = rsa_private_key(str(fields["private_key"]).encode())
    if key is None:
        raise SecretUnavailableError(f"key_file {path} holds no unencrypted RSA private_key")
    check_token_uri(str(fields["token_uri"]))
    return ServiceAccountKey(client_email=str(fields["client_email"]), private_key=key,
                             private_key_id=str(fields["private_key_id"] or ""), token_uri=str(fields["token_uri"]))


def offline_problem(account: Account) -> str | None:
    """What ``config check`` can say without calling Google: the username, the key file and its token_uri."""
    problem = _username_problem(account)
    if problem:
        return problem
    try:
        read_key(key_path(account))
    except SecretUnavailableError as exc:
        return str(exc)
    return None


def assertion(key: ServiceAccountKey, now: float) -> str:
    """The signed JWT-bearer assertion: one hour, cloud-platform scope, for the key's token_uri."""
    from gatepass.engines.jws import sign_rs256

    claims = {"iss": key.client_email, "scope": SCOPE, "aud": key.token_uri, "iat": int(now), "exp": int(now) + LIFETIME}
    return sign_rs256(claims, key.private_key, {"kid": key.private_key_id} if key.private_key_id else None)


def _server_says(body: object, sent: str) -> str:
    """``: server says 'error: description'`` from an OAuth error answer (RFC 6749 §5.2): escaped, one
    line, shortened, and without any piece of the assertion ``sent`` (engines/servertext.py)."""
    from gatepass.engines.servertext import quote

    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return ""
    text = body["error"]
    if isinstance(body.get("error_description"), str):
        text += f": {body['error_description']}"
    text = quote(text, [sent], limit=MAX_SERVER_TEXT)
    return f": server says '{text}'" if text else ""


def fetch(account: Account, request: Request, env: Mapping[str, str],
          settings: Mapping[str, object] | None = None) -> tuple[str, int]:
    """(access token, unix time to stop using it: 5 minutes before it expires)."""
    from gatepass.engines import httpjson

    problem = _username_problem(account)
    if problem:
        raise SecretUnavailableError(problem)
    key = read_key(key_path(account))
    moment = time.time()
    signed = assertion(key, moment)
    try:
        status, body = httpjson.call("POST", key.token_uri, form={"grant_type": GRANT_TYPE, "assertion": signed},
                                     env=env)
    except SecretUnavailableError as exc:
        raise SecretUnavailableError(f"Google token endpoint: {exc}") from None
    said = _server_says(body, signed)
    if status != 200:
        hint = " (is the key disabled or deleted, or the clock off?)" if status in (400, 401) else ""
        raise SecretUnavailableError(f"Google token endpoint refused the service-account assertion with HTTP {status}"
                                     f"{hint}{said}")
    token = body.get("access_token") if isinstance(body, dict) else None
    lifetime = body.get("expires_in") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or any(c in token for c in "\r\n\0"):
        raise SecretUnavailableError("Google token endpoint answered without a usable access_token")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or not 0 < lifetime <= 12 * LIFETIME:
        lifetime = LIFETIME
    expires = int(moment) + lifetime
    early = expires - EARLY_RENEWAL
    return token, early if early > moment else expires
