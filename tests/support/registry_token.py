"""A loopback token server for Debian's docker-registry with ``auth: token``, playing the part of
GCR / Artifact Registry's token service: it accepts ``oauth2accesstoken`` + a Google access token.

Docker's token authentication (distribution's docs/spec/auth/token.md): the registry answers 401
with ``WWW-Authenticate: Bearer realm=...,service=...,scope=...``; the client GETs the realm with
``service`` and ``scope`` and Basic credentials; the server answers ``{"token", "access_token",
"expires_in", "issued_at"}``, a JWT the registry verifies (distribution 2.8's
registry/auth/token/token.go): ``iss`` the configured issuer, ``aud`` the service, ``exp``/``nbf``,
an ``access`` list of ``{type, name, actions}``, signed by a key whose certificate chain (``x5c``)
ends in ``rootcertbundle``. Here the Basic user must be ``oauth2accesstoken`` and the password
one of the access tokens the test's Google endpoint minted (``accept``); anything else is a 401.
The JWT is signed with PyJWT; the certificate is made with ``cryptography``.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import os
import threading
import time
import urllib.parse
from pathlib import Path

import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.loopback import JSONHandler, Serving

SERVICE, ISSUER, USERNAME = "gatepass-test-registry", "gatepass-test-token-issuer", "oauth2accesstoken"


def _certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gatepass test token issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


class _Handler(JSONHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        user, password = "", ""
        if scheme.lower() == "basic":
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        ok = user == USERNAME and password in self.server.accepted
        with self.server.lock:
            self.server.requests.append((user, ok, query.get("scope", [])))
        if parts.path != "/token" or query.get("service") != [SERVICE]:
            return self.send_json(400, {"errors": [{"code": "UNSUPPORTED", "message": "unknown service"}]})
        if not ok:
            return self.send_json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "access token not accepted"}]})
        access = []
        for scope in query.get("scope", []):
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": USERNAME, "aud": SERVICE, "iat": now, "nbf": now - 5, "exp": now + 300,
                  "jti": base64.b16encode(os.urandom(8)).decode(), "access": access}
        token = pyjwt.encode(claims, self.server.key, algorithm="RS256", headers={"x5c": [self.server.x5c]})
        self.send_json(200, {"token": token, "access_token": token, "expires_in": 300,
                         "issued_at": datetime.datetime.now(datetime.timezone.utc).isoformat()})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    key: rsa.RSAPrivateKey
    x5c: str
    accepted: set[str]
    requests: list[tuple[str, bool, list[str]]]
    lock: threading.Lock


class RegistryTokenServer(Serving):
    """``with RegistryTokenServer(workdir) as tokens: Registry({}, auth=tokens.auth_block())``; ``accept(token)``."""

    def __init__(self, workdir: Path) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        server = self._server
        server.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        certificate = _certificate(server.key)
        server.x5c = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
        server.accepted, server.requests, server.lock = set(), [], threading.Lock()
        self.bundle = workdir / "token-issuer.pem"
        self.bundle.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self.url = f"http://127.0.0.1:{server.server_address[1]}/token"

    def accept(self, access_token: str) -> None:
        with self._server.lock:
            self._server.accepted.add(access_token)

    def auth_block(self) -> str:
        """The registry config's ``auth:`` body for this server."""
        return (f"  token:\n    realm: {self.url}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
                f"    rootcertbundle: {self.bundle}\n")

    @property
    def requests(self) -> list[tuple[str, bool, list[str]]]:
        with self._server.lock:
            return list(self._server.requests)
