"""A loopback stand-in for Google's OAuth 2.0 token endpoint, and service-account key files for it.

No Google server runs offline, so this implements what Google documents for service accounts
("Using OAuth 2.0 for Server to Server Applications") and RFC 7523 §2.1 / RFC 6749 §5:

- ``POST /token`` with ``Content-Type: application/x-www-form-urlencoded``, ``grant_type`` =
  ``urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion`` = a JWT;
- the assertion is checked independently of gatepass with PyJWT against the service account's
  public key: RS256 only, ``kid`` the key's ``private_key_id``, ``iss`` the ``client_email``,
  ``aud`` this endpoint's URL (the key's ``token_uri``), ``scope`` given, ``iat``/``exp`` required,
  ``exp - iat`` at most one hour, ``iat`` not in the future;
- 200 ``{"access_token", "expires_in", "token_type": "Bearer"}``; a bad request is 400
  ``{"error": "invalid_grant", "error_description": ...}`` as Google words it.

Each minted token is handed to ``on_mint`` (a registry's token server accepts exactly those) and
every request is recorded with its verdict, the scope asked for and the claims seen.
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.loopback import JSONHandler, Serving

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


class ServiceAccount:
    """A service account's RSA key and the JSON key file ``gcloud iam service-accounts keys create`` writes."""

    def __init__(self, email: str = "pusher@test-project.iam.gserviceaccount.com") -> None:
        self.email = email
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = secrets.token_hex(20)
        self.private_pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()).decode()
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def key_json(self, token_uri: str) -> dict[str, str]:
        return {"type": "service_account", "project_id": "test-project", "private_key_id": self.key_id,
                "private_key": self.private_pem, "client_email": self.email, "client_id": "104242424242424242424",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/pusher",
                "universe_domain": "googleapis.com"}

    def write_key(self, path: Path, token_uri: str, mode: int = 0o600) -> Path:
        path.write_text(json.dumps(self.key_json(token_uri), indent=2))
        path.chmod(mode)
        return path


class _Handler(JSONHandler):
    server: _Server

    def _send(self, status: int, body: dict[str, object], verdict: str, claims: dict[str, Any] | None) -> None:
        with self.server.lock:
            self.server.requests.append((status, verdict, claims))
        self.send_json(status, body, "application/json; charset=utf-8")

    def _refuse(self, error: str, description: str, claims: dict[str, Any] | None = None) -> None:
        self._send(400, {"error": error, "error_description": description}, description, claims)

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/token":
            return self._send(404, {"error": "not_found"}, "path", None)
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return self._refuse("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        form = urllib.parse.parse_qs(data.decode("ascii", "replace"), strict_parsing=True)
        if form.get("grant_type") != [GRANT_TYPE] or len(form.get("assertion", [])) != 1:
            return self._refuse("unsupported_grant_type", "Invalid grant_type or assertion")
        assertion = form["assertion"][0]
        account = self.server.account
        try:
            header = pyjwt.get_unverified_header(assertion)
            claims = pyjwt.decode(assertion, account.public_pem, algorithms=["RS256"], audience=self.server.url,
                                  issuer=account.email, options={"require": ["iss", "aud", "iat", "exp", "scope"]})
        except pyjwt.PyJWTError as exc:
            return self._refuse("invalid_grant", f"Invalid JWT: {type(exc).__name__}")
        if header.get("kid") != account.key_id:
            return self._refuse("invalid_grant", "Invalid JWT Signature.", claims)
        if claims["exp"] - claims["iat"] > 3600 or claims["iat"] > time.time() + 60:
            return self._refuse("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)", claims)
        if self.server.refuse:
            return self._refuse("invalid_grant", self.server.refuse, claims)
        token = "ya29." + secrets.token_urlsafe(60)
        self.server.on_mint(token)
        self._send(200, {"access_token": token, "expires_in": self.server.lifetime, "token_type": "Bearer"}, "ok", claims)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    account: ServiceAccount
    url: str
    lifetime: int
    refuse: str
    on_mint: Any
    requests: list[tuple[int, str, dict[str, Any] | None]]
    lock: threading.Lock


class GoogleTokenEndpoint(Serving):
    """``with GoogleTokenEndpoint(account, on_mint=...) as google: google.url, google.requests``."""

    def __init__(self, account: ServiceAccount, on_mint: Any = lambda token: None, lifetime: int = 3599) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        server = self._server
        server.account, server.lifetime, server.refuse, server.on_mint = account, lifetime, "", on_mint
        server.requests, server.lock = [], threading.Lock()
        self.url = server.url = f"http://127.0.0.1:{server.server_address[1]}/token"

    def refuse_with(self, description: str) -> None:
        """From now on answer 400 invalid_grant with ``description`` (a disabled or deleted key)."""
        self._server.refuse = description

    @property
    def requests(self) -> list[tuple[int, str, dict[str, Any] | None]]:
        with self._server.lock:
            return list(self._server.requests)
