"""Engine HTTP goes only where the config says: each engine against a hostile server on 127.0.0.1.

A redirect must not carry the GitHub App's JWT to another host; a URL must not hide a second
host from the "https unless loopback" rule; a server dripping its answers must not hold the
helper past the engine's stated deadline; text a server writes must not print a secret of the
request or a terminal escape. The servers are raw sockets (tests/support/hostile_http.py): they
do what no honest server does.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from gatepass.engines import aws_ecr, github_app, specs, vault
from gatepass.errors import SecretUnavailableError
from gatepass.model import Account, Request
from tests.conftest import write_config
from tests.e2e.test_github_app import APP_ID, app_key
from tests.support.hostile_http import Recorder, read_head, read_request, reply, serve

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
TOKEN = "hvs.CAESIGatepassNotARealToken0123456789abcdef"


def github_account(key_file: Path, api: str) -> Account:
    spec: dict[str, object] = {"app_id": int(APP_ID), "private_key_file": str(key_file), "api_url": api}
    return Account(kind="git", domain="github.com", host="github.com", port=None, secure=True,
                   username="x-access-token", secret_kind="github_app", secret_ref=spec, layer="user", rank=2,
                   file=str(key_file.parent / "config.toml"), line=3)


def vault_account() -> Account:
    return Account(kind="git", domain="git.example", host="git.example", port=None, secure=True, username="deploy",
                   secret_kind="vault", secret_ref={"path": "secret/data/x", "field": "token"}, layer="user",
                   rank=2, file="/cfg.toml", line=3)


GIT_REQUEST = Request("git", "https", "github.com", None, "acme/tools.git")


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "app.pem"
    app_key(path)
    return path


def test_github_api_redirect_never_carries_the_jwt_elsewhere(key):
    with Recorder() as elsewhere:
        def redirect(conn: socket.socket) -> None:
            read_head(conn)
            conn.sendall(reply("302 Found", b"", f"Location: {elsewhere.url}/steal\r\n".encode()))

        with serve(redirect) as api:
            with pytest.raises(SecretUnavailableError) as caught:
                github_app.fetch(github_account(key, api), GIT_REQUEST, {})
        assert elsewhere.heads == [], "the JWT went to the redirect's target"
    assert f"{api}/repos/acme/tools/installation answered HTTP 302 (a redirect)" in str(caught.value)


@pytest.mark.parametrize("template", ["http://gatepass-evil.test#@127.0.0.1:{port}",
                                      "http://gatepass-evil.test?@127.0.0.1:{port}",
                                      "http://x:y@127.0.0.1:{port}"])
def test_github_api_url_hiding_another_host_is_refused(key, template):
    with Recorder() as loopback:
        with pytest.raises(SecretUnavailableError) as caught:
            github_app.fetch(github_account(key, template.format(port=loopback.port)), GIT_REQUEST, {})
        assert loopback.heads == []
    assert str(caught.value).startswith("api_url must")


def drip(conn: socket.socket, content_type: str, body: bytes, spaces: int) -> None:
    """A 200 without Content-Length: ``spaces`` blanks at 0.5 s apiece, then ``body``."""
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n".encode())
    for _ in range(spaces):
        conn.sendall(b" ")
        time.sleep(0.5)
    conn.sendall(body)


def slow_json(answers: dict[str, bytes], spaces: int) -> object:
    """Each answer sent without Content-Length after ``spaces`` blanks at 0.5 s apiece: every call
    alone ends before the engine's deadline, together they do not."""
    def behaviour(conn: socket.socket) -> None:
        head = read_request(conn)
        path = head.split(b" ")[1].decode()
        body = next(v for k, v in answers.items() if k in path)
        drip(conn, "application/json", body, spaces)
    return behaviour


def test_github_app_fetch_holds_one_deadline_across_its_calls(key):
    answers = {"/installation": b'{"id": 7}',
               "/access_tokens": b'{"token": "ghs_slow", "expires_at": "2099-01-01T00:00:00Z"}'}
    with serve(slow_json(answers, 7)) as api:  # 3.5 s per call, 5 s for the fetch
        started = time.monotonic()
        with pytest.raises(SecretUnavailableError, match="did not answer in time"):
            github_app.fetch(github_account(key, api), GIT_REQUEST, {})
        assert time.monotonic() - started < github_app.TOTAL_TIMEOUT + 2


def test_vault_fetch_holds_one_deadline_across_login_and_read(tmp_path):
    secret_file = tmp_path / "secret-id"
    secret_file.write_text("sid\n")
    answers = {"/login": b'{"auth": {"client_token": "tok", "lease_duration": 600}}',
               "/v1/secret": b'{"data": {"data": {"token": "v"}, "metadata": {}}}'}
    with serve(slow_json(answers, 7)) as address:
        settings = {"address": address, "auth": "approle", "role_id": "r", "secret_id_file": str(secret_file)}
        started = time.monotonic()
        with pytest.raises(SecretUnavailableError, match="did not answer in time"):
            vault.fetch(vault_account(), GIT_REQUEST, {}, settings=settings)
        assert time.monotonic() - started < vault.TOTAL_TIMEOUT + 2


def vault_error(status: str, message: str) -> object:
    def behaviour(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(reply(status, json.dumps({"errors": [message]}).encode()))
    return behaviour


@pytest.mark.parametrize("echo", [f"token {TOKEN} is not allowed here",
                                  f"token {TOKEN[:20]} / {TOKEN[20:]} is not allowed",
                                  f"X-Vault-Token: {TOKEN.upper()} {TOKEN}"])
def test_a_vault_server_echoing_the_token_never_gets_it_printed(echo):
    with serve(vault_error("500 Internal Server Error", echo)) as address:
        with pytest.raises(SecretUnavailableError) as caught:
            vault.fetch(vault_account(), GIT_REQUEST, {"VAULT_TOKEN": TOKEN}, settings={"address": address})
    said = str(caught.value)
    assert said.startswith("vault: reading secret/data/x failed with HTTP 500: server says ")
    assert all(TOKEN[i:i + 6] not in said for i in range(len(TOKEN) - 5)), said


def test_a_vault_servers_control_characters_are_escaped():
    with serve(vault_error("500 Internal Server Error", "bad\x1b[2J\x1b]0;owned\x07\r\nERROR: forged\u202e")) as address:
        with pytest.raises(SecretUnavailableError) as caught:
            vault.fetch(vault_account(), GIT_REQUEST, {"VAULT_TOKEN": TOKEN}, settings={"address": address})
    said = str(caught.value)
    assert not any(c in said for c in "\x1b\x07\r\n\u202e")
    assert "bad\\x1b[2J\\x1b]0;owned\\x07 ERROR: forged\\u202e" in said


@pytest.mark.parametrize("address", ["http://vault-user:pw-SECRET@127.0.0.1:8200", "https://u:pw-SECRET@vault.example",
                                     "http://gatepass-evil.test#@127.0.0.1:8200", "http://vault.example:8200"])
def test_a_vault_address_with_userinfo_a_fragment_or_remote_plain_http_is_refused(address):
    key, problem = specs.settings_problem("vault", {"address": address}) or ("", "")
    assert key == "address" and "SECRET" not in problem and problem, problem
    with Recorder() as loopback:
        env_address = address.replace("8200", str(loopback.port))
        with pytest.raises(SecretUnavailableError) as caught:
            vault.fetch(vault_account(), GIT_REQUEST, {"VAULT_ADDR": env_address, "VAULT_TOKEN": TOKEN}, settings={})
        assert loopback.heads == []
    assert str(caught.value).startswith("vault: the address must") and "SECRET" not in str(caught.value)


def test_config_check_names_a_vault_address_with_userinfo_without_quoting_it(isolated_env):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], '[vault]\naddress = "https://admin:pw-SECRET@vault.example"\n'
                 '[[git_provider]]\ndomain = "git.example"\naccounts = [{ username = "d", vault = { path = "a/b", '
                 'field = "f" } }]\n')
    done = subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ))
    assert done.returncode != 0 and "must not hold a user name or password" in done.stderr
    assert "SECRET" not in done.stderr + done.stdout


def fake_ecr(authorization: bytes, spaces: int = 0) -> object:
    """ECR's GetAuthorizationToken (awsJson1.1) answering ``authorization`` as the token."""
    def behaviour(conn: socket.socket) -> None:
        read_request(conn)
        body = json.dumps({"authorizationData": [{"authorizationToken": base64.b64encode(authorization).decode(),
                                                  "expiresAt": time.time() + 3600,
                                                  "proxyEndpoint": "https://x"}]}).encode()
        drip(conn, "application/x-amz-json-1.1", body, spaces)
    return behaviour


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("botocore", reason="aws_ecr needs botocore (gatepass[aws])")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)


def ecr_account() -> Account:
    return Account(kind="docker", domain="registry.example", host="registry.example", port=None, secure=True,
                   username="AWS", secret_kind="aws_ecr", secret_ref={"region": "us-east-1"}, layer="user", rank=2,
                   file="/cfg.toml", line=2)


def test_ecr_token_user_part_is_escaped_and_never_holds_the_password(aws_env):
    password = "ecr-password-SECRET-0123456789"
    with serve(fake_ecr(f"AWS\x1b[2J{password}\r\nforged:{password}".encode())) as url:
        with pytest.raises(SecretUnavailableError) as caught:
            aws_ecr.fetch(ecr_account(), Request("docker", "https", "registry.example", None),
                          {"AWS_ENDPOINT_URL_ECR": url})
    said = str(caught.value)
    assert said.startswith("ECR tokens are for user ") and "\x1b" not in said and "\n" not in said
    assert "SECRET" not in said and "0123456789" not in said


def test_ecr_fetch_ends_at_its_deadline_against_a_dripping_endpoint(aws_env):
    with serve(fake_ecr(b"AWS:pw", spaces=60)) as url:  # 30 s of blanks, each within botocore's read timeout
        started = time.monotonic()
        with pytest.raises(SecretUnavailableError, match="did not answer within"):
            aws_ecr.fetch(ecr_account(), Request("docker", "https", "registry.example", None),
                          {"AWS_ENDPOINT_URL_ECR": url})
        assert time.monotonic() - started < aws_ecr.TOTAL_TIMEOUT + 2


PROXY_NAMES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def test_ecr_never_sends_a_loopback_endpoints_request_through_a_proxy(aws_env, monkeypatch):
    """botocore alone reads HTTP_PROXY for a plain-http endpoint; gatepass gives it its own rule."""
    from tests.support.hostile_http import ConnectProxy

    with ConnectProxy() as proxy, serve(fake_ecr(b"AWS:pw-direct")) as url:
        for name in PROXY_NAMES:
            monkeypatch.setenv(name, proxy.url)
        env = {**dict.fromkeys(PROXY_NAMES, proxy.url), "AWS_ENDPOINT_URL_ECR": url}
        value, _ = aws_ecr.fetch(ecr_account(), Request("docker", "https", "registry.example", None), env)
        assert value == "pw-direct" and proxy.heads == []


def test_ecr_goes_through_https_proxy_as_curl_would(aws_env, monkeypatch):
    from tests.support.hostile_http import ConnectProxy

    with ConnectProxy(refuse="403 Forbidden") as proxy:
        for name in PROXY_NAMES:
            monkeypatch.delenv(name, raising=False)
        env = {"https_proxy": f"http://127.0.0.1:{proxy.port}", "AWS_ENDPOINT_URL_ECR": "https://ecr.gatepass.test"}
        with pytest.raises(SecretUnavailableError):
            aws_ecr.fetch(ecr_account(), Request("docker", "https", "registry.example", None), env)
        assert proxy.heads and proxy.heads[0].startswith(b"CONNECT ecr.gatepass.test:443 ")
        env["no_proxy"] = ".gatepass.test"
        count = len(proxy.heads)
        with pytest.raises(SecretUnavailableError):
            aws_ecr.fetch(ecr_account(), Request("docker", "https", "registry.example", None), env)
        assert len(proxy.heads) == count
