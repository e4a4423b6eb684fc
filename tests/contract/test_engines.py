"""EngineContract for every engine: vault (token, AppRole, and jwt from a variable, a file or GitHub
Actions), github_app, aws_ecr, gcp_service_account and command (token_command), each pointed at the
contract's hostile loopback servers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatepass.engines import aws_ecr, command, gcp_service_account, github_app, httpjson, vault
from gatepass.model import Account, Request
from tests.contract.engine_contract import EngineContract, Setup
from tests.support.google_oauth import ServiceAccount

pytestmark = [pytest.mark.timeout(120)]
TOKEN = "hvs.CAESIContractTokenNeverShownAnywhere0123"


def account(kind: str, secret_kind: str, ref: object, host: str, username: str, file: str, ttl: int | None = None
            ) -> Account:
    return Account(kind=kind, domain=host, host=host, port=None, secure=True, username=username,
                   secret_kind=secret_kind, secret_ref=ref, layer="user", rank=2, file=file, ttl=ttl, line=3)


class Case(EngineContract):
    @pytest.fixture(autouse=True)
    def _place(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp, self.monkeypatch = tmp_path, monkeypatch


class TestVaultToken(Case):
    module, deadline = vault, vault.TOTAL_TIMEOUT

    def setup(self, url: str) -> Setup:
        return (account("git", "vault", {"path": "secret/data/x", "field": "token"}, "git.example", "deploy",
                        str(self.tmp / "c.toml")), Request("git", "https", "git.example", None),
                {"VAULT_TOKEN": TOKEN}, {"address": url, "auth": "token"})


class TestVaultAppRole(TestVaultToken):
    def setup(self, url: str) -> Setup:
        secret_id = self.tmp / "secret-id"
        secret_id.write_text("sid-ContractSecretIdNeverShown-0123456789\n")
        acc, request, _, _ = super().setup(url)
        return acc, request, {}, {"address": url, "auth": "approle", "role_id": "r", "secret_id_file": str(secret_id)}


JWT = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2NvbnRyYWN0LmV4YW1wbGUiLCJyZXBvc2l0b3J5Ijoi"
       "YWNtZS9hcHAifQ.Q29udHJhY3RTaWduYXR1cmVOZXZlclNob3duQW55d2hlcmUwMTIzNDU2Nzg5")


class TestVaultJwtEnv(TestVaultToken):
    """auth = "jwt" with the JWT in a variable: the JWT is the credential the server must never see quoted."""

    def setup(self, url: str) -> Setup:
        acc, request, _, _ = super().setup(url)
        return acc, request, {"VAULT_ID_TOKEN": JWT}, {"address": url, "auth": "jwt", "role": "ci",
                                                       "jwt_env": "VAULT_ID_TOKEN"}

    def test_a_refusal_quoting_the_jwt_names_no_piece_of_it(self) -> None:
        """A 400 (the refusal path that quotes Vault's words) from a server echoing the request."""
        import json
        import socket

        from gatepass.errors import SecretUnavailableError
        from tests.contract.engine_contract import body_of, leaked
        from tests.support.hostile_http import read_head, serve

        def echo(conn: socket.socket) -> None:
            head = read_head(conn)
            raw = (head + body_of(conn, head)).decode("utf-8", "replace")
            answer = json.dumps({"errors": [f"error validating claims: claim does not match {raw}"]}).encode()
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(answer)).encode() + b"\r\nConnection: close\r\n\r\n" + answer)

        with serve(echo) as url:
            account, request, env, settings = self.setup(url)
            with pytest.raises(SecretUnavailableError) as caught:
                vault.fetch(account, request, env, settings=settings)
        message = str(caught.value)
        assert "role ci refused the JWT" in message and leaked(message, [JWT]) == [], message


class TestVaultJwtFile(TestVaultToken):
    def setup(self, url: str) -> Setup:
        path = self.tmp / "vault.jwt"
        path.write_text(JWT)
        acc, request, _, _ = super().setup(url)
        return acc, request, {}, {"address": url, "auth": "jwt", "role": "ci", "jwt_file": str(path)}


class TestVaultJwtGitHubActions(TestVaultToken):
    """The Actions OIDC endpoint and Vault are the same hostile server: its request token must not leak either."""

    def setup(self, url: str) -> Setup:
        acc, request, _, _ = super().setup(url)
        env = {"ACTIONS_ID_TOKEN_REQUEST_URL": f"{url}/idtoken?api-version=2.0",
               "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "actions-request-token-never-shown-0123456789"}
        return acc, request, env, {"address": url, "auth": "jwt", "role": "ci", "jwt_source": "github-actions",
                                   "audience": "https://vault.example"}


class TestGitHubApp(Case):
    module, deadline = github_app, github_app.TOTAL_TIMEOUT

    def setup(self, url: str) -> Setup:
        key = self.tmp / "app.pem"
        if not key.exists():
            pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption())
            key.write_bytes(pem)
            key.chmod(0o600)
        spec = {"app_id": 4242, "private_key_file": str(key), "api_url": url}
        return (account("git", "github_app", spec, "github.com", "x-access-token", str(self.tmp / "c.toml")),
                Request("git", "https", "github.com", None, "acme/tools.git"), {}, {})


class TestAwsEcr(Case):
    module, deadline = aws_ecr, aws_ecr.TOTAL_TIMEOUT

    def setup(self, url: str) -> Setup:
        pytest.importorskip("botocore", reason="aws_ecr needs botocore (gatepass[aws])")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"):
            self.monkeypatch.delenv(name, raising=False)
        for name, value in {"AWS_ACCESS_KEY_ID": "AKIACONTRACTKEYID0000",
                            "AWS_SECRET_ACCESS_KEY": "contract-secret-access-key-never-shown",
                            "AWS_CONFIG_FILE": str(self.tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(self.tmp / "none"),
                            "AWS_EC2_METADATA_DISABLED": "true"}.items():
            self.monkeypatch.setenv(name, value)
        return (account("docker", "aws_ecr", {"region": "us-east-1"}, "registry.example", "AWS", str(self.tmp / "c.toml")),
                Request("docker", "https", "registry.example", None), {"AWS_ENDPOINT_URL_ECR": url}, {})


class TestGcpServiceAccount(Case):
    module, deadline = gcp_service_account, httpjson.TOTAL_TIMEOUT

    def setup(self, url: str) -> Setup:
        key = ServiceAccount().write_key(self.tmp / "key.json", url + "/token")
        return (account("docker", "gcp_service_account", {"key_file": str(key)}, "europe-docker.pkg.dev",
                        "oauth2accesstoken", str(self.tmp / "c.toml")),
                Request("docker", "https", "europe-docker.pkg.dev", None), {}, {})


class TestCommand(Case):
    """A command is its own server: it drips, or fails after printing the token."""

    module, deadline = command, 1.0

    def setup(self, url: str, body: str = "echo tok\n") -> Setup:
        script = self.tmp / "mint.sh"
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o700)
        return (account("git", "command", (str(script),), "git.example", "bot", str(self.tmp / "c.toml"), ttl=60),
                Request("git", "https", "git.example", None), {**os.environ, "GATEPASS_COMMAND_TIMEOUT": "1"}, {})

    @contextlib.contextmanager
    def drip_setup(self) -> Iterator[Setup]:
        yield self.setup("", "while :; do printf x; sleep 0.5; done\n")

    @contextlib.contextmanager
    def echo_setup(self) -> Iterator[tuple[Setup, list[str]]]:
        token = "ghp_CommandTokenNeverShownAnywhere0123"
        yield self.setup("", f"echo {token}; echo {token} >&2; exit 3\n"), [token]
