"""A loopback stand-in for the three GitHub REST endpoints a GitHub App uses to mint a token.

No public GitHub server runs offline, so this implements exactly what github/rest-api-description
(descriptions/api.github.com/api.github.com.2022-11-28.yaml) documents for them:

- ``GET /orgs/{org}/installation`` (operationId apps/get-org-installation): 200 with an
  ``installation`` object (``id``, ``account.login``, ``app_id``, ``target_type``, ...).
- ``GET /repos/{owner}/{repo}/installation`` (apps/get-repo-installation): 200 ``installation``,
  404 ``not_found``.
- ``POST /app/installations/{installation_id}/access_tokens`` (apps/create-installation-access-token):
  201 with an ``installation-token`` (``token``, ``expires_at``, ``permissions``,
  ``repository_selection``); 401 ``requires_authentication``, 404 ``not_found``.

Errors have the documented ``basic-error`` shape (``message``, ``documentation_url``). Every call
must carry ``Authorization: Bearer <JWT>``; the JWT is verified independently of gatepass with
PyJWT against the app's public key: RS256 only, ``iat``/``exp``/``iss`` required, ``iss`` the
app id, ``exp`` no more than 10 minutes ahead and ``exp - iat`` at most 10 minutes (GitHub's
rule). Every request is counted and its Accept and API version headers kept; each minted token
is handed to ``on_mint`` (so the git server accepts exactly it).
"""

from __future__ import annotations

import datetime
import http.server
import json
import re
import secrets
import threading
import time
from collections.abc import Callable

import jwt as pyjwt

from tests.support.loopback import JSONHandler, Serving

DOCS = "https://docs.github.com/rest/apps/apps"
TOKEN_LIFETIME = 3600  # "Installation tokens expire one hour from the time you create them."


class _Handler(JSONHandler):
    server: _Server

    def _send(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        with self.server.lock:  # before the answer leaves: a client that has it sees the call counted
            self.server.calls.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"message": message, "documentation_url": DOCS, "status": str(status)})

    def _verify(self) -> str | None:
        """None when the JWT is good, else the 401 message GitHub would give."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "Requires authentication"
        try:
            claims = pyjwt.decode(token, self.server.public_key, algorithms=["RS256"], issuer=self.server.app_id,
                                  options={"require": ["iat", "exp", "iss"]})
        except pyjwt.PyJWTError:
            return "A JSON web token could not be decoded"
        now = time.time()
        if claims["exp"] > now + 600 or claims["exp"] - claims["iat"] > 600:
            return "'Expiration time' claim ('exp') is too far in the future"
        if claims["iat"] > now + 60:
            return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        return None

    def _note_headers(self) -> None:
        with self.server.lock:
            self.server.headers.append((self.headers.get("Accept"), self.headers.get("X-GitHub-Api-Version")))

    def _installation(self, owner: str) -> dict[str, object] | None:
        number = self.server.installations.get(owner.lower())
        if number is None:
            return None
        return {"id": number, "app_id": int(self.server.app_id), "target_type": "Organization",
                "account": {"login": owner, "id": 1000 + number, "type": "Organization"},
                "permissions": {"contents": "write", "metadata": "read"}, "repository_selection": "all",
                "access_tokens_url": f"{self.server.url}app/installations/{number}/access_tokens"}

    def do_GET(self) -> None:
        self._note_headers()
        problem = self._verify()
        if problem:
            return self._error(401, problem)
        match = (re.fullmatch(r"/orgs/([^/]+)/installation", self.path)
                 or re.fullmatch(r"/repos/([^/]+)/[^/]+/installation", self.path))
        found = self._installation(match.group(1)) if match else None
        if found is None:
            return self._error(404, "Not Found")
        self._send(200, found)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._note_headers()
        problem = self._verify()
        if problem:
            return self._error(401, problem)
        match = re.fullmatch(r"/app/installations/(\d+)/access_tokens", self.path)
        if not match or int(match.group(1)) not in self.server.installations.values():
            return self._error(404, "Not Found")
        token = "ghs_" + secrets.token_urlsafe(27)
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.server.lifetime)
        self.server.on_mint(token)
        self._send(201, {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "permissions": {"contents": "write", "metadata": "read"},
                         "repository_selection": "all"})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    app_id: str
    public_key: bytes
    installations: dict[str, int]
    calls: list[tuple[str, str, int]]
    headers: list[tuple[str | None, str | None]]
    lock: threading.Lock
    on_mint: Callable[[str], None]
    lifetime: int
    url: str


class GitHubAPI(Serving):
    """``with GitHubAPI("123", public_pem, {"acme": 7}, on_mint=...) as api: api.url, api.calls``."""

    def __init__(self, app_id: str, public_key: bytes, installations: dict[str, int],
                 on_mint: Callable[[str], None] = lambda token: None, lifetime: int = TOKEN_LIFETIME) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        server = self._server
        server.app_id, server.public_key, server.installations = app_id, public_key, dict(installations)
        server.calls, server.headers, server.lock, server.on_mint, server.lifetime = [], [], threading.Lock(), on_mint, lifetime
        self.url = server.url = f"http://127.0.0.1:{server.server_address[1]}/"

    @property
    def calls(self) -> list[tuple[str, str, int]]:
        with self._server.lock:
            return list(self._server.calls)

    @property
    def headers(self) -> list[tuple[str | None, str | None]]:
        """(Accept, X-GitHub-Api-Version) of every request, to check gatepass sends GitHub's headers."""
        with self._server.lock:
            return list(self._server.headers)
