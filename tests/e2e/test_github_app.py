"""GitHub App installation tokens against a loopback GitHub API that verifies the JWT with PyJWT.

The engine is driven directly here (JWT, installation lookup, minting, key-file trust, errors);
tests/e2e/test_minted_git.py drives the real helpers and a real ``git clone``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatepass.engines import github_app
from gatepass.errors import SecretUnavailableError
from gatepass.model import Account, Request
from tests.support.github_api import GitHubAPI

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
APP_ID = "4242"


def app_key(path: Path, mode: int = 0o600) -> bytes:
    """A fresh RSA key in GitHub's download format (PKCS#1 PEM) at ``path``; returns the public PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    path.chmod(mode)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def account(key_file: Path, api: str, orgs: tuple[str, ...] = (), **extra: object) -> Account:
    spec: dict[str, object] = {"app_id": int(APP_ID), "private_key_file": str(key_file), "api_url": api, **extra}
    return Account(kind="git", domain="github.com", host="github.com", port=None, secure=True,
                   username="x-access-token", secret_kind="github_app", secret_ref=spec, layer="user", rank=2,
                   file=str(key_file.parent / "config.toml"), organizations=orgs, line=3)


def request(path: str | None) -> Request:
    return Request("git", "https", "github.com", None, path)


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "app.pem"
    return path, app_key(path)


def test_mints_a_token_for_the_organization_of_the_path(key):
    path, public = key
    minted: list[str] = []
    with GitHubAPI(APP_ID, public, {"acme": 7}, on_mint=minted.append) as api:
        token, expiry = github_app.fetch(account(path, api.url), request("acme/tools.git"), {})
        assert [token] == minted
        # 5 minutes before GitHub's one hour, give or take the test's own seconds
        assert abs(expiry - (time.time() + 3600 - 300)) < 60
        assert [c[:2] for c in api.calls] == [("GET", "/repos/acme/tools/installation"),
                                              ("POST", "/app/installations/7/access_tokens")]
        assert set(api.headers) == {("application/vnd.github+json", "2022-11-28")}


def test_org_endpoint_without_a_repository_and_installation_id_skips_the_lookup(key):
    path, public = key
    with GitHubAPI(APP_ID, public, {"acme": 7, "other": 9}) as api:
        github_app.fetch(account(path, api.url, ("acme",)), request(None), {})
        github_app.fetch(account(path, api.url, installation_id=9), request("whatever/x.git"), {})
        assert [c[:2] for c in api.calls] == [("GET", "/orgs/acme/installation"),
                                              ("POST", "/app/installations/7/access_tokens"),
                                              ("POST", "/app/installations/9/access_tokens")]


def test_the_jwt_is_what_github_requires(key):
    path, public = key
    now = time.time()
    token = github_app.app_jwt(APP_ID, path.read_bytes(), str(path), now)
    claims = pyjwt.decode(token, public, algorithms=["RS256"], issuer=APP_ID)
    assert claims["iat"] == int(now) - 60 and claims["exp"] - claims["iat"] <= 600
    assert pyjwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}


def test_organization_without_installation_is_one_clear_line(key):
    path, public = key
    with GitHubAPI(APP_ID, public, {"acme": 7}) as api:
        with pytest.raises(SecretUnavailableError) as caught:
            github_app.fetch(account(path, api.url), request("nobody/x.git"), {})
    assert str(caught.value) == f"GitHub App {APP_ID} is not installed on repository nobody/x"


def test_a_wrong_key_is_refused_quickly_and_says_so(key, tmp_path):
    path, _ = key
    _, other_public = key[0], app_key(tmp_path / "other.pem")
    with GitHubAPI(APP_ID, other_public, {"acme": 7}) as api:
        started = time.monotonic()
        with pytest.raises(SecretUnavailableError) as caught:
            github_app.fetch(account(path, api.url), request("acme/x.git"), {})
        assert time.monotonic() - started < 10
        assert [c[2] for c in api.calls] == [401]
    assert "401" in str(caught.value) and "private key" in str(caught.value)


def test_no_path_and_no_single_scope_says_what_to_set(key):
    path, public = key
    with pytest.raises(SecretUnavailableError, match="credential.useHttpPath"):
        github_app.fetch(account(path, "http://127.0.0.1:9/"), request(None), {})


@pytest.mark.parametrize("bad", ["../x", "acme/..", "acme/a b"])
def test_a_path_that_is_no_github_name_never_reaches_the_api(key, bad):
    path, public = key
    with GitHubAPI(APP_ID, public, {"acme": 7}) as api:
        with pytest.raises(SecretUnavailableError, match="does not name"):
            github_app.fetch(account(path, api.url), request(bad), {})
        assert api.calls == []


def test_key_file_open_to_others_or_not_a_file_is_refused(tmp_path):
    loose = tmp_path / "loose.pem"
    app_key(loose, 0o644)
    with pytest.raises(SecretUnavailableError, match="chmod 600"):
        github_app.read_private_key(str(loose))
    fifo = tmp_path / "fifo.pem"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(SecretUnavailableError, match="not a regular file"):
        github_app.read_private_key(str(fifo))
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * (70 * 1024))
    big.chmod(0o600)
    with pytest.raises(SecretUnavailableError, match="larger"):
        github_app.read_private_key(str(big))


def test_a_file_that_is_no_key_says_so_without_its_content(tmp_path):
    path = tmp_path / "notakey.pem"
    path.write_text("CANARY-not-a-key\n")
    path.chmod(0o600)
    with pytest.raises(SecretUnavailableError) as caught:
        github_app.fetch(account(path, "http://127.0.0.1:9/"), request("acme/x"), {})
    assert "no unencrypted PEM private key" in str(caught.value) and "CANARY" not in str(caught.value)


def test_an_unreachable_api_is_an_error_within_bounds(key):
    path, _ = key
    started = time.monotonic()
    with pytest.raises(SecretUnavailableError, match="cannot be reached"):
        github_app.fetch(account(path, "http://127.0.0.1:9/"), request("acme/x"), {})
    assert time.monotonic() - started < 10


def test_a_server_dripping_its_answer_is_cut_off_at_the_total_deadline(key):
    """Each byte comes before the 2 s read timeout; only the 5 s total deadline can stop it."""
    import socket
    import threading

    path, _ = key
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.wait(0.5):
                try:
                    conn.sendall(b"X-Drip: 1\r\n")
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with pytest.raises(SecretUnavailableError, match="did not answer in time"):
            github_app.fetch(account(path, f"http://127.0.0.1:{listener.getsockname()[1]}/"), request("acme/x"), {})
        assert time.monotonic() - started < 8
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_a_token_shorter_lived_than_the_renewal_margin_is_used_until_it_expires(key):
    path, public = key
    with GitHubAPI(APP_ID, public, {"acme": 7}, lifetime=120) as api:
        _, expiry = github_app.fetch(account(path, api.url), request("acme/x"), {})
    assert time.time() + 60 < expiry <= time.time() + 120


def test_plain_http_api_url_to_another_host_is_refused_before_signing(key):
    path, _ = key
    with pytest.raises(SecretUnavailableError, match="api_url must start with https://"):
        github_app.fetch(account(path, "http://ghe.example/api/v3"), request("acme/x"), {})


@pytest.mark.root_only(reason="a multi-user attack: root creates the other local user")
def test_a_key_file_another_local_user_can_change_is_refused(tmp_path):
    """A real second user who could swap the key (owner, or group write) makes gatepass refuse it."""
    from tests.support.local_user import local_user, shared_dir

    with local_user() as other, shared_dir() as shared:
        key = Path(shared) / "app.pem"
        app_key(key, 0o620)
        os.chown(key, 0, other.gid)
        assert other.run(["sh", "-c", f"printf x >> {key}"], check=False).returncode == 0  # the attack is real
        with pytest.raises(SecretUnavailableError, match="open to other users"):
            github_app.read_private_key(str(key))
        os.chown(key, other.uid, other.gid)
        key.chmod(0o600)
        with pytest.raises(SecretUnavailableError, match="belongs to another user"):
            github_app.read_private_key(str(key))


def test_config_check_judges_the_key_file_and_api_url_without_calling_github(tmp_path, isolated_env):
    from click.testing import CliRunner

    from gatepass.cli.main import cli
    from tests.conftest import write_config

    good, loose = tmp_path / "good.pem", tmp_path / "loose.pem"
    app_key(good)
    app_key(loose, 0o644)
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[git_provider]]
domain = "github.com"
accounts = [{{ username = "a", github_app = {{ app_id = 1, private_key_file = "{good}" }} }},
            {{ username = "b", github_app = {{ app_id = 1, private_key_file = "{loose}" }} }},
            {{ username = "c", github_app = {{ app_id = 1, private_key_file = "{good}", api_url = "http://ghe.example" }} }}]
""")
    result = CliRunner().invoke(cli, ["config", "check"], catch_exceptions=False)
    assert result.exit_code == 1
    out = result.stdout + result.stderr
    assert "a@github.com" not in out and "b@github.com: private_key_file" in out and "chmod 600" in out
    assert "c@github.com: api_url must start with https://" in out and "PRIVATE KEY" not in out
