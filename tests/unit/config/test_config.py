"""Config layers in Komodo's format: discovery, precedence, strict validation, errors with file:line:key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatepass.config.layers import layer_files, load_config
from tests.conftest import write_config
from tests.support.racy import cacheable

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def load(**env: str):
    return load_config(dict(os.environ, **env))


def test_layers_in_order_with_host_dropins(isolated_env, tmp_path):
    etc = tmp_path / "etc"
    for name in ("b.toml", "a.toml", ".hidden.toml", "notes.txt"):
        write_config(etc / "host.d" / name, "")
    files = [(layer, Path(path).name) for layer, _, path in layer_files(os.environ)]
    assert files == [("global", "global.toml"), ("host", "host.toml"), ("host", "a.toml"), ("host", "b.toml"),
                     ("user", "config.toml")]


def test_default_paths_follow_xdg(tmp_path):
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "/x"}
    assert [p for _, _, p in layer_files(env)] == ["/etc/gatepass/global.toml", "/etc/gatepass/host.toml",
                                                   "/x/gatepass/config.toml"]


def test_gatepass_config_replaces_the_file_layers(tmp_path):
    from gatepass.model import LAYER_RANK

    files = layer_files({"GATEPASS_CONFIG": f"{tmp_path}/a.toml:{tmp_path}/b.toml"})
    base = LAYER_RANK["config"]
    assert [(layer, rank) for layer, rank, _ in files] == [("config", base), ("config", base + 1)]


def test_the_file_layers_come_in_the_one_layer_order_and_rank_by_it(tmp_path):
    from gatepass.model import LAYER_RANK, LAYERS

    (tmp_path / "host.d").mkdir()
    (tmp_path / "host.d" / "10-a.toml").write_text("")
    env = {"GATEPASS_GLOBAL_CONFIG": "/g.toml", "GATEPASS_HOST_CONFIG": f"{tmp_path}/host.toml",
           "GATEPASS_USER_CONFIG": "/u.toml"}
    files = layer_files(env)
    assert [layer for layer, _, _ in files] == ["global", "host", "host", "user"]
    assert [rank for _, rank, _ in files] == sorted(rank for _, rank, _ in files)
    assert [LAYERS.index(layer) for layer, _, _ in files] == sorted(LAYERS.index(layer) for layer, _, _ in files)
    assert all(rank == LAYER_RANK[layer] for layer, rank, _ in files)
    assert LAYER_RANK["environment"] < LAYER_RANK["global"] < LAYER_RANK["user"] < LAYER_RANK["store"]


def test_the_last_of_many_gatepass_config_files_still_ranks_below_the_store(tmp_path):
    """Each GATEPASS_CONFIG file ranks above the one before it; an eleventh one once outranked stored entries."""
    from gatepass.model import LAYER_RANK

    files = layer_files({"GATEPASS_CONFIG": ":".join(f"{tmp_path}/{i}.toml" for i in range(12))})
    ranks = [rank for _, rank, _ in files]
    assert ranks == sorted(set(ranks)) and ranks[-1] < LAYER_RANK["store"]


def test_missing_files_are_not_errors():
    config = load()
    assert config.accounts == [] and config.errors == []


@pytest.mark.parametrize("name", ["komodo_core.toml", "komodo_periphery.toml"])
def test_komodo_configs_load_unchanged(tmp_path, name):
    path = write_config(tmp_path / name, (FIXTURES / name).read_text())
    config = load(GATEPASS_CONFIG=str(path))
    assert config.errors == []
    kinds = {(a.kind, a.host, a.username) for a in config.accounts}
    assert ("git", "github.com", "mbecker20") in kinds and ("docker", "docker.io", "mbecker2020") in kinds
    assert ("git", "localhost", "mbecker20") in kinds
    dockerhub = [a for a in config.accounts if a.kind == "docker" and a.host == "docker.io"]
    assert dockerhub[0].organizations == ("DockerhubOrganization",)  # as written; matched case-insensitively


def test_provenance_file_and_line(tmp_path):
    path = write_config(tmp_path / "c.toml", '# comment\n[[git_provider]]\ndomain = "a.com"\naccounts = [\n'
                        '  { username = "one", token = "t" },\n  { username = "two", token_env = "X" },\n]\n')
    accounts = load(GATEPASS_CONFIG=str(path)).accounts
    assert [(a.username, a.file, a.line_number(), a.secret_kind) for a in accounts] == [
        ("one", str(path), 5, "inline"), ("two", str(path), 6, "env")]


@pytest.mark.parametrize("body, where, words", [
    ('[[git_provider]]\ndomain = "a.com"\naccounts = [{ username = "u", tokn = "SECRETVALUE" }]\n',
     ":3: git_provider[0].accounts[0].tokn", "unknown key"),
    ('[[git_provider]]\ndomain = "a.com"\nhttps = "yes"\n', ":3: git_provider[0].https", "true or false"),
    ('[[git_provider]]\ndomain = "https://a.com"\n', ":2: git_provider[0].domain", "no scheme"),
    ('[[git_provider]]\ndomain = "a.com"\nsecret_sauce = 1\n', ":3: git_provider[0].secret_sauce", "unknown key"),
    ('[[git_provider]]\ndomain = "a.com"\naccounts = [{ username = "u", token = "SECRETVALUE" },\n'
     '  { username = "u", token = "SECRETVALUE2" }]\n', ":4: git_provider[0].accounts[1]", "repeats the username"),
    ('[[git_provider]]\ndomain = "a.com"\naccounts = [{ username = "u", token = "SECRETVALUE", token_env = "E" }]\n',
     "git_provider[0].accounts[0]", "only one of"),
    ('[[docker_registry]]\ndomain = "r.io"\nhttps = false\n', ":3: docker_registry[0].https", "unknown key"),
    ('x = 1\n[[git_provider]\ndomain = "SECRETVALUE"\n', ":2:", "TOML syntax error"),
    ('token = "SECRETVALUE\n', ":1:", "TOML syntax error"),
])
def test_errors_name_file_line_key_never_value(tmp_path, body, where, words):
    path = write_config(tmp_path / "bad.toml", body)
    config = load(GATEPASS_CONFIG=str(path))
    assert len(config.errors) == 1, config.errors
    assert config.errors[0].startswith(str(path)) and where in config.errors[0] and words in config.errors[0]
    assert "SECRETVALUE" not in config.errors[0]


def test_broken_file_does_not_hide_other_layers(isolated_env, tmp_path):
    write_config(tmp_path / "etc" / "host.d" / "10-typo.toml", "[[git_provider]\n")
    write_config(tmp_path / "etc" / "global.toml", '[[git_provider]]\naccounts=[{username="g", token="t"}]\n')
    config = load()
    assert [a.username for a in config.accounts] == ["g"]
    assert len(config.errors) == 1 and "10-typo.toml:1" in config.errors[0]


def test_bad_account_is_skipped_and_its_neighbours_kept(tmp_path):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "a", token = "t" },'
                        ' { username = 5 }, { username = "c", token = "t" }]\n')
    config = load(GATEPASS_CONFIG=str(path))
    assert [a.username for a in config.accounts] == ["a", "c"] and len(config.errors) == 1


def test_world_readable_file_with_tokens_is_refused_with_the_chmod_to_run(tmp_path):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n', 0o644)
    config = load(GATEPASS_CONFIG=str(path))
    assert f"chmod 600 {path} (or 640 to share it with its group)" in config.errors[0]
    assert [(a.username, bool(a.untrusted)) for a in config.accounts] == [("a", True)]  # listed, gives no secret
    path.chmod(0o640)  # group-readable is fine for a fleet file shared through a group
    assert [(a.username, a.untrusted) for a in load(GATEPASS_CONFIG=str(path)).accounts] == [("a", "")]


def test_world_readable_file_without_inline_tokens_is_fine(tmp_path):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token_env="T"}]\n', 0o644)
    assert [a.username for a in load(GATEPASS_CONFIG=str(path)).accounts] == ["a"]


def test_docker_registry_aliases_and_insecure_domains(tmp_path):
    path = write_config(tmp_path / "c.toml", '[[image_registry]]\naccounts=[{username="hub", token="t"}]\n'
                        '[[docker_registries]]\ndomain="http://127.0.0.1:5000"\naccounts=[{username="l", token="t"}]\n'
                        '[[docker_registry]]\ndomain="index.docker.io"\naccounts=[{username="idx", token="t"}]\n')
    accounts = load(GATEPASS_CONFIG=str(path)).accounts
    got = sorted((a.username, a.host, a.port, a.secure) for a in accounts)
    assert got == [("hub", "docker.io", None, True), ("idx", "docker.io", None, True), ("l", "127.0.0.1", 5000, False)]


def test_cache_is_used_and_invalidated_by_a_change(tmp_path, isolated_env):
    path = cacheable(write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n'))
    assert [a.username for a in load(GATEPASS_CONFIG=str(path)).accounts] == ["a"]
    cache_dir = Path(isolated_env["XDG_CACHE_HOME"]) / "gatepass"
    [cached] = [p for p in cache_dir.iterdir() if p.suffix == ".cache"]  # beside it: the parse lock
    assert oct(cached.stat().st_mode & 0o777) == "0o600" and oct(cache_dir.stat().st_mode & 0o777) == "0o700"
    write_config(path, '[[git_provider]]\naccounts=[{username="bb", token="t"}]\n')
    assert [a.username for a in load(GATEPASS_CONFIG=str(path)).accounts] == ["bb"]


def test_cached_answer_does_not_import_the_toml_parser(tmp_path):
    import subprocess
    import sys

    # cacheable: a first run started within the racy window of the write (an idle machine) caches nothing
    path = cacheable(write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n'))
    code = ("import sys, os; from gatepass.config.layers import load_config; load_config(os.environ); "
            "print(sorted(m for m in ('tomli', 'tomllib', 'gatepass.config.schema') "
            "if m in sys.modules))")
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # the parse imports the compiled tomli (not the standard library's copy); the cache answers the second run
    assert first.stdout.strip() == "['gatepass.config.schema', 'tomli']"
    assert second.stdout.strip() == "[]"


def test_cache_reads_only_the_requested_hosts_in_file_order(tmp_path, monkeypatch):
    import gatepass.config.cache as cache

    monkeypatch.setattr(cache, "ACCOUNTS_PER_SHARD", 2)  # many shards even for a small file
    body = "".join(f'[[git_provider]]\ndomain = "h{i}.example.com"\naccounts = [{{ username = "u{i}", token = "t" }}]\n'
                   for i in range(20))
    body += '[[git_provider]]\ndomain = "*.example.com"\naccounts = [{ username = "wild", token = "t" }]\n'
    body += '[[git_provider]]\ndomain = "h3.example.com"\naccounts = [{ username = "again", token = "t" }]\n'
    path = write_config(tmp_path / "c.toml", body)
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    keys = ["h3.example.com", "*.example.com"]
    cold = load_config(env, keys)
    warm = load_config(env, keys)
    for config in (cold, warm):
        assert [a.username for a in config.accounts] == ["u3", "wild", "again"]
    assert len(load_config(env).accounts) == 22


@pytest.mark.parametrize("account, words", [
    ('{ username = "u", token_command = ["x"], ttl = 0 }', "positive number of seconds"),
    ('{ username = "u", token_command = ["x"], ttl = true }', "an integer"),
    ('{ username = "u", token = "gatepass:sealed:v2:SECRETVALUE" }', "seal the token again"),
])
def test_ttl_and_unknown_sealed_formats_are_errors(tmp_path, account, words):
    path = write_config(tmp_path / "c.toml", f"[[git_provider]]\naccounts = [{account}]\n")
    config = load(GATEPASS_CONFIG=str(path))
    assert config.accounts == [] and words in config.errors[0] and "SECRETVALUE" not in config.errors[0]


def test_layers_load_cold_warm_and_whole_as_parsing_them_gives(tmp_path):
    """Through load_config: the cold get (its hosts only), the cache it wrote, and a full load give the accounts
    parse_files gives, in the same order across two layers."""
    from gatepass.config.layers import layer_files, parse_files

    tables = "".join(f'[[git_provider]]\ndomain = "h{i}.example"\naccounts = [{{ username = "u{i}", token = "t{i}" }}]\n'
                     for i in range(5))
    low = cacheable(write_config(tmp_path / "a.toml", tables))
    high = cacheable(write_config(tmp_path / "b.toml", '[[git_provider]]\ndomain = "h1.example"\n'
                                  'accounts = [{ username = "w", token_env = "W" }]\n'))
    env = {"GATEPASS_CONFIG": f"{low}:{high}", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    parsed = parse_files(layer_files(env))
    expected = [a.to_tuple() for a in parsed.accounts]
    assert len(expected) == 6 and not parsed.errors
    cold = load_config(env, ["h1.example"])
    assert [a.to_tuple() for a in cold.accounts] == [t for t in expected if t[2] == "h1.example"]
    assert list((tmp_path / "cache" / "gatepass").glob("config-*.cache")), "the cold get wrote the cache"
    warm = load_config(env, ["h1.example"])
    assert [a.to_tuple() for a in warm.accounts] == [t for t in expected if t[2] == "h1.example"]
    assert sorted(a.to_tuple() for a in load_config(env).accounts) == sorted(expected)  # a full load: shard order


def test_tables_are_numbered_git_first_then_each_docker_table_name_in_its_order(tmp_path):
    """Docker Hub's alias is kept as written for people, its host is docker.io."""
    path = write_config(tmp_path / "c.toml",
                        '[[docker_registry]]\ndomain = "index.docker.io"\naccounts = [{ username = "u", token = "t" }]\n'
                        '[[image_registry]]\ndomain = "r.example"\naccounts = [{ username = "x", token = "y" }]\n'
                        '[[git_provider]]\ndomain = "g.example"\nhttps = false\naccounts = [{ username = "a", token = "b" }, '
                        '{ username = "c", token = "d" }]\n')
    accounts = load(GATEPASS_CONFIG=str(path)).accounts
    assert [(a.username, a.domain, a.host, a.secure, a.order, a.line_number()) for a in accounts] == [
        ("a", "g.example", "g.example", False, 1, 10), ("c", "g.example", "g.example", False, 2, 10),
        ("u", "index.docker.io", "docker.io", True, 3, 3), ("x", "r.example", "r.example", True, 4, 6)]


# The plain-domain fast path gives what the general checks give: compared with it switched off.
PIECES = st.lists(st.sampled_from(list("abzAZ09.-_:*/@ßé") + ["http://", "https://", "docker.io", "index.docker.io"]),
                  max_size=8)
DOMAIN_TEXT = PIECES.map("".join)


@settings(max_examples=300)
@given(st.sampled_from(["git", "docker"]), DOMAIN_TEXT)
def test_plain_domain_shortcut_matches_the_full_checks(kind, text):
    from gatepass import hosts

    def full(kind: str, value: str):
        saved = hosts.plain_host
        hosts.plain_host = lambda _text: False
        try:
            return hosts.normalize_domain(kind, value)
        except ValueError as exc:
            return str(exc)
        finally:
            hosts.plain_host = saved

    try:
        fast = hosts.normalize_domain(kind, text)
    except ValueError as exc:
        fast = str(exc)
    assert fast == full(kind, text)


def test_a_get_from_the_cache_lists_accounts_in_file_order_whatever_the_files_identities(tmp_path):
    """Across shards and layers the cache gives a host's accounts in file order, not in the order of the
    identities of the files they came from (a sort on the wrong field did, and so went by inode)."""
    from gatepass.config import cache, cachewrite
    from gatepass.model import Account

    def account(username: str, host: str, order: int, inode: int) -> Account:
        return Account(kind="git", domain=host, host=host, port=None, secure=True, username=username,
                       secret_kind="inline", secret_ref="t", layer="config", rank=order, file=f"/f{inode}",
                       line=order, order=order, source=(1, inode, 0, 0o100600, 1, 2, 3))

    rows = [account("low", "a.example", 1, 900), account("wild", "*.example", 2, 500),
            account("high", "a.example", 3, 100)]
    path = str(tmp_path / "c.cache")
    tmp_path.chmod(0o700)  # the cache is written only into a directory no one else can write
    cachewrite.write(path, [], rows, [], {}, {}, {})
    hit = cache.read(path, [], ["a.example", "*.example"])
    assert hit is not None
    assert [a.username for a in hit[0]] == ["low", "wild", "high"]
    assert [a.to_tuple() for a in hit[0]] == [a.to_tuple() for a in rows]  # every field, the origin's too


def test_one_file_listed_twice_keeps_both_ranks_through_the_cache(tmp_path):
    """The cache keeps what a file's accounts share once per layer entry, not once per path."""
    path = cacheable(write_config(tmp_path / "a.toml", '[[git_provider]]\naccounts = [{ username = "u", token = "t" }]\n'))
    env = {"GATEPASS_CONFIG": f"{path}:{path}", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    cold = [a.to_tuple() for a in load_config(env, ["github.com"]).accounts]
    warm = [a.to_tuple() for a in load_config(env, ["github.com"]).accounts]
    assert len(cold) == 2 and cold[0][11] < cold[1][11]  # [11]: rank
    assert warm == cold


def test_validation_sets_every_account_field_as_the_constructor_would(tmp_path):
    """schema builds Accounts slot by slot (the keywords cost more than its checks): each field is set, to what
    Account(...) would give."""
    from gatepass.config.schema import validate
    from gatepass.linemap import LineMap
    from gatepass.model import Account

    parsed = validate({"git_provider": [{"domain": "h.example:8443", "https": False, "organizations": ["o"],
                                         "accounts": [{"username": "u", "token": "t"},
                                                      {"username": "v", "token_command": ["x"], "ttl": 5}]}]},
                      "/f.toml", LineMap(""), "host", 3, [0])
    for account in parsed.accounts:
        values = {name: getattr(account, name) for name in Account.FIELDS}  # AttributeError for a slot left unset
        assert Account(**values).to_tuple() == account.to_tuple()
    assert [a.to_tuple()[:10] for a in parsed.accounts] == [
        ("git", "h.example:8443", "h.example", 8443, False, "u", "inline", "t", None, ("o",)),
        ("git", "h.example:8443", "h.example", 8443, False, "v", "command", ("x",), 5, ("o",))]
