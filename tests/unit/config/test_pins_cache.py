"""Caches and time pinned at unit level (issue #29): the racy-mtime boundary and its wiring, the token
cache's clock slack and expiry, and the parse cache's code stamp with the modules that invalidate it.
No test here waits on the clock: times are injected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from gatepass.config import cache, layers
from gatepass.config.layers import load_config
from gatepass.engines import tokencache
from tests.conftest import write_config

MS = 1_000_000
SECOND = 1_000_000_000
START = 10**18 + 123_456_789  # a parse's start, not on a whole second


def racy(mtime: int, ctime: int, start: int = START) -> bool:
    return cache.racy([("user", "/c.toml", (1, 2, 0, 0o100600, 10, mtime, ctime)), ("host", "/h.toml", None)], start)


def test_an_edit_20ms_before_the_parse_is_not_cached_as_fresh():
    assert racy(START - 20 * MS, START - SECOND)  # mtime at the boundary
    assert racy(START - SECOND, START - 20 * MS)  # ctime at the boundary (touch -r puts mtime back)
    assert racy(START + 1, START - SECOND)  # written after the parse started
    assert not racy(START - SECOND, START - SECOND)
    assert not racy(START - 21 * MS, START - 21 * MS)


def test_whole_second_stamps_get_two_seconds_of_doubt_only_when_both_are_whole():
    whole = START - START % SECOND  # 0.12 s before START
    assert racy(whole - SECOND, whole - SECOND)  # 1.12 s before, both whole: within 2 s
    assert not racy(whole - 2 * SECOND, whole - 2 * SECOND)  # 2.12 s before
    assert not racy(whole - SECOND, whole - SECOND - 1)  # a ctime with nanoseconds: the 20 ms rule


def _cached(env: dict[str, str]) -> list[str]:
    directory = Path(env["XDG_CACHE_HOME"]) / "gatepass"
    return sorted(p.name for p in directory.glob("config-*.cache")) if directory.is_dir() else []


def test_load_config_writes_no_cache_for_a_layer_changed_within_the_window(tmp_path, monkeypatch):
    """The wiring: the parse's own start, taken before the files are opened, decides."""
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "u", token = "t" }]\n')
    st = path.stat()
    changed = max(st.st_mtime_ns, st.st_ctime_ns)
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    monkeypatch.setattr(layers, "time", types.SimpleNamespace(time_ns=lambda: changed + 20 * MS))
    assert [a.username for a in load_config(env).accounts] == ["u"]
    assert _cached(env) == []
    monkeypatch.setattr(layers, "time", types.SimpleNamespace(time_ns=lambda: changed + 3 * SECOND))
    assert [a.username for a in load_config(env).accounts] == ["u"]
    assert len(_cached(env)) == 1


# -- the token cache: expiry and clock slack -----------------------------------------------------------

KEY = ("pins", "https://vault.example", "secret/data/x", "token")
T = 1_700_000_000


def test_a_token_cache_entry_written_up_to_5s_ahead_of_our_clock_answers_and_no_more(isolated_env):
    env = dict(os.environ)
    tokencache.put(env, KEY, "v", T + 600, lambda: T)
    assert tokencache.get(env, KEY, lambda: T - 5) == ("v", T + 600)  # another process's rounding
    assert tokencache.get(env, KEY, lambda: T - 5.5) is None  # the clock went back, or not written by us
    assert tokencache.get(env, KEY, lambda: T) == ("v", T + 600)


def test_a_token_cache_entry_answers_until_its_expiry_and_an_expired_value_is_never_written(isolated_env, monkeypatch):
    env = dict(os.environ)
    monkeypatch.setattr(tokencache, "prune", lambda env, moment: None)  # put's own rule, not the sweep after it
    tokencache.put(env, KEY, "v", T + 60, lambda: T)
    assert tokencache.get(env, KEY, lambda: T + 59.999) == ("v", T + 60)
    assert tokencache.get(env, KEY, lambda: T + 60) is None
    tokencache.put(env, ("other",), "late", T, lambda: T)  # expires the moment it is written
    assert not os.path.exists(tokencache.path_for(env, ("other",)))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o610], ids=oct)
def test_a_token_cache_entry_with_any_group_or_other_bit_is_a_miss(isolated_env, mode):
    """Read bits too: open_trusted refuses only write bits, the cache's own rule the rest."""
    env = dict(os.environ)
    tokencache.put(env, KEY, "v", T + 600, lambda: T)
    os.chmod(tokencache.path_for(env, KEY), mode)
    assert tokencache.get(env, KEY, lambda: T) is None
    os.chmod(tokencache.path_for(env, KEY), 0o600)
    assert tokencache.get(env, KEY, lambda: T) == ("v", T + 600)


# -- the parse cache's code stamp -----------------------------------------------------------------------


def test_the_code_stamp_changes_with_the_format_and_the_version(monkeypatch):
    base = cache._code_stamp()
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    assert cache._code_stamp() != base
    monkeypatch.undo()
    monkeypatch.setattr(cache, "__version__", "0.0.0+another")
    assert cache._code_stamp() != base


def test_an_edit_to_any_module_that_shapes_a_parse_changes_the_code_stamp(monkeypatch):
    real = os.stat
    base = cache._code_stamp()
    for shaper in cache._SHAPERS:
        assert os.path.isfile(shaper), f"{shaper} is listed but gone: drop it from the list"

        def edited(path: str, shaper: str = shaper) -> object:
            st = real(path)
            return types.SimpleNamespace(st_mtime_ns=st.st_mtime_ns + (1 if path == shaper else 0))

        monkeypatch.setattr(cache, "posix", types.SimpleNamespace(stat=edited))
        assert cache._code_stamp() != base, shaper
        monkeypatch.undo()


# What a cold parse imports that does not decide what lands in the cache: package markers, the error
# and path helpers, and the writer's and reader's file rules.
NOT_SHAPING = {"gatepass", "gatepass.config", "gatepass.engines", "gatepass.protocol", "gatepass.errors",
               "gatepass.paths", "gatepass.files", "gatepass.readback", "gatepass.ownership"}
COLD = """
import json, os, sys
from gatepass.config.layers import load_config
config = load_config(os.environ)
assert len(config.accounts) == 5 and "vault" in config.engines, (len(config.accounts), config.errors)
print(json.dumps({name: getattr(module, "__file__", None) for name, module in sys.modules.items()
                  if name.split(".")[0] == "gatepass"}))
"""


def test_every_module_a_cold_parse_runs_is_in_the_code_stamp(tmp_path):
    """An edited module (a development checkout, an upgrade in place) must not be answered from a parse
    the old code made: each gatepass module a cold parse imports, but for the few above, is listed."""
    path = write_config(tmp_path / "c.toml", '[vault]\naddress = "https://vault.example"\n'
                        '[[git_provider]]\ndomain = "git.example"\naccounts = [{ username = "u", token = "t" },'
                        ' { username = "e", token_env = "E" }, { username = "v", vault = { path = "p", field = "f" } }]\n'
                        '[[docker_registry]]\ndomain = "r.example"\naccounts = [{ username = "d", token_file = "/x" }]\n'
                        '[[git_provider]]\ndomain = "github.com"\naccounts = [{ preset = "github-actions" }]\n')
    done = subprocess.run([sys.executable, "-c", COLD], env=dict(os.environ, GATEPASS_CONFIG=str(path)),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    listed = {os.path.realpath(p) for p in cache._SHAPERS}
    missing = sorted(name for name, file in loaded.items()
                     if name not in NOT_SHAPING and file and os.path.realpath(file) not in listed)
    assert missing == []
    assert "gatepass.config.schema" in loaded  # the general path ran: the test saw a real cold parse


def test_a_warm_load_gives_the_errors_store_and_engine_tables_the_cold_parse_gave(tmp_path):
    """Each part of the cached header in its own place: errors, [store] and engine tables do not trade places."""
    from tests.support.racy import cacheable

    path = cacheable(write_config(tmp_path / "c.toml", '[store]\nbackend = "encrypted-file"\n'
                                  '[vault]\naddress = "https://vault.example"\nauth = "token"\n'
                                  '[[git_provider]]\naccounts = [{ username = "u", token_env = "T" }, { username = 5 }]\n'))
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    cold = load_config(env)
    assert len(_cached(env)) == 1 and len(cold.errors) == 1 and cold.store and "vault" in cold.engines
    warm = load_config(env)
    assert (warm.errors, warm.store, warm.engines) == (cold.errors, cold.store, cold.engines)
