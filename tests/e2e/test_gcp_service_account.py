"""Google service-account access tokens: ``gcp_service_account = { key_file }`` on a registry account.

The token endpoint is a loopback stand-in (tests/support/google_oauth.py) that verifies each
assertion with PyJWT against the service account's public key; the push goes through Debian's
docker-registry with token auth, whose token server (tests/support/registry_token.py) accepts
``oauth2accesstoken`` + exactly the access tokens the endpoint minted, as GCR's does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatepass.config.layers import load_config
from gatepass.engines import read_engine
from gatepass.errors import SecretUnavailableError
from tests.conftest import write_config
from tests.e2e.test_vault import files_holding
from tests.support.as_user import run_as
from tests.support.google_oauth import CLOUD_PLATFORM, GoogleTokenEndpoint, ServiceAccount
from tests.support.racy import cacheable

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

REGISTRY = "europe-docker.pkg.dev"


@pytest.fixture(scope="module")
def account() -> ServiceAccount:
    return ServiceAccount()


def configure(isolated_env: dict[str, str], key_file: Path, domain: str = REGISTRY,
              username: str = "oauth2accesstoken") -> Path:
    return write_config(isolated_env["GATEPASS_USER_CONFIG"],
                        f'[[docker_registry]]\ndomain = "{domain}"\naccounts = [{{ username = "{username}", '
                        f'gcp_service_account = {{ key_file = "{key_file}" }} }}]\n')


def docker_helper(operation: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker-credential-gatepass", operation], input=stdin, capture_output=True, text=True,
                          timeout=60, env=env or dict(os.environ))


def key_material(account: ServiceAccount) -> list[str]:
    """Pieces of the private key that must never be printed: its base64 lines and its id."""
    lines = [line for line in account.private_pem.splitlines() if line and not line.startswith("-----")]
    return [*lines, account.key_id]


def test_the_docker_helper_answers_oauth2accesstoken_and_a_minted_token(account, tmp_path, isolated_env):
    minted: list[str] = []
    with GoogleTokenEndpoint(account, on_mint=minted.append) as google:
        configure(isolated_env, account.write_key(tmp_path / "key.json", google.url))
        done = docker_helper("get", REGISTRY)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout) == {"ServerURL": REGISTRY, "Username": "oauth2accesstoken", "Secret": minted[0]}
        [(status, verdict, claims)] = google.requests
        assert (status, verdict) == (200, "ok") and claims is not None
        assert claims["scope"] == CLOUD_PLATFORM and claims["iss"] == account.email and claims["aud"] == google.url
        assert 0 < claims["exp"] - claims["iat"] <= 3600
        again = docker_helper("get", REGISTRY)
        assert again.stdout == done.stdout and len(google.requests) == 1  # cached
        outputs = done.stdout + done.stderr + again.stderr
        assert not any(piece in outputs for piece in key_material(account))


def test_the_token_is_cached_until_five_minutes_before_expires_in(account, tmp_path, isolated_env):
    minted: list[str] = []
    with GoogleTokenEndpoint(account, on_mint=minted.append, lifetime=3600) as google:
        configure(isolated_env, account.write_key(tmp_path / "key.json", google.url))
        config = load_config(dict(os.environ))
        assert not config.errors, config.errors
        [acct] = config.accounts
        start = time.time()
        first = read_engine(acct, None, os.environ, config.engines, lambda: start)
        assert first.value == minted[0] and int(start) + 3300 - 2 <= first.expiry <= int(start) + 3300 + 2
        assert read_engine(acct, None, os.environ, config.engines, lambda: first.expiry - 1).value == minted[0]
        later = read_engine(acct, None, os.environ, config.engines, lambda: first.expiry + 1)
        assert later.value == minted[1] and len(google.requests) == 2


def test_list_shows_the_registry_without_a_call(account, tmp_path, isolated_env):
    with GoogleTokenEndpoint(account) as google:
        configure(isolated_env, account.write_key(tmp_path / "key.json", google.url))
        done = docker_helper("list")
        assert done.returncode == 0 and json.loads(done.stdout) == {REGISTRY: "oauth2accesstoken"}
        assert google.requests == []


def test_a_key_file_others_can_read_is_refused(account, tmp_path, isolated_env):
    with GoogleTokenEndpoint(account) as google:
        key = account.write_key(tmp_path / "key.json", google.url, mode=0o644)
        configure(isolated_env, key)
        done = docker_helper("get", REGISTRY)
        assert done.returncode == 1 and f"key_file {key} is open to other users; run: chmod 600 {key}" in done.stderr
        assert google.requests == [] and not any(piece in done.stdout + done.stderr for piece in key_material(account))
        check = subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60)
        assert check.returncode == 1 and "chmod 600" in check.stderr


def test_no_key_material_on_any_output_nor_in_any_file(account, tmp_path, isolated_env):
    with GoogleTokenEndpoint(account) as google:
        key = account.write_key(tmp_path / "key.json", google.url)
        configure(isolated_env, key)
        outputs = [docker_helper("get", REGISTRY), docker_helper("list"),
                   subprocess.run(["gatepass", "explain", "--docker", REGISTRY], capture_output=True, text=True, timeout=60),
                   subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60),
                   subprocess.run(["gatepass", "list"], capture_output=True, text=True, timeout=60)]
        text = "".join(done.stdout + done.stderr for done in outputs)
        assert not any(piece in text for piece in key_material(account))
        assert outputs[3].returncode == 0, outputs[3].stderr
        holders = {p for piece in key_material(account)[:3] for p in files_holding(tmp_path, piece)}
        assert holders == {str(key)}


def test_a_refused_assertion_and_an_unreachable_endpoint_are_one_line(account, tmp_path, isolated_env):
    from tests.support.openbao import free_port

    with GoogleTokenEndpoint(account) as google:
        google.refuse_with("Invalid grant: account not found")
        configure(isolated_env, account.write_key(tmp_path / "key.json", google.url))
        done = docker_helper("get", REGISTRY)
        [line] = done.stderr.splitlines()
        assert done.returncode == 1 and "refused the service-account assertion with HTTP 400" in line
        assert "account not found" in line
    configure(isolated_env, account.write_key(tmp_path / "key2.json", f"http://127.0.0.1:{free_port()}/token"))
    done = docker_helper("get", REGISTRY)
    assert done.returncode == 1 and "Google token endpoint" in done.stderr and "cannot be reached" in done.stderr


@pytest.mark.parametrize("uri", ["http://oauth2.example/token", "http://evil.test#@127.0.0.1/token",
                                 "https://user@oauth2.example/token"])
def test_a_token_uri_off_https_or_with_userinfo_is_refused(account, tmp_path, isolated_env, uri):
    configure(isolated_env, account.write_key(tmp_path / "key.json", uri))
    done = docker_helper("get", REGISTRY)
    assert done.returncode == 1 and "key_file: token_uri must" in done.stderr and "user@oauth2" not in done.stderr


def test_a_file_that_is_no_service_account_key_and_a_wrong_username_are_named(account, tmp_path, isolated_env):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "authorized_user", "refresh_token": "secret-refresh"}))
    other.chmod(0o600)
    configure(isolated_env, other)
    done = docker_helper("get", REGISTRY)
    assert "is not a service-account key" in done.stderr and "secret-refresh" not in done.stdout + done.stderr
    configure(isolated_env, account.write_key(tmp_path / "key.json", "https://oauth2.example/token"), username="me")
    check = subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and 'set username = "oauth2accesstoken"' in check.stderr
    config = load_config(dict(os.environ))
    with pytest.raises(SecretUnavailableError, match="oauth2accesstoken"):
        read_engine(config.accounts[0], None, os.environ, config.engines)


@pytest.mark.as_user
def test_skopeo_pushes_through_a_token_auth_registry_with_the_minted_token(account, tmp_path, isolated_env):
    """Debian's docker-registry with token auth; its token server takes oauth2accesstoken + what
    Google minted, as GCR does. skopeo gets the pair from the helper and pushes."""
    from tests.support.oci import build_image
    from tests.support.registry import Registry, skip_without_tools
    from tests.support.registry_token import RegistryTokenServer

    skip_without_tools()
    with RegistryTokenServer(tmp_path) as tokens, GoogleTokenEndpoint(account, on_mint=tokens.accept) as google, \
            Registry({}, auth=tokens.auth_block()) as registry:
        configure(isolated_env, account.write_key(tmp_path / "key.json", google.url), domain=f"http://{registry.host}")
        authfile = tmp_path / "auth.json"
        authfile.write_text(json.dumps({"credHelpers": {registry.host: "gatepass"}}))
        image = build_image(str(tmp_path / "layout"))
        push = run_as(["skopeo", "copy", "--authfile", str(authfile), "--dest-tls-verify=false", image,
                       f"docker://{registry.host}/team/hello:v1"], capture_output=True, text=True, timeout=120)
        assert push.returncode == 0, push.stderr
        assert len(google.requests) == 1
        assert any(user == "oauth2accesstoken" and ok and any("push" in s for s in scopes)
                   for user, ok, scopes in tokens.requests), tokens.requests
        inspect = run_as(["skopeo", "inspect", "--authfile", str(authfile), "--tls-verify=false",
                          f"docker://{registry.host}/team/hello:v1"], capture_output=True, text=True, timeout=60)
        assert inspect.returncode == 0, inspect.stderr
        refused = run_as(["skopeo", "inspect", "--creds", "oauth2accesstoken:ya29.not-minted",
                          "--tls-verify=false", f"docker://{registry.host}/team/hello:v1"],
                         capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0  # the registry really checks: an access token Google did not mint fails


@pytest.mark.root_only(reason="a multi-user attack: root creates the key's owner and the other user, who run the helper")
def test_as_unprivileged_users_a_key_is_used_by_its_owner_only(account, tmp_path):
    """A real user runs the docker helper with its own key file (0600, its own) and gets a token; a
    second user pointed at that file cannot open it, and a key file the second user planted where
    the first one's config points (readable by all) is refused for its owner, never used."""
    from tests.support.local_user import command_for, local_user, shared_dir

    with shared_dir() as shared, local_user() as owner, local_user() as other, GoogleTokenEndpoint(account) as google:
        key = Path(owner.home, "gar-pusher.json")
        account.write_key(key, google.url)
        os.chown(key, owner.uid, owner.gid)
        config = Path(shared, "config.toml")
        config.write_text(f'[[docker_registry]]\ndomain = "{REGISTRY}"\naccounts = [{{ username = "oauth2accesstoken", '
                          f'gcp_service_account = {{ key_file = "{key}" }} }}]\n')
        config.chmod(0o644)
        for user in (owner, other):
            done = user.run([*command_for(user, "docker-credential-gatepass"), "get"], input=REGISTRY, check=False,
                            env={"GATEPASS_CONFIG": str(config), "XDG_CACHE_HOME": f"{user.home}/.cache"})
            assert not any(piece in done.stdout + done.stderr for piece in key_material(account))
            if user is owner:
                assert json.loads(done.stdout)["Username"] == "oauth2accesstoken", done.stderr
            else:
                assert done.returncode == 1 and f"key_file {key} cannot be opened (Permission denied)" in done.stderr
        assert len(google.requests) == 1
        planted = Path(shared, "planted.json")
        account.write_key(planted, google.url, mode=0o644)
        os.chown(planted, other.uid, other.gid)
        config.write_text(config.read_text().replace(str(key), str(planted)))
        done = owner.run([*command_for(owner, "docker-credential-gatepass"), "get"], input=REGISTRY, check=False,
                         env={"GATEPASS_CONFIG": str(config), "XDG_CACHE_HOME": f"{owner.home}/.cache2"})
        assert done.returncode == 1 and f"belongs to another user (uid {other.uid})" in done.stderr
        assert len(google.requests) == 1


def test_a_warm_get_imports_neither_cryptography_nor_an_http_client(account, tmp_path, isolated_env):
    heavy = ("json", "http.client", "urllib.request", "urllib.parse", "ssl", "cryptography", "socket", "threading",
             "hashlib", "click", "keyring", "tomllib", "tomli", "gatepass.engines.jws", "gatepass.engines.httpjson")
    probe = ("import io, os, sys\nfrom gatepass.protocol import docker\nout = io.BytesIO()\n"
             f"docker.main(['get'], io.BytesIO({REGISTRY.encode()!r}), out, io.BytesIO(), os.environ)\n"
             "assert b'oauth2accesstoken' in out.getvalue(), out.getvalue()\n"
             f"print(' '.join(m for m in {heavy!r} if m in sys.modules))\n")
    with GoogleTokenEndpoint(account) as google:
        configure(isolated_env, account.write_key(tmp_path / "key.json", google.url))
        cacheable(Path(isolated_env["GATEPASS_USER_CONFIG"]))  # the second run is warm, whatever the load
        runs = [subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60,
                               check=True).stdout.strip() for _ in range(2)]
    assert "cryptography" in runs[0] and "http.client" in runs[0]  # the miss signed and posted
    assert runs[1] == ""


def test_one_account_answers_every_artifact_registry_location_and_gcr(account, tmp_path, isolated_env):
    """``*-docker.pkg.dev`` matches LOCATION-docker.pkg.dev only; ``*.gcr.io`` one label; never a look-alike."""
    minted: list[str] = []
    with GoogleTokenEndpoint(account, on_mint=minted.append) as google:
        key = account.write_key(tmp_path / "key.json", google.url)
        spec = f'accounts = [{{ username = "oauth2accesstoken", gcp_service_account = {{ key_file = "{key}" }} }}]\n'
        write_config(isolated_env["GATEPASS_USER_CONFIG"], "".join(
            f'[[docker_registry]]\ndomain = "{domain}"\n{spec}' for domain in ("*-docker.pkg.dev", "gcr.io", "*.gcr.io")))
        for host in ("europe-docker.pkg.dev", "us-central1-docker.pkg.dev", "gcr.io", "eu.gcr.io"):
            done = docker_helper("get", host)
            assert done.returncode == 0 and json.loads(done.stdout)["Secret"] == minted[0], (host, done.stderr)
        for host in ("docker.pkg.dev", "-docker.pkg.dev", "x.europe-docker.pkg.dev", "europe-docker.pkg.dev.evil.io",
                     "europe-docker.pkg.dev@evil.io", "evil-docker.pkg.dev.example", "a.b.gcr.io", "gcr.io.evil.io"):
            done = docker_helper("get", host)
            assert done.returncode == 1 and done.stdout == "credentials not found in native keychain\n", host
        assert len(google.requests) == 1
        assert json.loads(docker_helper("list").stdout) == {"gcr.io": "oauth2accesstoken"}  # patterns name no registry


def test_a_token_endpoint_redirect_never_carries_the_assertion_elsewhere(account, tmp_path, isolated_env):
    """307 keeps a POST's body: a client that followed it would hand the signed assertion (an hour of
    tokens) to the Location. gatepass follows no redirect and says so in one line."""
    from tests.support.hostile_http import Recorder, read_head, reply, serve

    with Recorder() as elsewhere:
        def redirect(conn) -> None:  # type: ignore[no-untyped-def]
            read_head(conn)
            conn.sendall(reply("307 Temporary Redirect", headers=f"Location: {elsewhere.url}/token\r\n".encode()))

        with serve(redirect) as endpoint:
            configure(isolated_env, account.write_key(tmp_path / "key.json", f"{endpoint}/token"))
            done = docker_helper("get", REGISTRY)
        assert elsewhere.heads == [], "the assertion went to the redirect's target"
    [line] = done.stderr.splitlines()
    assert done.returncode == 1 and "307" in line and "redirect" in line
