"""``[vault] auth = "jwt"`` against a real OpenBao: identity tokens from a file, a variable, or GitHub Actions.

OpenBao's jwt method is configured with ``jwt_validation_pubkeys`` (the test issuer's RSA key) and
``bound_issuer``; the role has ``bound_audiences`` and ``bound_claims`` (``repository``). JWTs are
RS256, made by the tests with PyJWT (tests/support/actions_oidc.py); the Actions case requests them
from a loopback endpoint shaped like the runner's, which checks the bearer and the audience.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from gatepass.config.layers import load_config
from tests.conftest import write_config
from tests.e2e.test_vault import answer_of, files_holding, helper_get, unique
from tests.support.actions_oidc import ISSUER, ActionsOIDC, Issuer
from tests.support.openbao import OpenBao, openbao  # noqa: F401  (the fixture)
from tests.support.racy import cacheable

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

AUDIENCE = "https://vault.example"


class JwtRole:
    """One test's slice of OpenBao: a jwt mount trusting ``issuer``, a role bound to acme/app, a KV secret."""

    def __init__(self, bao: OpenBao, issuer: Issuer, repository: str = "acme/app", token_ttl: str = "1h") -> None:
        self.bao, self.issuer, self.name = bao, issuer, unique("ci")
        self.mount = unique("jwt")
        self.path = f"secret/data/{self.name}/github"
        self.canary = unique("canary-jwt")
        bao.kv_put(f"{self.name}/github", token=self.canary)
        bao.policy(self.name, f'path "secret/data/{self.name}/*" {{ capabilities = ["read"] }}\n'
                              'path "auth/token/lookup-self" { capabilities = ["read"] }\n')
        bao.ok("POST", f"sys/auth/{self.mount}", {"type": "jwt"})
        bao.ok("POST", f"auth/{self.mount}/config", {"jwt_validation_pubkeys": [issuer.public_pem],
                                                       "bound_issuer": ISSUER})
        bao.ok("POST", f"auth/{self.mount}/role/{self.name}", {
            "role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUDIENCE],
            "bound_claims": {"repository": repository}, "token_policies": [self.name], "token_ttl": token_ttl})

    def table(self, source: str) -> str:
        return (f'[vault]\naddress = "{self.bao.address}"\nauth = "jwt"\nrole = "{self.name}"\n'
                f'jwt_mount = "{self.mount}"\n{source}\n')

    def config(self, isolated_env: dict[str, str], source: str, ttl: int = 300) -> Path:
        account = f'{{ username = "deploy", vault = {{ path = "{self.path}", field = "token" }}, ttl = {ttl} }}'
        return write_config(isolated_env["GATEPASS_USER_CONFIG"], self.table(source) +
                            f'[[git_provider]]\ndomain = "git.example"\nhttps = false\naccounts = [{account}]\n')


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


def jwt_file(tmp_path: Path, token: str, name: str = "vault.jwt") -> Path:
    path = tmp_path / name
    path.write_text(token)
    path.chmod(0o600)
    return path


def no_trace_of(token: str, isolated_env: dict[str, str], *outputs: str) -> None:
    """The JWT is never printed and never written by gatepass (it is not cached: only what it yields)."""
    assert all(token not in text for text in outputs)
    home = Path(isolated_env["HOME"])
    assert files_holding(home, token) == []


def test_a_jwt_file_logs_in_and_the_secret_answers(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    token = issuer.token(AUDIENCE)
    role.config(isolated_env, f'jwt_file = "{jwt_file(tmp_path, token)}"')
    done = helper_get("git.example")
    assert answer_of(done)["password"] == role.canary and done.stderr == ""
    no_trace_of(token, isolated_env, done.stdout, done.stderr)


def test_a_jwt_from_a_variable_logs_in(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    token = issuer.token(AUDIENCE)
    role.config(isolated_env, 'jwt_env = "VAULT_ID_TOKEN"')
    done = helper_get("git.example", dict(os.environ, VAULT_ID_TOKEN=token))
    assert answer_of(done)["password"] == role.canary and done.stderr == ""
    no_trace_of(token, isolated_env, done.stdout, done.stderr)
    unset = helper_get("git.example", dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cold")))
    assert unset.stdout == "" and "jwt_env VAULT_ID_TOKEN is not set" in unset.stderr


def test_github_actions_requests_a_token_for_the_audience_with_the_jobs_bearer(openbao, issuer, tmp_path,  # noqa: F811
                                                                                 isolated_env):
    role = JwtRole(openbao, issuer)
    role.config(isolated_env, f'jwt_source = "github-actions"\naudience = "{AUDIENCE}"')
    with ActionsOIDC(issuer, "acme/app") as oidc:
        env = dict(os.environ, **oidc.env)
        done = helper_get("git.example", env)
        assert answer_of(done)["password"] == role.canary and done.stderr == ""
        assert [(bearer, audience) for _, bearer, audience in oidc.requests] == [("request-token-of-the-job", AUDIENCE)]
        assert helper_get("git.example", env).stdout == done.stdout  # cached: no second request
        assert len(oidc.requests) == 1
        wrong = dict(env, ACTIONS_ID_TOKEN_REQUEST_TOKEN="another-job", XDG_CACHE_HOME=str(tmp_path / "cold"))
        refused = helper_get("git.example", wrong)
        assert refused.stdout == "" and len(refused.stderr.splitlines()) == 1
        assert "GitHub Actions OIDC endpoint answered HTTP 401" in refused.stderr
        assert "another-job" not in refused.stderr
    missing = helper_get("git.example", dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cold2")))
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" in missing.stderr and "id-token: write" in missing.stderr


def test_the_actions_endpoint_down_is_one_line(issuer, tmp_path, isolated_env):
    from tests.support.openbao import free_port

    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 f'[vault]\naddress = "http://127.0.0.1:{free_port()}"\nauth = "jwt"\nrole = "ci"\n'
                 f'jwt_source = "github-actions"\naudience = "{AUDIENCE}"\n'
                 '[[git_provider]]\ndomain = "git.example"\nhttps = false\n'
                 'accounts = [{ username = "deploy", vault = { path = "secret/data/x", field = "t" } }]\n')
    env = dict(os.environ, ACTIONS_ID_TOKEN_REQUEST_URL=f"http://127.0.0.1:{free_port()}/idtoken?api-version=2.0",
               ACTIONS_ID_TOKEN_REQUEST_TOKEN="tok")
    done = helper_get("git.example", env)
    [line] = done.stderr.splitlines()
    assert "the GitHub Actions OIDC endpoint failed" in line and "cannot be reached" in line
    https_only = dict(env, ACTIONS_ID_TOKEN_REQUEST_URL="http://actions.example/idtoken?api-version=2.0")
    assert "must start with https://" in helper_get("git.example", https_only).stderr


def test_another_repositorys_jwt_is_refused_naming_the_role(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    token = issuer.token(AUDIENCE, repository="acme/other")
    role.config(isolated_env, f'jwt_file = "{jwt_file(tmp_path, token)}"')
    done = helper_get("git.example")
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert f"role {role.name} refused the JWT" in done.stderr and "do not match" in done.stderr
    no_trace_of(token, isolated_env, done.stderr)


def test_a_runner_reusing_its_cache_never_answers_another_repositorys_job(openbao, issuer, tmp_path,  # noqa: F811
                                                                          isolated_env):
    """One user, one cache, two jobs: the second job's JWT (another repository) must reach Vault and
    be refused there, not be answered from the first job's cached login or value."""
    role = JwtRole(openbao, issuer)
    role.config(isolated_env, 'jwt_env = "VAULT_ID_TOKEN"')
    first = helper_get("git.example", dict(os.environ, VAULT_ID_TOKEN=issuer.token(AUDIENCE)))
    assert answer_of(first)["password"] == role.canary
    second = helper_get("git.example", dict(os.environ, VAULT_ID_TOKEN=issuer.token(AUDIENCE, repository="acme/other")))
    assert second.stdout == "" and f"role {role.name} refused the JWT" in second.stderr
    path = jwt_file(tmp_path, issuer.token(AUDIENCE))
    role.config(isolated_env, f'jwt_file = "{path}"')
    assert answer_of(helper_get("git.example"))["password"] == role.canary
    path.write_text(issuer.token(AUDIENCE, repository="acme/other", lifetime=301))  # the next job's file
    assert f"role {role.name} refused the JWT" in helper_get("git.example").stderr


def test_an_expired_jwt_says_it_expired(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    token = issuer.token(AUDIENCE, issued=time.time() - 7200, lifetime=600)
    role.config(isolated_env, f'jwt_file = "{jwt_file(tmp_path, token)}"')
    done = helper_get("git.example")
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert "has expired" in done.stderr and role.name in done.stderr
    no_trace_of(token, isolated_env, done.stderr)


def test_a_jwt_signed_by_another_key_is_refused(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    token = Issuer().token(AUDIENCE)
    role.config(isolated_env, f'jwt_file = "{jwt_file(tmp_path, token)}"')
    done = helper_get("git.example")
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert f"role {role.name} refused the JWT" in done.stderr and "signature" in done.stderr
    no_trace_of(token, isolated_env, done.stderr)


def test_a_file_that_holds_no_jwt_is_named_without_its_content(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    role.config(isolated_env, f'jwt_file = "{jwt_file(tmp_path, "not a jwt at all")}"')
    done = helper_get("git.example")
    assert "does not hold a JWT" in done.stderr and "not a jwt at all" not in done.stderr


def test_a_stopped_server_serves_the_cached_value(issuer, tmp_path, isolated_env):
    with tempfile.TemporaryDirectory(prefix="gp-bao-") as work:
        own = OpenBao(work).start()
        try:
            role = JwtRole(own, issuer)
            role.config(isolated_env, f'jwt_file = "{jwt_file(tmp_path, issuer.token(AUDIENCE))}"', ttl=60)
            assert answer_of(helper_get("git.example"))["password"] == role.canary
        finally:
            own.stop()
    done = helper_get("git.example")  # within the ttl: from the cache, no server and no JWT needed
    assert answer_of(done)["password"] == role.canary and done.stderr == ""


def test_the_login_token_is_reused_after_the_value_expires(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    """Like AppRole's: a value read again (its ttl passed) uses the cached Vault token, no new JWT."""
    role = JwtRole(openbao, issuer)
    role.config(isolated_env, f'jwt_source = "github-actions"\naudience = "{AUDIENCE}"', ttl=1)
    with ActionsOIDC(issuer, "acme/app") as oidc:
        env = dict(os.environ, **oidc.env)
        first = answer_of(helper_get("git.example", env))
        time.sleep(max(0.0, int(first["password_expiry_utc"]) - time.time()) + 0.05)
        assert answer_of(helper_get("git.example", env))["password"] == role.canary
        assert len(oidc.requests) == 1


@pytest.mark.parametrize(("table", "message"), [
    ('auth = "jwt"\njwt_file = "/x"\n', "role: is required"),
    ('auth = "jwt"\nrole = "ci"\n', "give exactly one of jwt_file, jwt_env, jwt_source"),
    ('auth = "jwt"\nrole = "ci"\njwt_file = "/x"\njwt_env = "X"\n', "give exactly one of"),
    ('auth = "jwt"\nrole = "ci"\njwt_source = "gitlab"\n', 'must be "github-actions"'),
    ('auth = "jwt"\nrole = "ci"\njwt_source = "github-actions"\n', "audience: is required"),
    ('auth = "jwt"\nrole = "ci"\njwt_file = "/x"\naudience = "a"\n', "audience: only applies to jwt_source"),
    ('role_id = "r"\nsecret_id_file = "/x"\nrole = "ci"\n', 'role: only applies to auth = "jwt"'),
    ('auth = "jwt"\nrole = "ci"\njwt_file = "/x"\njwt_mount = "/jwt"\n', "jwt_mount: is the path"),
])
def test_jwt_settings_are_checked(isolated_env, table, message):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[vault]\naddress = "http://127.0.0.1:1"\n{table}')
    config = load_config(dict(os.environ))
    assert any(message in str(error) for error in config.errors), config.errors


def test_config_check_and_doctor(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    token = issuer.token(AUDIENCE)
    role.config(isolated_env, f'jwt_file = "{jwt_file(tmp_path, token)}"')
    check = subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    doctor = subprocess.run(["gatepass", "doctor"], capture_output=True, text=True, timeout=60)
    text = doctor.stdout + doctor.stderr
    assert f"vault: logged in to {openbao.address} with jwt" in text and role.name in text, text
    no_trace_of(token, isolated_env, text)
    role.config(isolated_env, 'jwt_env = "VAULT_ID_TOKEN"')
    check = subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and "VAULT_ID_TOKEN is not set" in check.stderr


def test_a_warm_get_reads_no_jwt_and_imports_no_http_client(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    path = jwt_file(tmp_path, issuer.token(AUDIENCE))
    role.config(isolated_env, f'jwt_file = "{path}"')
    cacheable(Path(isolated_env["GATEPASS_USER_CONFIG"]))  # the second run is warm
    # vault_auth holds the environment names the warm cache key needs (no HTTP at its top); httpjson must not load
    heavy = ("json", "http.client", "urllib.parse", "ssl", "socket", "threading", "hashlib", "cryptography",
             "gatepass.engines.httpjson", "gatepass.engines.urls")
    probe = ("import io, os, sys\nfrom gatepass.protocol import git\nout = io.BytesIO()\n"
             "git.main(['get'], io.BytesIO(b'protocol=http\\nhost=git.example\\n'), out, io.BytesIO(), os.environ)\n"
             "assert b'password=' in out.getvalue()\n"
             f"print(' '.join(m for m in {heavy!r} if m in sys.modules))\n")
    first = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "http.client" in first.stdout
    # The warm get must not open the JWT file (one stat names it in the cache key): a spy on posix.open.
    opened = subprocess.run([sys.executable, "-I", "-c", "import posix\nreal = posix.open\n"
                             f"def spy(p, *a, **k):\n    assert str(p) != {str(path)!r}, 'the JWT was read'\n"
                             "    return real(p, *a, **k)\nposix.open = spy\n" + probe],
                            capture_output=True, text=True, timeout=60)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == ""


@pytest.mark.root_only(reason="root creates the unprivileged user and the shared directory it runs from")
def test_as_an_unprivileged_user_the_jwt_logs_in_and_only_its_yield_is_cached(openbao, issuer, tmp_path):  # noqa: F811
    from tests.support.local_user import command_for, local_user, shared_dir

    role = JwtRole(openbao, issuer)
    token = issuer.token(AUDIENCE)
    with shared_dir() as shared, local_user() as user:
        config = Path(shared, "config.toml")
        config.write_text(role.table('jwt_env = "VAULT_ID_TOKEN"') + '[[git_provider]]\ndomain = "git.example"\n'
                          f'https = false\naccounts = [{{ username = "deploy", vault = {{ path = "{role.path}", '
                          'field = "token" } }]\n')
        config.chmod(0o644)
        env = {"GATEPASS_CONFIG": str(config), "XDG_CACHE_HOME": f"{user.home}/.cache", "VAULT_ID_TOKEN": token}
        done = user.run([*command_for(user, "git-credential-gatepass"), "get"], env=env, check=False,
                        input="protocol=http\nhost=git.example\n\n")
        assert f"password={role.canary}\n" in done.stdout, done.stderr
        cache = Path(user.home, ".cache", "gatepass", "tokens")
        entries = list(cache.iterdir())
        assert entries and all(p.stat().st_uid == user.uid and p.stat().st_mode & 0o077 == 0 for p in entries)
        assert files_holding(Path(user.home), token) == [] and files_holding(Path(shared), token) == []


@pytest.mark.as_user
def test_git_clones_with_a_projected_token_and_nothing_long_lived_on_disk(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    from tests.e2e.test_git import git
    from tests.support.git_server import GitServer

    role = JwtRole(openbao, issuer)
    token = issuer.token(AUDIENCE)
    path = jwt_file(tmp_path, token, "projected-token")
    with GitServer(str(tmp_path / "srv"), {"deploy": role.canary}) as server:
        account = f'{{ username = "deploy", vault = {{ path = "{role.path}", field = "token" }} }}'
        write_config(isolated_env["GATEPASS_USER_CONFIG"], role.table(f'jwt_file = "{path}"') +
                     f'[[git_provider]]\ndomain = "127.0.0.1:{server.port}"\nhttps = false\naccounts = [{account}]\n')
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "clone"))
        assert server.users_seen() == {"deploy"}
        assert role.canary not in done.stderr and token not in done.stderr
        assert files_holding(tmp_path, token) == [str(path)]  # the JWT only where the kubelet put it


def test_an_actions_endpoint_redirect_never_carries_the_request_token_elsewhere(issuer, tmp_path, isolated_env):
    from tests.support.hostile_http import Recorder, read_head, reply, serve
    from tests.support.openbao import free_port

    write_config(isolated_env["GATEPASS_USER_CONFIG"],
                 f'[vault]\naddress = "http://127.0.0.1:{free_port()}"\nauth = "jwt"\nrole = "ci"\n'
                 f'jwt_source = "github-actions"\naudience = "{AUDIENCE}"\n'
                 '[[git_provider]]\ndomain = "git.example"\nhttps = false\n'
                 'accounts = [{ username = "deploy", vault = { path = "secret/data/x", field = "t" } }]\n')
    with Recorder() as elsewhere:
        def redirect(conn) -> None:  # type: ignore[no-untyped-def]
            read_head(conn)
            conn.sendall(reply("302 Found", headers=f"Location: {elsewhere.url}/idtoken\r\n".encode()))

        with serve(redirect) as endpoint:
            env = dict(os.environ, ACTIONS_ID_TOKEN_REQUEST_URL=f"{endpoint}/idtoken?api-version=2.0",
                       ACTIONS_ID_TOKEN_REQUEST_TOKEN="job-request-token")
            done = helper_get("git.example", env)
        assert elsewhere.heads == []
    [line] = done.stderr.splitlines()
    assert "302" in line and "redirect" in line and "job-request-token" not in line


def test_a_missing_role_and_a_wrong_mount_are_named(openbao, issuer, tmp_path, isolated_env):  # noqa: F811
    role = JwtRole(openbao, issuer)
    path = jwt_file(tmp_path, issuer.token(AUDIENCE))
    real = role.name
    role.name = "nosuchrole"
    role.config(isolated_env, f'jwt_file = "{path}"')
    done = helper_get("git.example")
    assert f"role nosuchrole does not exist at auth/{role.mount}" in done.stderr
    role.name, role.mount = real, "nosuchmount"
    role.config(isolated_env, f'jwt_file = "{path}"')
    done = helper_get("git.example")
    assert "nothing answers a jwt login at auth/nosuchmount" in done.stderr and "check jwt_mount" in done.stderr
