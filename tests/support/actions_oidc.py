"""A loopback stand-in for GitHub Actions' OIDC token request URL, and the JWTs it and the tests sign.

In a job with ``permissions: id-token: write`` the runner exports ``ACTIONS_ID_TOKEN_REQUEST_URL``
(a URL that already carries ``?api-version=2.0``) and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``.
actions/toolkit's ``OidcClient.getIDToken(audience)`` GETs ``URL&audience=<encoded>`` with
``Authorization: bearer <request token>`` and reads ``value`` from the JSON answer. This server
answers exactly that: a wrong or missing bearer is a 401, a missing ``api-version`` or
``audience`` a 400, else 200 ``{"count": ..., "value": JWT}`` with ``aud`` set to the audience
asked for and the job's claims (``repository``, ``ref``, ``sub``...) signed RS256 with the test's
issuer key (PyJWT). Every request is recorded (path, bearer, audience).
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.loopback import JSONHandler, Serving

ISSUER = "https://token.actions.githubusercontent.com"


class Issuer:
    """An RSA key that signs ID tokens; ``public_pem`` is what Vault's ``jwt_validation_pubkeys`` lists."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def token(self, audience: str, repository: str = "acme/app", *, lifetime: int = 300, issued: float | None = None,
              issuer: str = ISSUER, **extra: object) -> str:
        now = int(time.time() if issued is None else issued)
        claims = {"iss": issuer, "aud": audience, "sub": f"repo:{repository}:ref:refs/heads/main",
                  "repository": repository, "repository_owner": repository.split("/")[0], "ref": "refs/heads/main",
                  "iat": now, "nbf": now, "exp": now + lifetime, **extra}
        return pyjwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "test"})


class _Handler(JSONHandler):
    server: _Server

    def _send_json(self, status: int, body: object) -> None:
        self.send_json(status, body, "application/json; charset=utf-8")

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        scheme, _, bearer = (self.headers.get("Authorization") or "").partition(" ")
        audience = query.get("audience", [""])[0]
        with self.server.lock:
            self.server.requests.append((parts.path, bearer if scheme.lower() == "bearer" else "", audience))
        if scheme.lower() != "bearer" or bearer != self.server.request_token:
            return self._send_json(401, {"message": "Unauthorized"})
        if parts.path != self.server.path or query.get("api-version") != ["2.0"] or not audience:
            return self._send_json(400, {"message": "Bad Request"})
        token = self.server.issuer.token(audience, self.server.repository)
        self._send_json(200, {"count": len(token), "value": token})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    issuer: Issuer
    request_token: str
    repository: str
    path: str
    requests: list[tuple[str, str, str]]
    lock: threading.Lock


class ActionsOIDC(Serving):
    """``with ActionsOIDC(issuer, "acme/app") as oidc: env.update(oidc.env)``; ``oidc.requests``."""

    def __init__(self, issuer: Issuer, repository: str, request_token: str = "request-token-of-the-job") -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        server = self._server
        server.issuer, server.request_token, server.repository = issuer, request_token, repository
        server.path = "/00000000-0000-0000-0000-000000000000/_apis/distributedtask/hubs/Actions/plans/p/jobs/j/idtoken"
        server.requests, server.lock = [], threading.Lock()
        self.url = f"http://127.0.0.1:{server.server_address[1]}{server.path}?api-version=2.0"
        self.env = {"ACTIONS_ID_TOKEN_REQUEST_URL": self.url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": request_token}

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        with self._server.lock:
            return list(self._server.requests)
