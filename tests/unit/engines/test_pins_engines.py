"""Engine rules pinned below the end-to-end tests (issue #29): each test fails when its one rule is
removed, without the real OpenBao, GitHub or AWS. The servers are loopback stand-ins following the
published APIs (tests/support/vault_api.py, tests/support/github_api.py, a GetAuthorizationToken
answer below); time is read around each fetch, never waited on."""

from __future__ import annotations

import base64
import http.server
import io
import json
import os
import re
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatepass import engines
from gatepass.config.layers import load_config
from gatepass.engines import aws_ecr, github_app, tokencache, vault, vault_auth
from gatepass.engines.specs import TABLE_ERROR
from gatepass.errors import SecretUnavailableError
from gatepass.model import Account, Request
from tests.conftest import write_config
from tests.support.vault_api import VaultAPI

PATH = "secret/data/git"
REQUEST = Request("git", "https", "git.example", None)


@pytest.fixture
def fake_vault() -> Iterator[VaultAPI]:
    with VaultAPI() as api:
        yield api


def vault_account(tmp_path: Path, api: VaultAPI, *, ttl: int | None = None, extra: str = "") -> tuple[Account, dict]:
    secret_id = tmp_path / "secret_id"
    secret_id.write_text(api.secret_id + "\n")
    secret_id.chmod(0o600)
    spec = f'vault = {{ path = "{PATH}", field = "token" }}' + (f", ttl = {ttl}" if ttl else "")
    path = write_config(tmp_path / "c.toml", f'[vault]\naddress = "{api.url}"\nrole_id = "{api.role_id}"\n'
                        f'secret_id_file = "{secret_id}"\n{extra}[[git_provider]]\ndomain = "git.example"\n'
                        f'accounts = [{{ username = "bot", {spec} }}]\n')
    config = load_config(dict(os.environ, GATEPASS_CONFIG=str(path)))
    assert not config.errors, config.errors
    [account] = config.accounts
    return account, config.engines["vault"]


def fetched(account: Account, settings: dict) -> tuple[str, int, int, int]:
    """(value, expiry, the clock's whole seconds before and after the fetch)."""
    before = int(time.time())
    value, expiry = vault.fetch(account, REQUEST, dict(os.environ), settings=settings)
    return value, expiry, before, int(time.time())


# -- cache keys carry every part of the identity ---------------------------------------------------------


BASE = {"address": "https://vault.example:8200", "role_id": "role-1", "secret_id_file": "/etc/gatepass/secret_id"}


@pytest.mark.parametrize("change", [{"address": "https://other.example:8200"}, {"namespace": "team-a"},
                                    {"role_id": "role-2"}, {"secret_id_file": "/etc/gatepass/other_id"},
                                    {"auth": "token", "token_file": "/etc/gatepass/secret_id"},
                                    {"approle_mount": "ci/approle"}], ids=lambda change: ",".join(change))
def test_a_vault_cache_key_changes_with_each_part_of_the_identity(tmp_path, fake_vault, change):
    account, _ = vault_account(tmp_path, fake_vault)
    base = vault.cache_key(account, REQUEST, env={}, settings=BASE)
    assert vault.cache_key(account, REQUEST, env={}, settings={**BASE, **change}) != base


def test_a_vault_cache_key_takes_the_namespace_from_the_environment_where_the_table_is_silent(tmp_path, fake_vault):
    account, _ = vault_account(tmp_path, fake_vault)
    base = vault.cache_key(account, REQUEST, env={}, settings=BASE)
    assert vault.cache_key(account, REQUEST, env={"VAULT_NAMESPACE": "team-a"}, settings=BASE) != base


@pytest.mark.parametrize("change", [{"address": "https://other.example:8200"}, {"namespace": "team-a"},
                                    {"role_id": "role-2"}, {"secret_id_file": "/etc/gatepass/other_id"},
                                    {"approle_mount": "ci/approle"}],
                         ids=lambda change: ",".join(change))
def test_the_approle_login_is_cached_per_address_namespace_role_secret_id_file_and_mount(change):
    key = vault_auth.Session(vault.server(BASE, {}), {}, 0).key
    assert vault_auth.Session(vault.server({**BASE, **change}, {}), {}, 0).key != key


def github_account(spec: str) -> Account:
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(write_config(
        Path(os.environ["HOME"]) / "gh.toml",
        f'[[git_provider]]\naccounts = [{{ username = "x-access-token", github_app = {{ {spec} }} }}]\n')))).accounts
    return account


def test_a_github_app_cache_key_names_the_owner_or_the_installation():
    by_owner = github_account('app_id = 1, private_key_file = "/k.pem"')
    acme = github_app.cache_key(by_owner, Request("git", "https", "github.com", None, "acme/r.git"))
    other = github_app.cache_key(by_owner, Request("git", "https", "github.com", None, "other/r.git"))
    assert acme != other
    seven = github_app.cache_key(github_account('app_id = 1, private_key_file = "/k.pem", installation_id = 7'), REQUEST)
    eight = github_app.cache_key(github_account('app_id = 1, private_key_file = "/k.pem", installation_id = 8'), REQUEST)
    assert seven != eight and acme not in (seven, eight)


ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def ecr_account(username: str = "AWS") -> Account:
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(write_config(
        Path(os.environ["HOME"]) / "ecr.toml",
        f'[[docker_registry]]\ndomain = "*.dkr.ecr.*.amazonaws.com"\n'
        f'accounts = [{{ username = "{username}", aws_ecr = {{}} }}]\n')))).accounts
    return account


@pytest.mark.parametrize("env", [{"AWS_PROFILE": "ci"}, {"AWS_ACCESS_KEY_ID": "AKIAOTHER"}], ids=lambda e: ",".join(e))
def test_an_ecr_cache_key_names_the_registry_and_the_aws_identity(env):
    account = ecr_account()
    base = aws_ecr.cache_key(account, Request("docker", "https", ECR, None), {})
    assert aws_ecr.cache_key(account, Request("docker", "https", ECR.replace("1234", "9999"), None), {}) != base
    assert aws_ecr.cache_key(account, Request("docker", "https", ECR, None), env) != base


# -- expiry arithmetic ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl, lease, lives", [(None, 30, 30), (None, 600, 300), (None, None, 300), (20, 30, 20)],
                         ids=["lease-shorter", "ttl-shorter", "kv-no-lease", "account-ttl"])
def test_a_vault_value_lives_min_of_ttl_and_lease(tmp_path, fake_vault, ttl, lease, lives):
    fake_vault.secrets[PATH] = ({"token": "value-1"}, lease)
    account, settings = vault_account(tmp_path, fake_vault, ttl=ttl)
    value, expiry, before, after = fetched(account, settings)
    assert value == "value-1" and before + lives <= expiry <= after + lives


@pytest.mark.parametrize("left, renewed", [(30, True), (120, False)], ids=["30s-left", "120s-left"])
def test_a_cached_login_with_under_a_minute_left_is_renewed_not_replaced(tmp_path, fake_vault, left, renewed):
    fake_vault.secrets[PATH] = ({"token": "value-1"}, None)
    account, settings = vault_account(tmp_path, fake_vault)
    fake_vault.tokens.add("hvs.cached")
    key = vault_auth.Session(vault.server(settings, os.environ), os.environ, 0).key
    tokencache.put(dict(os.environ), key, "hvs.cached", int(time.time()) + left)
    assert fetched(account, settings)[0] == "value-1"
    assert (fake_vault.renewals(), fake_vault.logins()) == (int(renewed), 0)
    assert [call[2] for call in fake_vault.calls if call[0] == "GET"] == ["hvs.cached"]


def test_a_cached_login_the_server_will_not_renew_is_replaced_by_a_fresh_login(tmp_path, fake_vault):
    fake_vault.secrets[PATH] = ({"token": "value-1"}, None)
    account, settings = vault_account(tmp_path, fake_vault)
    key = vault_auth.Session(vault.server(settings, os.environ), os.environ, 0).key
    tokencache.put(dict(os.environ), key, "hvs.unknown-to-the-server", int(time.time()) + 30)
    assert fetched(account, settings)[0] == "value-1"
    assert (fake_vault.renewals(), fake_vault.logins()) == (1, 1)
    [read] = [call for call in fake_vault.calls if call[0] == "GET"]  # never tried with the token renewal refused
    assert read[2] != "hvs.unknown-to-the-server"


def test_a_403_with_a_cached_login_drops_it_and_logs_in_once_more(tmp_path, fake_vault):
    fake_vault.secrets[PATH] = ({"token": "value-1"}, None)
    account, settings = vault_account(tmp_path, fake_vault)
    assert fetched(account, settings)[0] == "value-1" and fake_vault.logins() == 1
    fake_vault.revoke_all()  # the cached login token was revoked (or lapsed early) on the server
    assert fetched(account, settings)[0] == "value-1" and fake_vault.logins() == 2
    fake_vault.secrets.pop(PATH)
    fake_vault.revoke_all()
    with pytest.raises(SecretUnavailableError, match="not found"):
        fetched(account, settings)


def test_a_403_with_a_fresh_login_is_the_policy_error_without_another_login(tmp_path, fake_vault, monkeypatch):
    fake_vault.secrets[PATH] = ({"token": "value-1"}, None)
    account, settings = vault_account(tmp_path, fake_vault)
    monkeypatch.setattr(fake_vault, "tokens", type("Forgetful", (set,), {"__contains__": lambda self, t: False})())
    with pytest.raises(SecretUnavailableError, match="permission denied reading secret/data/git"):
        fetched(account, settings)
    assert fake_vault.logins() == 1


def test_forget_drops_the_cached_value_it_was_told_and_only_that(tmp_path, fake_vault):
    fake_vault.secrets[PATH] = ({"token": "value-1"}, None)
    account, settings = vault_account(tmp_path, fake_vault)
    env, tables = dict(os.environ), {"vault": settings}
    assert engines.read_engine(account, REQUEST, env, tables).value == "value-1"
    reads = len([c for c in fake_vault.calls if c[0] == "GET"])
    assert not engines.forget(account, REQUEST, env, tables, "another-value")
    assert engines.read_engine(account, REQUEST, env, tables).value == "value-1"
    assert len([c for c in fake_vault.calls if c[0] == "GET"]) == reads  # still cached
    fake_vault.secrets[PATH] = ({"token": "value-2"}, None)
    assert engines.forget(account, REQUEST, env, tables, "value-1")
    assert engines.read_engine(account, REQUEST, env, tables).value == "value-2"


def test_git_gets_the_engine_values_expiry_as_password_expiry_utc(tmp_path, fake_vault):
    from gatepass.protocol import git

    fake_vault.secrets[PATH] = ({"token": "value-1"}, 90)
    account, settings = vault_account(tmp_path, fake_vault)
    out = io.BytesIO()
    before = int(time.time())
    git.main(["get"], io.BytesIO(b"protocol=https\nhost=git.example\n"), out, io.BytesIO(),
             dict(os.environ, GATEPASS_CONFIG=str(tmp_path / "c.toml")))
    lines = out.getvalue().decode().splitlines()
    assert lines[:2] == ["username=bot", "password=value-1"]
    [expiry] = [int(line.partition("=")[2]) for line in lines if line.startswith("password_expiry_utc=")]
    assert before + 90 <= expiry <= int(time.time()) + 90


# -- what an engine refuses ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\n", "\r", "\0"], ids=["LF", "CR", "NUL"])
def test_a_vault_field_with_a_line_break_or_nul_is_refused_at_the_engine(tmp_path, fake_vault, bad):
    fake_vault.secrets[PATH] = ({"token": f"s3cr3t{bad}password=other"}, None)
    account, settings = vault_account(tmp_path, fake_vault)
    with pytest.raises(SecretUnavailableError, match="line break or NUL") as caught:
        fetched(account, settings)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("mount, ok", [("approle", True), ("ci/approle", True), ("ci.prod/app-role_2", True),
                                       ("../sys", False), ("ci/./approle", False), ("ci//approle", False),
                                       ("ci/approle?x=1", False), ("a b", False)])
def test_approle_mount_is_limited_to_safe_path_segments(tmp_path, mount, ok):
    path = write_config(tmp_path / "c.toml", f'[vault]\naddress = "https://v.example"\nrole_id = "r"\n'
                        f'secret_id_file = "/s"\napprole_mount = "{mount}"\n')
    config = load_config(dict(os.environ, GATEPASS_CONFIG=str(path)))
    assert (TABLE_ERROR not in config.engines["vault"]) is ok  # an invalid table stands as its error
    assert ok or any("approle_mount" in e for e in config.errors)


def test_a_github_app_api_url_over_plain_http_is_refused_unless_loopback(tmp_path):
    remote = github_account('app_id = 1, private_key_file = "/nonexistent.pem", api_url = "http://ghe.example/api/v3"')
    with pytest.raises(SecretUnavailableError, match="https://"):
        github_app.fetch(remote, REQUEST, {})
    local = github_account('app_id = 1, private_key_file = "/nonexistent.pem", api_url = "http://127.0.0.1:9"')
    with pytest.raises(SecretUnavailableError) as caught:  # past the URL rule: the key file is next
        github_app.fetch(local, REQUEST, {})
    assert "https://" not in str(caught.value)


# -- ECR: the token's user must be the account's ----------------------------------------------------------


class _ECR(http.server.BaseHTTPRequestHandler):
    """``GetAuthorizationToken`` as the ECR API reference gives it (JSON 1.1 protocol): the request
    names its operation in ``X-Amz-Target`` and is SigV4-signed; the answer's token is base64
    ``user:password``."""

    protocol_version = "HTTP/1.1"
    targets: list[str] = []
    lives: list[float] = [3600]  # seconds from now to the answer's expiresAt

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.targets.append(self.headers.get("X-Amz-Target", ""))
        assert self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 Credential=AKIATEST/")
        token = base64.b64encode(b"AWS:ecr-password").decode()
        body = json.dumps({"authorizationData": [{"authorizationToken": token, "expiresAt": int(time.time()) + self.lives[0],
                                                  "proxyEndpoint": f"https://{ECR}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_ecr(monkeypatch) -> Iterator[None]:
    """botocore reads its credentials and files from os.environ, not from the env gatepass passes."""
    pytest.importorskip("botocore", reason="aws_ecr needs botocore (the aws extra)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ECR)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        for name, value in {"AWS_ENDPOINT_URL_ECR": f"http://127.0.0.1:{server.server_address[1]}",
                            "AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "test-secret",
                            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                            "AWS_EC2_METADATA_DISABLED": "true"}.items():
            monkeypatch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"):
            monkeypatch.delenv(name, raising=False)
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_an_ecr_token_for_another_user_than_the_accounts_is_refused(fake_ecr):
    request = Request("docker", "https", ECR, None)
    env = dict(os.environ)
    password, expiry = aws_ecr.fetch(ecr_account("AWS"), request, env)
    assert password == "ecr-password" and expiry > time.time()
    with pytest.raises(SecretUnavailableError, match='ECR tokens are for user AWS; set username = "AWS"'):
        aws_ecr.fetch(ecr_account("deploy"), request, env)
    assert _ECR.targets[-1] == "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"



# -- every engine URL: https, or plain http to this machine only ------------------------------------------
# httpjson refuses such a URL too, in its own words ("the engine URL ..."): each engine's check is pinned by
# the words naming its own setting, and nothing may be connected to.

HTTP_RULE = "must start with https:// (plain http only to 127.0.0.1, ::1 or localhost)"


@pytest.fixture
def no_connection(monkeypatch):
    from gatepass.engines import httpjson

    def connect(*args: object, **kwargs: object) -> None:
        raise AssertionError("an engine connected to a plain-http address that is not loopback")

    monkeypatch.setattr(httpjson, "_connection", connect)


@pytest.mark.parametrize("where", ["table", "VAULT_ADDR", "BAO_ADDR"])
def test_a_vault_address_over_plain_http_is_refused_unless_loopback(tmp_path, fake_vault, no_connection, where):
    account, settings = vault_account(tmp_path, fake_vault)
    address = "http://vault.invalid:8200"
    env = dict(os.environ, **({} if where == "table" else {where: address}))
    table = {**settings, "address": address} if where == "table" else {k: v for k, v in settings.items() if k != "address"}
    with pytest.raises(SecretUnavailableError) as caught:
        vault.fetch(account, REQUEST, env, settings=table)
    assert str(caught.value) == f"vault: the address {HTTP_RULE}"
    for lookalike in ("http://127.0.0.1.vault.invalid:8200", "http://localhost.vault.invalid", "http://127.1:8200"):
        assert vault.address_problem(lookalike) == f"the address {HTTP_RULE}"
    assert vault.address_problem("http://127.0.0.1:8200") is None and vault.address_problem("http://[::1]:8200") is None


def test_a_vault_table_with_a_plain_http_address_is_a_config_error(tmp_path):
    path = write_config(tmp_path / "c.toml", '[vault]\naddress = "http://vault.invalid:8200"\nauth = "token"\n')
    config = load_config(dict(os.environ, GATEPASS_CONFIG=str(path)))
    assert list(config.engines["vault"]) == [TABLE_ERROR]  # its accounts get this error, never VAULT_ADDR's server
    assert any("vault.address" in e and HTTP_RULE in e for e in config.errors)


def test_a_github_app_api_url_names_its_setting_when_refused(no_connection):
    remote = github_account('app_id = 1, private_key_file = "/nonexistent.pem", api_url = "http://ghe.invalid/api/v3"')
    with pytest.raises(SecretUnavailableError, match="^api_url must start with https://"):
        github_app.fetch(remote, REQUEST, {})


def test_a_google_token_uri_over_plain_http_is_refused_unless_loopback(tmp_path, no_connection):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from gatepass.engines import gcp_service_account as gcp

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key = tmp_path / "key.json"

    def keyed(uri: str) -> Path:
        key.write_text(json.dumps({"type": "service_account", "client_email": "ci@p.iam.gserviceaccount.com",
                                   "private_key": pem, "private_key_id": "k1", "token_uri": uri}))
        key.chmod(0o600)
        return key

    with pytest.raises(SecretUnavailableError, match="^key_file: token_uri " + re.escape(HTTP_RULE)):
        gcp.read_key(str(keyed("http://oauth.invalid/token")))
    assert gcp.read_key(str(keyed("http://127.0.0.1:9/token"))).token_uri == "http://127.0.0.1:9/token"


def test_the_actions_oidc_url_over_plain_http_is_refused_unless_loopback(no_connection):
    from gatepass.engines import vault_jwt

    found = vault.server({"address": "https://vault.example", "auth": "jwt", "role": "ci",
                          "jwt_source": "github-actions", "audience": "vault"}, {})
    env = {"ACTIONS_ID_TOKEN_REQUEST_URL": "http://actions.invalid/token?api-version=2.0",
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token"}
    with pytest.raises(SecretUnavailableError) as caught:
        vault_jwt.read_jwt(found, env, time.monotonic() + 5)
    assert str(caught.value) == f"vault: ACTIONS_ID_TOKEN_REQUEST_URL {HTTP_RULE}"


# -- GitHub App: an installation token is handed out until 5 minutes before expires_at ----------------------


@pytest.mark.parametrize("lifetime, early", [(3600, 300), (120, 0)], ids=["an-hour", "shorter-than-5-minutes"])
def test_a_github_app_token_is_used_until_5_minutes_before_it_expires(tmp_path, monkeypatch, lifetime, early):
    """Shorter-lived than the margin (a clock off by an hour, a test server): used until expires_at itself."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from gatepass.engines import github_http
    from tests.support.github_api import GitHubAPI

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "app.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    pem.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    parsed: list[int] = []
    real = github_http.parse_time
    monkeypatch.setattr(github_http, "parse_time", lambda text: parsed.append(real(text)) or parsed[-1])
    with GitHubAPI("1234", public, {"acme": 7}, lifetime=lifetime) as api:
        account = github_account(f'app_id = 1234, private_key_file = "{pem}", api_url = "{api.url.rstrip("/")}"')
        token, expiry = github_app.fetch(account, Request("git", "https", "github.com", None, "acme/r.git"), {})
    assert token.startswith("ghs_") and parsed and expiry == parsed[-1] - early


@pytest.mark.parametrize("unset", ["ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
def test_outside_an_actions_job_with_id_token_the_jwt_source_says_the_permission_to_give(no_connection, unset):
    from gatepass.engines import vault_jwt

    found = vault.server({"address": "https://vault.example", "auth": "jwt", "role": "ci",
                          "jwt_source": "github-actions", "audience": "vault"}, {})
    env = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://actions.example/token?api-version=2.0",
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token"}
    del env[unset]
    with pytest.raises(SecretUnavailableError, match="are not set; give the job permissions: id-token: write"):
        vault_jwt.read_jwt(found, env, time.monotonic() + 5)


def test_config_check_says_auth_token_needs_a_token_only_when_none_is_given(tmp_path):
    table = {"address": "https://vault.example", "auth": "token"}
    assert any("needs token_file" in p for p in vault.settings_problems(table, {}))
    assert not any("needs token_file" in p for p in vault.settings_problems(table, {"BAO_TOKEN": "t"}))
    token_file = tmp_path / "token"
    token_file.write_text("t\n")
    assert vault.settings_problems({**table, "token_file": str(token_file)}, {}) == []


@pytest.mark.parametrize("url", ["https://vault.ex%61mple.com", "https://exämple.com", "https://a;b.example",
                                 "https://a..b.example", "https://:8200", "http://127.0.0.1%2eevil.test"])
def test_an_engine_url_host_is_plain_ascii_letters_digits_dots_and_dashes(url):
    """Anything else could be read as another host by a resolver, a proxy or the server's Host check."""
    from gatepass.engines import urls

    assert urls.problem(url) is not None
    assert urls.problem("https://vault-1.corp_x.example:8200") is None


# -- Google service account: the access token's life, against the loopback token endpoint ------------------


@pytest.mark.parametrize("lifetime, lives", [(3599, 3599 - 300), (100, 100), (10**6, 3600 - 300), (0, 3600 - 300)],
                         ids=["an-hour", "shorter-than-5-minutes", "beyond-12-hours", "none"])
def test_a_google_access_token_is_used_until_5_minutes_before_it_expires(tmp_path, monkeypatch, lifetime, lives):
    """expires_in as Google gives it, less the margin; one that lives shorter is used to its end; a
    lifetime past Google's 12 h (or none) is taken as the hour Google grants."""
    from gatepass.engines import gcp_service_account as gcp
    from tests.support.google_oauth import GoogleTokenEndpoint, ServiceAccount

    service = ServiceAccount()
    moment = int(time.time()) - 10 + 0.25  # in the past: the endpoint refuses an iat in the future
    monkeypatch.setattr(gcp, "time", types.SimpleNamespace(time=lambda: moment))
    minted: list[str] = []
    with GoogleTokenEndpoint(service, on_mint=minted.append, lifetime=lifetime) as google:
        key = service.write_key(tmp_path / "key.json", google.url)
        account = Account(kind="docker", domain="europe-docker.pkg.dev", host="europe-docker.pkg.dev", port=None,
                          secure=True, username="oauth2accesstoken", secret_kind="gcp_service_account",
                          secret_ref={"key_file": str(key)}, layer="user", rank=2, file=str(tmp_path / "c.toml"))
        token, expiry = gcp.fetch(account, Request("docker", "https", "europe-docker.pkg.dev", None), {})
        assert [verdict for _, verdict, _ in google.requests] == ["ok"]
    assert token == minted[0] and expiry == int(moment) + lives


def test_a_google_token_endpoints_refusal_is_an_error_naming_the_likely_causes(tmp_path):
    from gatepass.engines import gcp_service_account as gcp
    from tests.support.google_oauth import GoogleTokenEndpoint, ServiceAccount

    service = ServiceAccount()
    with GoogleTokenEndpoint(service) as google:
        google.refuse_with("Invalid JWT Signature.")
        key = service.write_key(tmp_path / "key.json", google.url)
        account = Account(kind="docker", domain="europe-docker.pkg.dev", host="europe-docker.pkg.dev", port=None,
                          secure=True, username="oauth2accesstoken", secret_kind="gcp_service_account",
                          secret_ref={"key_file": str(key)}, layer="user", rank=2, file=str(tmp_path / "c.toml"))
        with pytest.raises(SecretUnavailableError, match="refused the service-account assertion with HTTP 400 "
                                                         r"\(is the key disabled or deleted, or the clock off\?\)"):
            gcp.fetch(account, Request("docker", "https", "europe-docker.pkg.dev", None), {})


@pytest.mark.parametrize("bad", ["\n", "\r", "\0"], ids=["LF", "CR", "NUL"])
def test_a_google_access_token_with_a_line_break_or_nul_is_refused(tmp_path, monkeypatch, bad):
    from gatepass.engines import gcp_service_account as gcp
    from tests.support import google_oauth

    service = google_oauth.ServiceAccount()
    monkeypatch.setattr(google_oauth, "secrets", types.SimpleNamespace(token_urlsafe=lambda n: f"s3cr3t{bad}x=y"))
    with google_oauth.GoogleTokenEndpoint(service) as google:
        key = service.write_key(tmp_path / "key.json", google.url)
        account = Account(kind="docker", domain="europe-docker.pkg.dev", host="europe-docker.pkg.dev", port=None,
                          secure=True, username="oauth2accesstoken", secret_kind="gcp_service_account",
                          secret_ref={"key_file": str(key)}, layer="user", rank=2, file=str(tmp_path / "c.toml"))
        with pytest.raises(SecretUnavailableError, match="without a usable access_token") as caught:
            gcp.fetch(account, Request("docker", "https", "europe-docker.pkg.dev", None), {})
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("lives, kept", [(12 * 3600, True), (12 * 3600 + 60, False), (-60, False)],
                         ids=["12h", "past-12h", "already-past"])
def test_an_ecr_token_is_kept_until_expires_at_within_12_hours_else_for_an_hour(fake_ecr, monkeypatch, lives, kept):
    monkeypatch.setattr(_ECR, "lives", [lives])
    before = int(time.time())
    _, expiry = aws_ecr.fetch(ecr_account("AWS"), Request("docker", "https", ECR, None), dict(os.environ))
    after = int(time.time())
    if kept:
        assert before + lives <= expiry <= after + lives
    else:
        assert before + 3600 <= expiry <= after + 3600


@pytest.mark.parametrize("path, owner_repo", [("acme/r.git", ("acme", "r")), ("Acme/r", ("acme", "r")),
                                              ("acme", ("acme", None)), ("/acme/r.git/", ("acme", "r"))])
def test_a_github_app_reads_owner_and_repository_from_the_path_without_dot_git(path, owner_repo):
    account = github_account('app_id = 1, private_key_file = "/k.pem"')
    assert github_app.owner_and_repo(account, Request("git", "https", "github.com", None, path)) == owner_repo
