"""The engine token for Vault/OpenBao: AppRole login (cached, renewed, re-logged-in) or a given token.

Below ``engines.vault``: the environment names it falls back to (``ENV_NAMES``), the reader of
its secret_id/token files (``read_file``), and the ``Session`` that calls the server (imported on
a warm ``get`` for the names only; HTTP is imported when a Session calls). The AppRole
token is cached in engines/tokencache under (address, namespace, role_id, secret_id_file, mount) until
its lease ends; with less than ``RENEW_FLOOR`` seconds left it is renewed with
``auth/token/renew-self``, and when that fails gatepass logs in again with the
secret_id. A token from ``token_file`` or ``VAULT_TOKEN`` is used as given and never cached: its
owner (Vault Agent, a person) keeps it fresh.
"""

from __future__ import annotations

import time

from gatepass.engines import tokencache
from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Protocol

    class LoginMethod(Protocol):
        """A login other than AppRole or a given token (engines/vault_jwt.py), chosen by engines/vault.py."""

        def identity(self, found: Mapping[str, str], env: Mapping[str, str]) -> tuple[str, ...]: ...

        def login(self, session: Session) -> tuple[str, object]: ...

RENEW_FLOOR = 60
ENV_NAMES = {"address": ("VAULT_ADDR", "BAO_ADDR"), "namespace": ("VAULT_NAMESPACE", "BAO_NAMESPACE"),
             "ca_file": ("VAULT_CACERT", "BAO_CACERT"), "token": ("VAULT_TOKEN", "BAO_TOKEN")}


def env_value(env: Mapping[str, str], name: str) -> str:
    """The first non-empty of ``ENV_NAMES[name]`` (the ``VAULT_`` name first, as the bao CLI reads both)."""
    return next((env[var] for var in ENV_NAMES[name] if env.get(var)), "")


def read_file(path: str, what: str, limit: int = 64 * 1024) -> str:
    """A secret_id/token file's first line; refused when it is not a regular file (a FIFO must not hang)."""
    from gatepass.readback import UnreadableFile, read_user_file

    try:
        data = read_user_file(path, limit)
    except UnreadableFile as exc:
        if exc.rule == "type":
            raise SecretUnavailableError(f"vault: {what} {path} is not a regular file") from None
        verb = "opened" if exc.rule == "open" else "read"
        raise SecretUnavailableError(f"vault: {what} {path} cannot be {verb} ({exc.strerror})") from None
    text = data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace").strip()
    if not text and what != "ca_file":
        raise SecretUnavailableError(f"vault: {what} {path} is empty")
    return text


def token_source(found: Mapping[str, str], env: Mapping[str, str]) -> str:
    """Where an ``auth = "token"`` token comes from, for messages: the file, or the variable's name."""
    if found["token_file"]:
        return f"token_file {found['token_file']}"
    return next((name for name in ENV_NAMES["token"] if env.get(name)), "VAULT_TOKEN")


def server_says(body: object, secrets: Iterable[str] = ()) -> str:
    """``: server says '<its first error>'`` for messages: escaped, on one line, shortened, and
    without any piece of ``secrets`` (the token or secret_id sent: a server may echo them)."""
    from gatepass.engines.servertext import quote

    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], str):
        return ""
    text = quote(errors[0], secrets)
    return f": server says '{text}'" if text else ""


class Session:
    """Calls to one server with one identity, logging in (or renewing) when needed."""

    def __init__(self, found: Mapping[str, str], env: Mapping[str, str], deadline: float,
                 method: LoginMethod | None = None) -> None:
        self.found, self.env, self.deadline, self.method = found, env, deadline, method
        self.cached = False  # whether the token in use came from the cache (a 403 may mean it is stale)
        self.token: str | None = None
        self.sent: list[str] = []  # every token, secret_id and JWT sent: never quoted back from the server
        self.key: tuple[str, ...] = ("vault-token", found["address"], found["namespace"], found["role_id"],
                                     found["secret_id_file"], found.get("approle_mount") or "approle")
        if method is not None:  # one login token per identity the method names (a runner's next job holds another)
            self.key = ("vault-token", *method.identity(found, env))

    def _headers(self, token: str | None) -> dict[str, str]:
        headers = {"X-Vault-Request": "true"}
        if token:
            headers["X-Vault-Token"] = token
        if self.found["namespace"]:
            headers["X-Vault-Namespace"] = self.found["namespace"]
        return headers

    def says(self, body: object) -> str:
        """The server's first error for a message, without anything this session sent."""
        return server_says(body, self.sent)

    def raw(self, method: str, path: str, token: str | None, body: object = None) -> tuple[int, object]:
        from gatepass.engines import httpjson

        if token:
            self.sent.append(token)
        try:
            return httpjson.call(method, self.found["address"] + path, headers=self._headers(token), body=body,
                                 ca_file=self.found["ca_file"] or None, deadline=self.deadline, env=self.env)
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
        if self.found["auth"] == "token":
            if self.found["token_file"]:
                return read_file(self.found["token_file"], "token_file")
            token = env_value(self.env, "token")
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
        if self.method is not None:
            token, auth = self.method.login(self)
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
        secret_id = read_file(self.found["secret_id_file"], "secret_id_file")
        self.sent.append(secret_id)
        status, body = self.raw("POST", f"/v1/auth/{self.found['approle_mount']}/login", None,
                                {"role_id": self.found["role_id"], "secret_id": secret_id})
        auth = body.get("auth") if isinstance(body, dict) else None
        token = auth.get("client_token") if isinstance(auth, dict) else None
        if status in (400, 403) or (status == 200 and not token):
            raise SecretUnavailableError("vault: AppRole login refused (is the secret_id revoked or expired, "
                                         f"or the role_id wrong?){self.says(body)}")
        if status != 200 or not isinstance(token, str):
            raise SecretUnavailableError(f"vault: AppRole login failed with HTTP {status}{self.says(body)}")
        self._remember(token, auth)
        return token

    def valid(self) -> bool:
        """Whether the server knows the token in use: ``lookup-self`` (the default policy grants it to
        every token) answers 200. A 403 there means an unknown, revoked or expired token, or one made
        without the default policy; Vault's bare "permission denied" does not tell policy from token."""
        try:
            status, _ = self.call("GET", "/v1/auth/token/lookup-self")
        except SecretUnavailableError:
            return True  # no verdict (the deadline): say what the read said
        return status != 403

    def lookup_self(self) -> dict[str, object]:
        """``auth/token/lookup-self`` data (ttl, policies) of the token in use, for ``gatepass doctor``."""
        status, body = self.call("GET", "/v1/auth/token/lookup-self")
        data = body.get("data") if isinstance(body, dict) else None
        if status == 403 and self.found["auth"] == "token":
            raise SecretUnavailableError(f"vault: the token from {token_source(self.found, self.env)} is invalid "
                                         "or expired (the server refuses it, even to look itself up); give a current one")
        if status != 200 or not isinstance(data, dict):
            raise SecretUnavailableError(f"vault: token lookup failed with HTTP {status}{self.says(body)}")
        return data
