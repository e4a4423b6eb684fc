"""The engines framework: the one expiry-aware token cache, engine account schema, and read_engine."""

from __future__ import annotations

import os
import sys
import threading
import types

import pytest

from gatepass.config.layers import load_config
from gatepass.engines import read_engine, tokencache
from gatepass.errors import SecretUnavailableError
from tests.conftest import write_config

KEY = ("test", "https://vault.example", "secret/data/x", "token")


def env_of(isolated_env) -> dict[str, str]:
    return dict(os.environ)


def test_put_then_get_until_expiry_with_an_injected_clock(isolated_env):
    env, clock = env_of(isolated_env), [1_000_000.0]
    tokencache.put(env, KEY, "v1", 1_000_060, lambda: clock[0])
    assert tokencache.get(env, KEY, lambda: clock[0]) == ("v1", 1_000_060)
    clock[0] = 1_000_059.9
    assert tokencache.get(env, KEY, lambda: clock[0]) == ("v1", 1_000_060)
    clock[0] = 1_000_060
    assert tokencache.get(env, KEY, lambda: clock[0]) is None


def test_entries_are_private_files_in_a_private_directory_named_by_a_hash(isolated_env):
    env = env_of(isolated_env)
    tokencache.put(env, KEY, "secret-value", 2**40)
    path = tokencache.path_for(env, KEY)
    assert os.stat(path).st_mode & 0o777 == 0o600 and os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    assert "vault.example" not in path and "secret" not in os.path.basename(path)


@pytest.mark.parametrize("spoil", ["group-readable", "world-writable-dir", "symlink", "other-key", "garbage",
                                   "written-in-the-future"])
def test_an_untrusted_or_foreign_entry_is_a_miss(isolated_env, tmp_path, spoil):
    env = env_of(isolated_env)
    tokencache.put(env, KEY, "v1", 2**40)
    path = tokencache.path_for(env, KEY)
    if spoil == "group-readable":
        os.chmod(path, 0o640)
    elif spoil == "world-writable-dir":
        os.chmod(os.path.dirname(path), 0o777)
    elif spoil == "symlink":
        target = tmp_path / "elsewhere"
        os.rename(path, target)
        os.symlink(target, path)
    elif spoil == "other-key":  # an entry renamed onto another key's name never answers for it
        other = ("test", "other")
        tokencache.put(env, other, "v2", 2**40)
        os.replace(tokencache.path_for(env, other), path)
    elif spoil == "garbage":
        with open(path, "wb") as handle:
            handle.write(b"\x00not marshal")
    elif spoil == "written-in-the-future":
        tokencache.put(env, KEY, "v1", 2**40, lambda: 2**39)
    assert tokencache.get(env, KEY) is None


def test_put_prunes_expired_entries_and_never_caches_an_expired_value(isolated_env):
    env, clock = env_of(isolated_env), [1_000_000.0]
    tokencache.put(env, ("a",), "old", 1_000_010, lambda: clock[0])
    clock[0] += 20
    tokencache.put(env, ("b",), "new", 1_000_100, lambda: clock[0])
    tokencache.put(env, ("c",), "stale", 1_000_000, lambda: clock[0])
    names = [n for n in os.listdir(tokencache.directory(env)) if "." not in n]
    assert names == [os.path.basename(tokencache.path_for(env, ("b",)))]


def test_an_unusable_cache_directory_costs_only_the_cache(isolated_env, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    env = dict(env_of(isolated_env), XDG_CACHE_HOME=str(blocker))
    tokencache.put(env, KEY, "v", 2**40)
    assert tokencache.get(env, KEY) is None
    with tokencache.lock(env, KEY, 0.1):
        pass


def engine_config(tmp_path, spec: str, extra: str = "") -> str:
    return str(write_config(tmp_path / "c.toml", extra + '[[git_provider]]\naccounts = [{ username = "bot", '
                            + spec + " }]\n"))


def test_engine_accounts_carry_their_validated_spec_through_the_parse_cache(tmp_path, isolated_env):
    path = engine_config(tmp_path, 'vault = { path = "secret/data/git/github", field = "token" }, ttl = 60',
                         '[vault]\naddress = "https://v.example:8200"\nrole_id = "r"\nsecret_id_file = "/s"\n')
    env = dict(os.environ, GATEPASS_CONFIG=path)
    for _ in range(2):  # a parse, then the cache
        config = load_config(env, ["github.com"])
        [account] = config.accounts
        assert (account.secret_kind, account.secret_ref, account.ttl) == (
            "vault", {"path": "secret/data/git/github", "field": "token"}, 60)
        assert config.engines == {"vault": {"address": "https://v.example:8200", "role_id": "r", "secret_id_file": "/s"}}
        assert config.errors == []


def test_the_highest_layers_vault_table_wins_whole(tmp_path, isolated_env):
    low = write_config(tmp_path / "low.toml", '[vault]\naddress = "https://fleet:8200"\nrole_id = "r"\n'
                       'secret_id_file = "/s"\n')
    high = write_config(tmp_path / "high.toml", '[vault]\nauth = "token"\ntoken_file = "/t"\n')
    config = load_config(dict(os.environ, GATEPASS_CONFIG=f"{low}:{high}"))
    assert config.engines == {"vault": {"auth": "token", "token_file": "/t"}}


@pytest.mark.parametrize("spec, message", [
    ('vault = { path = "secret/data/x" }', "accounts[0].vault.field: is required"),
    ('vault = { path = "secret/data/x", field = "t", extra = "y" }', "vault.extra: unknown key"),
    ('vault = { path = "/secret/data/x", field = "t" }', "vault.path: is an API path"),
    ('vault = "secret/data/x"', "accounts[0].vault: must be a table"),
    ('vault = { path = "secret/data/x", field = "t" }, token = "x"', "give only one of token, vault"),
    ('token = "x", ttl = 5', "ttl only applies to token_command and engines"),
    ('github_app = { app_id = "12", private_key_file = "/k" }', "github_app.app_id: must be an integer"),
])
def test_engine_specs_are_validated_strictly_without_quoting_values(tmp_path, isolated_env, spec, message):
    config = load_config(dict(os.environ, GATEPASS_CONFIG=engine_config(tmp_path, spec)))
    assert config.accounts == [] and len(config.errors) == 1 and message in config.errors[0], config.errors


@pytest.mark.parametrize("table, message", [
    ('[vault]\nauth = "approle"\nrole_id = "r"\n', "vault.secret_id_file: is required"),
    ('[vault]\nauth = "ldap"\n', "vault.auth: must be"),
    ('[vault]\naddress = "vault:8200"\n', "vault.address: must start with https://"),
    ('[vault]\nrole_id = "r"\nsecret_id_file = "/s"\ntoken_file = "/t"\n', "vault.token_file: only applies"),
    ('vault = 3\n', "vault: must be a table"),
])
def test_the_vault_table_is_validated(tmp_path, isolated_env, table, message):
    """An invalid table is an error, and stands as that error for its accounts (never as no table)."""
    from gatepass.engines.specs import TABLE_ERROR

    config = load_config(dict(os.environ, GATEPASS_CONFIG=engine_config(tmp_path, 'token_env = "X"', table)))
    assert any(message in e for e in config.errors), config.errors
    assert list(config.engines["vault"]) == [TABLE_ERROR] and message in str(config.engines["vault"][TABLE_ERROR])


class FakeEngine:
    """An engine module stand-in: counts fetches, can block or fail."""

    def __init__(self) -> None:
        self.calls, self.fail, self.gate = 0, False, threading.Event()
        self.gate.set()

    def module(self) -> types.ModuleType:
        module = types.ModuleType("gatepass.engines.vault")
        module.SETTINGS_TABLE = "vault"  # type: ignore[attr-defined]
        module.cache_key = lambda account, request, env, settings: ("fake", str(settings.get("address")))  # type: ignore[attr-defined]
        module.fetch = self.fetch  # type: ignore[attr-defined]
        return module

    def fetch(self, account, request, env, *, settings):
        self.calls += 1
        self.gate.wait(10)
        if self.fail:
            raise SecretUnavailableError("vault: engine down")
        return f"value-{self.calls}", 2**40


@pytest.fixture
def fake_engine(monkeypatch, tmp_path, isolated_env):
    fake = FakeEngine()
    monkeypatch.setitem(sys.modules, "gatepass.engines.vault", fake.module())
    path = engine_config(tmp_path, 'vault = { path = "secret/data/x", field = "t" }')
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=path)).accounts
    return fake, account


def test_read_engine_fetches_once_then_answers_from_the_cache(fake_engine):
    fake, account = fake_engine
    settings = {"vault": {"address": "https://a"}}
    assert read_engine(account, None, os.environ, settings).value == "value-1"
    fake.fail = True  # the engine is down now: the cached value still answers
    secret = read_engine(account, None, os.environ, settings)
    assert (secret.value, secret.expiry, fake.calls) == ("value-1", 2**40, 1)
    with pytest.raises(SecretUnavailableError, match="engine down"):  # another server: another key, a miss
        read_engine(account, None, os.environ, {"vault": {"address": "https://b"}})


def test_parallel_misses_fetch_once(fake_engine):
    fake, account = fake_engine
    fake.gate.clear()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(read_engine(account, None, os.environ, {}).value))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    while fake.calls == 0:
        threading.Event().wait(0.01)
    fake.gate.set()
    for thread in threads:
        thread.join(20)
    assert results == ["value-1"] * 8 and fake.calls == 1


def test_read_secret_names_the_account_and_never_the_value(fake_engine):
    from gatepass.secret_sources import read_secret

    fake, account = fake_engine
    fake.fail = True
    with pytest.raises(SecretUnavailableError) as caught:
        read_secret(account, os.environ)
    assert str(caught.value).endswith("account bot@github.com: vault: engine down")


def test_another_users_planted_entry_is_ignored_and_nothing_is_cached_beside_it(fake_engine, monkeypatch):
    """A second local user creates the cache directory first (a shared sticky XDG_CACHE_HOME) and
    plants an entry under the right name: the victim fetches from the engine and caches nothing there."""
    import marshal

    from tests.support.local_user import local_user, shared_dir

    fake, account = fake_engine
    with local_user() as attacker, shared_dir(0o1777) as shared:
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(shared, "cache"))
        key = ("vault", "fake", "None")
        path = tokencache.path_for(env, key)
        forged = marshal.dumps((tokencache.FORMAT, key, "attacker-token", 2**40, 0))
        attacker.run(["mkdir", "-p", os.path.dirname(path)])
        attacker.run(["python3", "-c", f"open({path!r}, 'wb').write({forged!r})"])
        attacker.run(["chmod", "0600", path])
        assert read_engine(account, None, env, {}).value == "value-1"
        assert read_engine(account, None, env, {}).value == "value-2"  # nothing cached in the attacker's directory
        names = sorted(os.listdir(os.path.dirname(path)))
        assert names == [os.path.basename(path), os.path.basename(path) + ".lock"]  # no entry of ours
        assert open(path, "rb").read() == forged


def test_a_vault_table_others_could_change_is_ignored(tmp_path, isolated_env):
    """A group-writable file could point every user's AppRole login (and the host's secret_id) at
    another server: its [vault] table is dropped with a line saying the fix."""
    path = engine_config(tmp_path, 'vault = { path = "secret/data/x", field = "t" }',
                         '[vault]\naddress = "https://evil.example"\nrole_id = "r"\nsecret_id_file = "/s"\n')
    os.chmod(path, 0o664)
    config = load_config(dict(os.environ, GATEPASS_CONFIG=path))
    assert "vault" not in config.engines
    assert any("vault: is ignored: other users can write the file; run: chmod go-w" in e for e in config.errors)
