"""A loopback stand-in for the few Vault/OpenBao HTTP API endpoints the vault engine calls, for fast
unit tests of the engine's own logic (the real OpenBao tests in tests/e2e cover the server itself).

What it implements follows the published HTTP API (developer.hashicorp.com/vault/api-docs, and
OpenBao's copy of it):

- ``POST /v1/auth/{mount}/login`` (AppRole): JSON ``{"role_id", "secret_id"}``; 200 with
  ``auth.client_token``, ``auth.lease_duration``, ``auth.renewable``; 400 ``{"errors": [...]}`` for
  a wrong pair. ``mount`` is where AppRole is enabled (``approle`` by default).
- ``POST /v1/auth/token/renew-self`` with ``X-Vault-Token``: 200 with ``auth`` (same token, a new
  ``lease_duration``), 403 for a token the server does not know.
- ``GET /v1/{path}`` with ``X-Vault-Token``: 403 ``{"errors": ["permission denied"]}`` for an
  unknown or revoked token, 404 for a path with no secret, else 200 with the secret: a KV v2
  answer (``data.data`` + ``data.metadata``, ``lease_duration`` 0) or another engine's
  (``data`` + a ``lease_duration``).

Every request is recorded as (method, path, token, namespace header); tokens can be revoked.
Started and stopped by the test (``with VaultAPI() as vault``).
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading

from tests.support.loopback import JSONHandler, Serving


class _Handler(JSONHandler):
    server: _Server

    def _note(self) -> str | None:
        token = self.headers.get("X-Vault-Token")
        with self.server.lock:
            self.server.calls.append((self.command, self.path, token, self.headers.get("X-Vault-Namespace")))
        return token

    def do_POST(self) -> None:
        token = self._note()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        api = self.server.api
        if self.path == f"/v1/auth/{api.mount}/login":
            if (body.get("role_id"), body.get("secret_id")) != (api.role_id, api.secret_id):
                return self.send_json(400, {"errors": ["invalid role or secret ID"]})
            new = "hvs." + secrets.token_urlsafe(12)
            api.tokens.add(new)
            return self.send_json(200, {"auth": {"client_token": new, "lease_duration": api.login_lease,
                                             "renewable": True, "policies": ["default", "git"]}})
        if self.path == "/v1/auth/token/renew-self":
            if token not in api.tokens:
                return self.send_json(403, {"errors": ["permission denied"]})
            return self.send_json(200, {"auth": {"client_token": token, "lease_duration": api.login_lease}})
        self.send_json(404, {"errors": []})

    def do_GET(self) -> None:
        token = self._note()
        api = self.server.api
        if token not in api.tokens:
            return self.send_json(403, {"errors": ["permission denied"]})
        path = self.path[len("/v1/"):]
        if path not in api.secrets:
            return self.send_json(404, {"errors": []})
        data, lease = api.secrets[path]
        if lease is None:  # KV v2
            return self.send_json(200, {"data": {"data": data, "metadata": {"version": 1}}, "lease_duration": 0})
        self.send_json(200, {"data": data, "lease_duration": lease, "lease_id": f"{path}/x", "renewable": True})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    api: VaultAPI
    lock: threading.Lock
    calls: list[tuple[str, str, str | None, str | None]]


class VaultAPI(Serving):
    """``with VaultAPI() as vault``: ``vault.url``, ``vault.calls``, ``vault.secrets[path] = (data, lease)``
    (lease ``None``: a KV v2 secret), ``vault.revoke_all()``, ``vault.login_lease``."""

    def __init__(self, role_id: str = "role-1", secret_id: str = "secret-id-1", mount: str = "approle") -> None:
        self.role_id, self.secret_id, self.mount = role_id, secret_id, mount
        self.tokens: set[str] = set()
        self.secrets: dict[str, tuple[dict[str, object], int | None]] = {}
        self.login_lease = 3600
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api, self._server.lock, self._server.calls = self, threading.Lock(), []
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def calls(self) -> list[tuple[str, str, str | None, str | None]]:
        with self._server.lock:
            return list(self._server.calls)

    def logins(self) -> int:
        return sum(1 for method, path, _, _ in self.calls if method == "POST" and path.endswith("/login"))

    def renewals(self) -> int:
        return sum(1 for _, path, _, _ in self.calls if path == "/v1/auth/token/renew-self")

    def revoke_all(self) -> None:
        self.tokens.clear()
