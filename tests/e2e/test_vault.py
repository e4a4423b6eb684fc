"""Secrets from a real OpenBao: git clone and registry pulls with the token only in the engine.

The server is ``bao server -dev`` (tests/support/openbao.py); logins are AppRole with a policy
per test, secrets are KV v2. Every test checks that the token never reaches stderr.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatepass.config.layers import load_config
from gatepass.engines import read_engine, vault_auth
from gatepass.errors import SecretUnavailableError
from tests.conftest import write_config
from tests.e2e.test_git import git
from tests.support.as_user import run_as
from tests.support.git_server import GitServer
from tests.support.openbao import OpenBao, approle_setup, openbao  # noqa: F401  (the fixture)
from tests.support.racy import cacheable
from tests.support.registry import Registry, missing_tools

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


class Fleet:
    """One test's slice of OpenBao: a KV path, a role reading it, a canary token stored there."""

    def __init__(self, bao: OpenBao, workdir: Path, token_ttl: str = "1h") -> None:
        self.bao, self.name = bao, unique("fleet")
        self.path = f"secret/data/{self.name}/github"
        self.canary = unique("canary-vault")
        bao.kv_put(f"{self.name}/github", token=self.canary)
        self.role_id, self.secret_file, self.accessor = approle_setup(
            bao, workdir, self.name, [f"secret/data/{self.name}/*"], token_ttl)

    def vault_table(self) -> str:
        return (f'[vault]\naddress = "{self.bao.address}"\nauth = "approle"\nrole_id = "{self.role_id}"\n'
                f'secret_id_file = "{self.secret_file}"\n')

    def account(self, username: str = "deploy", ttl: int = 300, field: str = "token") -> str:
        return f'{{ username = "{username}", vault = {{ path = "{self.path}", field = "{field}" }}, ttl = {ttl} }}'


def git_config(isolated_env, fleet: Fleet, domain: str, *accounts: str) -> Path:
    return write_config(isolated_env["GATEPASS_USER_CONFIG"], fleet.vault_table() +
                        f'[[git_provider]]\ndomain = "{domain}"\nhttps = false\naccounts = [{", ".join(accounts)}]\n')


def helper_get(host: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_as(["git-credential-gatepass", "get"], input=f"protocol=http\nhost={host}\n\n", capture_output=True,
                  text=True, timeout=60, env=env or dict(os.environ))


def answer_of(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


def account_of(isolated_env) -> object:
    config = load_config(dict(os.environ))
    assert not config.errors, config.errors
    return config.accounts[0], config.engines


def files_holding(root: Path, text: str) -> list[str]:
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                if text.encode() in open(path, "rb").read():
                    found.append(path)
            except OSError:
                pass
    return found


@pytest.mark.as_user
def test_git_clone_with_the_token_only_in_openbao(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    with GitServer(str(tmp_path / "srv"), {"deploy": fleet.canary}) as server:
        git_config(isolated_env, fleet, f"127.0.0.1:{server.port}", fleet.account())
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "clone"))
        assert server.users_seen() == {"deploy"}
        assert fleet.canary not in done.stderr
        assert fleet.canary not in (tmp_path / "clone" / ".git" / "config").read_text()
        # On disk only in the engine cache (0600), never in a config, the index or the parse cache.
        cache = Path(isolated_env["XDG_CACHE_HOME"]) / "gatepass" / "tokens"
        holders = files_holding(tmp_path, fleet.canary)
        assert holders and all(Path(p).parent == cache for p in holders), holders
        assert all(os.stat(p).st_mode & 0o777 == 0o600 for p in holders)
        answer = answer_of(helper_get(f"127.0.0.1:{server.port}"))
        assert answer["password"] == fleet.canary and 0 < int(answer["password_expiry_utc"]) - time.time() <= 300


@pytest.fixture(scope="module")
def registry():
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (Debian: docker-registry apache2-utils skopeo)")
    from tests.support.oci import seed_image

    password = unique("canary-registry")
    with Registry({"alice": password}) as reg, __import__("tempfile").TemporaryDirectory() as work:
        seed_image(os.path.join(work, "layout"), reg.host, "alice", password)
        reg.password = password  # type: ignore[attr-defined]
        yield reg


@pytest.mark.as_user
def test_registry_inspect_and_pull_through_the_docker_helper(openbao, registry, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    openbao.kv_put(f"{fleet.name}/github", token=registry.password)
    write_config(isolated_env["GATEPASS_USER_CONFIG"], fleet.vault_table() +
                 f'[[docker_registry]]\ndomain = "http://{registry.host}"\naccounts = [{fleet.account("alice")}]\n')
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"credHelpers": {registry.host: "gatepass"}}))
    env = dict(os.environ)
    flags = ["--authfile", str(authfile), "--tls-verify=false"]
    inspect = run_as(["skopeo", "inspect", *flags, f"docker://{registry.host}/team/hello:v1"], env=env,
                     capture_output=True, text=True, timeout=60)
    assert inspect.returncode == 0, inspect.stderr
    pull = run_as(["skopeo", "copy", "--authfile", str(authfile), "--src-tls-verify=false",
                   f"docker://{registry.host}/team/hello:v1", f"oci:{tmp_path}/pulled:v1"], env=env,
                  capture_output=True, text=True, timeout=60)
    assert pull.returncode == 0, pull.stderr
    assert registry.password not in inspect.stderr + pull.stderr
    got = run_as(["docker-credential-gatepass", "get"], input=registry.host, capture_output=True, text=True,
                 timeout=60, env=env)
    assert json.loads(got.stdout) == {"ServerURL": registry.host, "Username": "alice", "Secret": registry.password}


def test_rotation_is_seen_once_the_ttl_has_passed(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    git_config(isolated_env, fleet, "git.example", fleet.account(ttl=60))
    account, engines = account_of(isolated_env)
    start = time.time()
    clock = [start]
    assert read_engine(account, None, os.environ, engines, lambda: clock[0]).value == fleet.canary
    rotated = unique("canary-rotated")
    openbao.kv_put(f"{fleet.name}/github", token=rotated)
    clock[0] = start + 59  # within the ttl: the cached value, no call
    assert read_engine(account, None, os.environ, engines, lambda: clock[0]).value == fleet.canary
    clock[0] = start + 61
    secret = read_engine(account, None, os.environ, engines, lambda: clock[0])
    assert secret.value == rotated and secret.expiry >= int(start) + 60


def test_rotation_through_the_helper_with_a_short_ttl(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    git_config(isolated_env, fleet, "git.example", fleet.account(ttl=1))
    first = answer_of(helper_get("git.example"))
    rotated = unique("canary-rotated")
    openbao.kv_put(f"{fleet.name}/github", token=rotated)
    assert answer_of(helper_get("git.example"))["password"] in (fleet.canary, rotated)
    time.sleep(max(0.0, int(first["password_expiry_utc"]) - time.time()) + 0.05)
    assert answer_of(helper_get("git.example"))["password"] == rotated


def test_a_stopped_server_serves_the_cached_value_then_a_clear_error(tmp_path, isolated_env):
    with __import__("tempfile").TemporaryDirectory(prefix="gp-bao-") as work:
        own = OpenBao(work).start()
        try:
            own.enable_approle()
            fleet = Fleet(own, tmp_path)
            git_config(isolated_env, fleet, "git.example", fleet.account(ttl=30))
            assert answer_of(helper_get("git.example"))["password"] == fleet.canary
        finally:
            own.stop()
    done = helper_get("git.example")  # within the ttl: from the cache, no server needed
    assert answer_of(done)["password"] == fleet.canary and done.stderr == ""
    account, engines = account_of(isolated_env)
    with pytest.raises(SecretUnavailableError) as caught:
        read_engine(account, None, os.environ, engines, lambda: time.time() + 31)
    message = str(caught.value)
    assert "cannot be reached" in message and "\n" not in message and fleet.canary not in message


def test_nothing_cached_and_no_server_is_one_line_and_the_next_candidate_answers(tmp_path, isolated_env):
    from tests.support.openbao import free_port

    table = (f'[vault]\naddress = "http://127.0.0.1:{free_port()}"\nrole_id = "r"\n'
             f'secret_id_file = "{tmp_path}/none"\n')
    write_config(isolated_env["GATEPASS_USER_CONFIG"], table + '[[git_provider]]\ndomain = "git.example"\n'
                 'https = false\naccounts = [{ username = "deploy", vault = { path = "secret/data/x", field = "t" } },\n'
                 '  { username = "fallback", token = "tok-fallback" }]\n')
    (tmp_path / "none").write_text("sid\n")
    started = time.monotonic()
    done = helper_get("git.example")
    assert time.monotonic() - started < 10
    assert answer_of(done) == {"username": "fallback", "password": "tok-fallback"}
    [line] = done.stderr.splitlines()
    assert "account deploy@git.example: vault: http://127.0.0.1:" in line and "cannot be reached" in line


def test_a_revoked_secret_id_is_a_clear_login_error(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    openbao.revoke_secret_id(fleet.name, fleet.accessor)
    git_config(isolated_env, fleet, "git.example", fleet.account())
    done = helper_get("git.example")
    assert done.stdout == ""
    assert "AppRole login refused" in done.stderr and "secret_id revoked" in done.stderr
    assert fleet.canary not in done.stderr and fleet.secret_file.read_text().strip() not in done.stderr


def test_approle_enabled_at_another_path_is_reached_through_approle_mount(openbao, tmp_path, isolated_env):  # noqa: F811
    """`bao auth enable -path=ci/approle approle`: the login goes to auth/ci/approle/login; without the
    setting it goes to auth/approle/, where this role does not exist, and fails with a clear line."""
    mount = unique("ci") + "/approle"
    openbao.enable_approle(mount)
    fleet = Fleet(openbao, tmp_path)  # its role lives at auth/approle/
    name = unique("elsewhere")
    openbao.kv_put(f"{name}/github", token=fleet.canary)
    role_id, secret_file, _ = approle_setup(openbao, tmp_path, name, [f"secret/data/{name}/*"], mount=mount)
    account = f'{{ username = "deploy", vault = {{ path = "secret/data/{name}/github", field = "token" }} }}'
    table = (f'[vault]\naddress = "{openbao.address}"\nrole_id = "{role_id}"\nsecret_id_file = "{secret_file}"\n'
             f'MOUNT[[git_provider]]\ndomain = "git.example"\nhttps = false\naccounts = [{account}]\n')
    write_config(isolated_env["GATEPASS_USER_CONFIG"], table.replace("MOUNT", ""))
    refused = helper_get("git.example")
    assert refused.stdout == "" and "AppRole login" in refused.stderr and secret_file.read_text().strip() not in refused.stderr
    write_config(isolated_env["GATEPASS_USER_CONFIG"], table.replace("MOUNT", f'approle_mount = "{mount}"\n'))
    answer = answer_of(helper_get("git.example"))
    assert (answer["username"], answer["password"]) == ("deploy", fleet.canary)


@pytest.mark.parametrize("mount", ["/approle", "auth/approle/", "a//b", "a b"])
def test_a_malformed_approle_mount_is_a_config_error(isolated_env, mount):
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[vault]\naddress = "http://127.0.0.1:1"\nrole_id = "r"\n'
                 f'secret_id_file = "/dev/null"\napprole_mount = "{mount}"\n')
    config = load_config(dict(os.environ))
    assert any("approle_mount" in error and "like \"approle\"" in error for error in config.errors), config.errors


def test_a_policy_without_the_path_is_permission_denied(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    other = Fleet(openbao, tmp_path)  # other's role reads only other's path
    write_config(isolated_env["GATEPASS_USER_CONFIG"], other.vault_table() +
                 f'[[git_provider]]\ndomain = "git.example"\nhttps = false\naccounts = [{fleet.account()}]\n')
    done = helper_get("git.example")
    assert done.stdout == "" and f"permission denied reading {fleet.path}" in done.stderr
    assert fleet.canary not in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_missing_field_and_a_missing_path_are_named(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    git_config(isolated_env, fleet, "git.example", fleet.account(field="nope"))
    assert f"{fleet.path} has no field nope" in helper_get("git.example").stderr
    fleet.path += "-missing"
    git_config(isolated_env, fleet, "git.example", fleet.account())
    assert "not found" in helper_get("git.example").stderr


def test_the_login_token_is_cached_renewed_near_its_end_and_replaced_when_revoked(
        openbao, tmp_path, isolated_env, monkeypatch):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    git_config(isolated_env, fleet, "git.example", fleet.account(ttl=5))
    account, engines = account_of(isolated_env)
    logins = []
    real_login = vault_auth.Session._approle

    def counting(self):  # type: ignore[no-untyped-def]
        logins.append(1)
        return real_login(self)

    monkeypatch.setattr(vault_auth.Session, "_approle", counting)
    start = time.time()

    def read(offset: float) -> str:
        return read_engine(account, None, os.environ, engines, lambda: start + offset).value

    assert read(0) == fleet.canary and len(logins) == 1
    assert read(6) == fleet.canary and len(logins) == 1  # value expired, the cached login token read it again
    monkeypatch.setattr(vault_auth, "RENEW_FLOOR", 10**6)  # every cached token is now "near its end": renewed
    openbao.revoke_secret_id(fleet.name, fleet.accessor)  # so a new login would fail
    assert read(12) == fleet.canary and len(logins) == 1
    monkeypatch.setattr(vault_auth, "RENEW_FLOOR", 60)
    token = vault_auth.tokencache.get(os.environ, vault_auth.Session(vault_auth_found(engines), os.environ, 0).key)
    assert token is not None
    openbao.ok("POST", "auth/token/revoke", {"token": token[0]})
    new_secret, _ = openbao.secret_id(fleet.name)
    fleet.secret_file.write_text(new_secret + "\n")
    assert read(18) == fleet.canary and len(logins) == 2  # 403 with the cached token: logged in afresh


def vault_auth_found(engines: dict) -> dict[str, str]:  # type: ignore[type-arg]
    from gatepass.engines.vault import server

    return server(engines["vault"], os.environ)


def test_explain_config_check_and_doctor(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    git_config(isolated_env, fleet, "git.example", fleet.account())
    explain = subprocess.run(["gatepass", "explain", "http://git.example/x/y.git"], capture_output=True, text=True,
                             timeout=60)
    assert explain.returncode == 0, explain.stderr
    assert f"secret source: vault {fleet.path} field token" in explain.stdout
    assert fleet.canary not in explain.stdout + explain.stderr
    check = subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    doctor = subprocess.run(["gatepass", "doctor"], capture_output=True, text=True, timeout=60)
    text = doctor.stdout + doctor.stderr
    assert f"vault: logged in to {openbao.address} with approle" in text, text
    assert f"policies default, {fleet.name}" in text and fleet.canary not in text
    fleet.secret_file.chmod(0o000) if os.geteuid() else fleet.secret_file.unlink()
    check = subprocess.run(["gatepass", "config", "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and "[vault]: vault: secret_id_file" in check.stderr


def test_a_warm_get_imports_no_http_client_nor_json(openbao, tmp_path, isolated_env):  # noqa: F811
    fleet = Fleet(openbao, tmp_path)
    cacheable(git_config(isolated_env, fleet, "git.example", fleet.account()))  # the second run is warm
    heavy = ("json", "http.client", "urllib.request", "urllib.parse", "ssl", "hvac", "requests", "socket",
             "threading", "hashlib", "click", "keyring", "tomllib", "tomli")
    probe = ("import io, os, sys\nfrom gatepass.protocol import git\nout = io.BytesIO()\n"
             "git.main(['get'], io.BytesIO(b'protocol=http\\nhost=git.example\\n'), out, io.BytesIO(), os.environ)\n"
             "assert b'password=' in out.getvalue()\n"
             f"print(' '.join(m for m in {heavy!r} if m in sys.modules))\n")
    runs = [subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60,
                           check=True).stdout.strip() for _ in range(2)]
    assert "http.client" in runs[0]  # the miss fetched over HTTP
    assert runs[1] == ""


def test_tls_with_the_servers_ca_file_and_a_clear_error_without_it(tmp_path, isolated_env):
    with __import__("tempfile").TemporaryDirectory(prefix="gp-bao-tls-") as work:
        own = OpenBao(work, tls=True).start()
        try:
            own.enable_approle()
            fleet = Fleet(own, tmp_path)
            git_config(isolated_env, fleet, "git.example", fleet.account())
            done = helper_get("git.example")  # the system CAs do not know the dev server's CA
            assert done.stdout == "" and "CERTIFICATE_VERIFY_FAILED" in done.stderr
            assert fleet.canary not in done.stderr
            config = Path(isolated_env["GATEPASS_USER_CONFIG"])
            config.write_text(config.read_text().replace("[vault]\n", f'[vault]\nca_file = "{own.ca_file}"\n'))
            assert answer_of(helper_get("git.example"))["password"] == fleet.canary
            git_config(isolated_env, fleet, "git.example", fleet.account())  # no ca_file: VAULT_CACERT does it
            done = helper_get("git.example", dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cold"),
                                                  VAULT_CACERT=str(own.ca_file)))
            assert answer_of(done)["password"] == fleet.canary
        finally:
            own.stop()


@pytest.mark.as_user
def test_a_rotated_token_rejected_by_the_server_is_read_afresh_at_once(openbao, tmp_path, isolated_env):  # noqa: F811
    """Rotation before the ttl: the server rejects the cached value, git erases it, gatepass drops it
    from the engine cache, and the next clone reads the new value from OpenBao (no waiting out the ttl)."""
    fleet = Fleet(openbao, tmp_path)
    with GitServer(str(tmp_path / "srv"), {"deploy": fleet.canary}) as server:
        git_config(isolated_env, fleet, f"127.0.0.1:{server.port}", fleet.account(ttl=3600))
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "one"))
        rotated = unique("canary-rotated")
        openbao.kv_put(f"{fleet.name}/github", token=rotated)
        server.set_user("deploy", rotated)
        failed = git("clone", "-q", server.url + "repo.git", str(tmp_path / "two"), check=False)
        assert failed.returncode != 0 and "the next request reads it from the engine again" in failed.stderr
        assert fleet.canary not in failed.stderr and rotated not in failed.stderr
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "three"))


def test_a_non_kv2_engine_reads_data_field_and_its_lease_caps_the_ttl(openbao, tmp_path, isolated_env):  # noqa: F811
    """KV v1 answers ``data.FIELD`` with a lease: the secret's own ``ttl`` (30 s) comes back as
    lease_duration, shorter than the account's ttl (300 s), so the value expires with the lease."""
    status, answer = openbao.api("POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})
    assert status in (200, 204) or "path is already in use" in str(answer), answer
    fleet = Fleet(openbao, tmp_path)
    name = unique("v1")
    openbao.ok("POST", f"kv1/{name}", {"token": fleet.canary, "ttl": "30s"})
    openbao.policy(fleet.name, f'path "kv1/{name}" {{ capabilities = ["read"] }}')
    fleet.path = f"kv1/{name}"
    git_config(isolated_env, fleet, "git.example", fleet.account(ttl=300))
    before = time.time()
    answer = answer_of(helper_get("git.example"))
    assert answer["password"] == fleet.canary
    assert int(before) <= int(answer["password_expiry_utc"]) - 30 <= time.time()
