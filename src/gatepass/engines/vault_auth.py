"""The engine token for Vault/OpenBao: AppRole login (cached, renewed, re-logged-in) or a given token.

Imported only on a cache miss (``engines.vault.fetch``) and by ``gatepass doctor``. The AppRole
token is cached in engines/tokencache under (address, namespace, role_id, secret_id_file) until
its lease ends; with less than ``RENEW_FLOOR`` seconds left it is renewed with
``auth/token/renew-self``, and when that fails gatepass logs in again with the
secret_id. A token from ``token_file`` or ``VAULT_TOKEN`` is used as given and never cached: its
owner (Vault Agent, a person) keeps it fresh.
"""

from __future__ import annotations

import time

from gatepass.engines import httpjson, tokencache
from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

RENEW_FLOOR = 60
MAX_SERVER_TEXT = 160


def server_says(body: object) -> str:
    """``: <the server's first error>`` for messages, shortened and on one line; Vault's errors
    name the problem ("permission denied", "invalid role or secret ID"), never a secret."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], str):
        return ""
    text = " ".join(errors[0].split())[:MAX_SERVER_TEXT]
    return f": server says {text!r}" if text else ""


class Session:
    """Calls to one server with one identity, logging in (or renewing) when needed."""

    def __init__(self, found: Mapping[str, str], env: Mapping[str, str], deadline: float) -> None:
        self.found, self.env, self.deadline = found, env, deadline
        self.cached = False  # whether the token in use came from the cache (a 403 may mean it is stale)
        self.token: str | None = None
        self.key: tuple[str, ...] = ("vault-token", found["address"], found["namespace"], found["role_id"],
                                     found["secret_id_file"])
        if found["auth"] == "jwt":  # one login token per JWT: a runner's next job holds another identity
            from gatepass.engines.vault_jwt import identity

            self.key = ("vault-token", *identity(found, env))

    def _headers(self, token: str | None) -> dict[str, str]:
        headers = {"X-Vault-Request": "true"}
        if token:
            headers["X-Vault-Token"] = token
        if self.found["namespace"]:
            headers["X-Vault-Namespace"] = self.found["namespace"]
        return headers

    def raw(self, method: str, path: str, token: str | None, body: object = None) -> tuple[int, object]:
        try:
            return httpjson.call(method, self.found["address"] + path, headers=self._headers(token), body=body,
                                 ca_file=self.found["ca_file"] or None, deadline=self.deadline)
        except SecretUnavailableError as exc:
            raise SecretUnavailableError(f"vault: {exc}") from None

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        """(status, JSON) of an authenticated call."""
        if self.token is None:
            self.token = self.login()
        return self.raw(method, path, self.token, body)

    def forget(self) -> None:
        """Drop the cached token (the server refused it) and log in afresh on the next call."""
        tokencache.drop(self.env, self.key)
        self.token, self.cached = None, False

    def login(self) -> str:
        """A token: as given (auth = "token"), cached (renewed when near its end), or a fresh AppRole login."""
        from gatepass.engines.vault import ENV_NAMES, _read_file

        if self.found["auth"] == "token":
            if self.found["token_file"]:
                return _read_file(self.found["token_file"], "token_file")
            token = next((self.env[v] for v in ENV_NAMES["token"] if self.env.get(v)), "")
            if not token:
                raise SecretUnavailableError('vault: auth = "token" needs token_file or VAULT_TOKEN / BAO_TOKEN')
            return token
        hit = tokencache.get(self.env, self.key)
        if hit is not None:
            token, expiry = hit
            if expiry - time.time() > RENEW_FLOOR or self._renew(token):
                self.cached = True
                return token
        return self.fresh_login()

    def fresh_login(self) -> str:
        """A new token from the configured method (AppRole or JWT), cached until its lease ends."""
        if self.found["auth"] == "jwt":
            from gatepass.engines import vault_jwt

            token, auth = vault_jwt.login(self)
            self._remember(token, auth)
            return token
        return self._approle()

    def _remember(self, token: str, auth: object) -> None:
        lease = auth.get("lease_duration") if isinstance(auth, dict) else None
        if isinstance(lease, int) and lease > 0:
            tokencache.put(self.env, self.key, token, int(time.time()) + lease)

    def _renew(self, token: str) -> bool:
        """Renew a token near its end; False when the server will not (max_ttl reached, revoked)."""
        try:
            status, body = self.raw("POST", "/v1/auth/token/renew-self", token, {})
        except SecretUnavailableError:
            return False
        auth = body.get("auth") if isinstance(body, dict) else None
        lease = auth.get("lease_duration") if isinstance(auth, dict) else None
        if status != 200 or not isinstance(lease, int) or lease <= 0:
            return False
        self._remember(token, auth)
        return True

    def _approle(self) -> str:
        from gatepass.engines.vault import _read_file

        secret_id = _read_file(self.found["secret_id_file"], "secret_id_file")
        status, body = self.raw("POST", f"/v1/auth/{self.found['approle_mount']}/login", None,
                                {"role_id": self.found["role_id"], "secret_id": secret_id})
        auth = body.get("auth") if isinstance(body, dict) else None
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if status in (400, 403) or (status == 200 and not token):
            raise SecretUnavailableError("vault: AppRole login refused (is the secret_id revoked or expired, "
                                         f"or the role_id wrong?){server_says(body)}")
        if status != 200 or not isinstance(token, str):
            raise SecretUnavailableError(f"vault: AppRole login failed with HTTP {status}{server_says(body)}")
        self._remember(token, auth)
        return token

    def lookup_self(self) -> dict[str, object]:
        """``auth/token/lookup-self`` data (ttl, policies) of the token in use, for ``gatepass doctor``."""
        status, body = self.call("GET", "/v1/auth/token/lookup-self")
        data = body.get("data") if isinstance(body, dict) else None
        if status != 200 or not isinstance(data, dict):
            raise SecretUnavailableError(f"vault: token lookup failed with HTTP {status}{server_says(body)}")
        return data
