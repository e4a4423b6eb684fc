"""The parsed-config cache (issue #12 items 1, 6, 7): never serves a stale token after an in-place
edit, never trusts a cache another user could have written, is kept apart per installed gatepass,
and is created in 0700 directories whatever the umask."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatepass import app
from gatepass.config import cache, cachewrite
from gatepass.config.layers import layer_files, load_config, parse_files
from gatepass.model import Request
from tests.conftest import write_config
from tests.support.local_user import local_user, shared_dir

ROOT = Path(__file__).resolve().parents[3]


def settle() -> None:
    """Wait out the racy window: a file changed within it of the parse is not cached (by design)."""
    time.sleep(2 * getattr(cache, "RACY_NS", 20_000_000) / 1e9)


def token_of(env: dict[str, str]) -> str | None:
    found = app.answer(Request("git", "https", "git.example", None), env, lambda message: None)
    return found[1].value if found else None


def cache_files(env: dict[str, str]) -> list[str]:
    directory = os.path.join(env["XDG_CACHE_HOME"], "gatepass")
    return sorted(n for n in os.listdir(directory) if n.endswith(".cache")) if os.path.isdir(directory) else []


CONFIG = '[[git_provider]]\ndomain = "git.example"\naccounts = [{{ username = "bot", token = "{token}" }}]\n'


def cached_config(tmp_path: Path, isolated_env: dict[str, str]) -> tuple[Path, dict[str, str], Path]:
    """A settled config layer, its environment and the parse cache one load wrote for it."""
    path = write_config(tmp_path / "c.toml", CONFIG.format(token="t"))
    os.utime(path, ns=(10**18, 10**18))
    settle()
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    load_config(env)
    [name] = cache_files(env)
    return path, env, Path(isolated_env["XDG_CACHE_HOME"]) / "gatepass" / name


@pytest.mark.parametrize("how", ["touch -r", "cp -p"])
def test_an_in_place_edit_keeping_size_inode_and_mtime_is_never_served_stale(tmp_path, how):
    """Same-length token rotation, then the mtime put back: only the ctime tells (stale 50 of 50 before)."""
    path = write_config(tmp_path / "c.toml", CONFIG.format(token="old-token-1"))
    reference = tmp_path / "reference"
    reference.write_text("")
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    settle()
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    for round_ in range(2, 7):
        assert token_of(env) == f"old-token-{round_ - 1}"
        assert cache_files(env), "the parse was cached"
        inode, size, mtime = path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns
        if how == "touch -r":
            path.write_text(CONFIG.format(token=f"old-token-{round_}"))  # in place: same inode
            subprocess.run(["touch", "-r", str(reference), str(path)], check=True)
        else:
            staged = tmp_path / "staged.toml"
            staged.write_text(CONFIG.format(token=f"old-token-{round_}"))
            staged.chmod(0o600)
            os.utime(staged, ns=(mtime, mtime))
            subprocess.run(["cp", "-p", str(staged), str(path)], check=True)  # cp -p onto it: same inode
        os.utime(path, ns=(mtime, mtime))
        assert (path.stat().st_ino, path.stat().st_size, path.stat().st_mtime_ns) == (inode, size, mtime)
        settle()
    assert token_of(env) == "old-token-6"


def test_a_layer_changed_too_close_to_the_parse_is_not_cached(tmp_path):
    path = write_config(tmp_path / "c.toml", CONFIG.format(token="t"))
    future = time.time_ns() + 3600 * 10**9  # always "just now or later" for the racy rule
    os.utime(path, ns=(future, future))
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    assert token_of(env) == "t"
    assert cache_files(env) == []


def test_racy_rule_uses_mtime_and_ctime_and_whole_second_stamps():
    start = 10**18
    ident = (1, 2, 0, 0o100600, 10, start - 10**9 + 123, start - 10**9 + 123)
    assert not cache.racy([("user", "p", ident), ("user", "q", None)], start)
    assert cache.racy([("user", "p", ident[:6] + (start - 1,))], start)  # ctime just before the parse
    assert cache.racy([("user", "p", ident[:5] + (start + 5,) + ident[6:])], start)
    whole = start - start % 10**9 - 10**9  # a filesystem with whole-second stamps: 2 s of doubt
    assert cache.racy([("user", "p", (1, 2, 0, 0o100600, 10, whole, whole))], start)


def test_cache_directories_are_0700_whatever_the_umask(tmp_path, isolated_env):
    path = write_config(tmp_path / "c.toml", CONFIG.format(token="t"))
    os.utime(path, ns=(10**18, 10**18))
    settle()
    old = os.umask(0)
    try:
        assert token_of(dict(os.environ, GATEPASS_CONFIG=str(path))) == "t"
    finally:
        os.umask(old)
    cache_home = Path(isolated_env["XDG_CACHE_HOME"])
    for directory in (cache_home, cache_home / "gatepass"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    [name] = cache_files(dict(os.environ))
    assert stat.S_IMODE((cache_home / "gatepass" / name).stat().st_mode) == 0o600


def test_a_cache_others_can_write_is_ignored(tmp_path, isolated_env):
    _, env, cached = cached_config(tmp_path, isolated_env)
    key = cache.current_key(layer_files(env))
    assert cache.read(str(cached), key, None) is not None
    cached.chmod(0o666)
    assert cache.read(str(cached), key, None) is None
    cached.chmod(0o600)
    cached.parent.chmod(0o777)
    assert cache.read(str(cached), key, None) is None


def test_two_installs_sharing_a_cache_directory_keep_their_own_caches(tmp_path):
    """Each install's second call is a cache hit even when the other ran in between."""
    other = tmp_path / "other"
    shutil.copytree(ROOT / "src" / "gatepass", other / "gatepass")
    for module in (other / "gatepass").rglob("*.py"):
        os.utime(module, ns=(10**18, 10**18))  # a different build of the parsing code
    path = write_config(tmp_path / "c.toml", CONFIG.format(token="t"))
    os.utime(path, ns=(10**18, 10**18))
    settle()
    code = ("import sys, os; from gatepass.config.layers import load_config; load_config(os.environ); "
            "print('gatepass.config.schema' in sys.modules)")
    env = dict(os.environ, GATEPASS_CONFIG=str(path))

    def parsed(pythonpath: Path) -> bool:
        done = subprocess.run([sys.executable, "-c", code], env=dict(env, PYTHONPATH=str(pythonpath)),
                              capture_output=True, text=True, check=True)
        return done.stdout.strip() == "True"

    assert [parsed(ROOT / "src"), parsed(other), parsed(ROOT / "src"), parsed(other)] == [True, True, False, False]


def test_forged_cache_in_a_directory_another_user_owns_runs_nothing():
    """Issue #12 item 1: root runs with a user's XDG_CACHE_HOME (sudo -E). That user plants a parse
    cache whose account runs a command and whose recorded source is root's own config file; it
    must be ignored: the command never runs, the real token answers."""
    with local_user() as user, shared_dir() as shared:
        marker = os.path.join(shared, "pwned")
        victim_conf = write_config(os.path.join(shared, "etc", "victim.toml"), CONFIG.format(token="real-token"))
        os.utime(victim_conf, ns=(10**18, 10**18))
        settle()
        cache_home = os.path.join(user.home, ".cache")
        user.run(["mkdir", "-p", os.path.join(cache_home, "gatepass")])
        env = dict(os.environ, GATEPASS_CONFIG=str(victim_conf), XDG_CACHE_HOME=cache_home)
        # The forgery, built as the attacker would: the victim's layer key, an evil account.
        evil_conf = write_config(os.path.join(shared, "evil.toml"),
                                 '[[git_provider]]\ndomain = "git.example"\naccounts = [{ username = "bot", '
                                 f'token_command = ["/bin/sh", "-c", "id -u > {marker}; echo forged"] }}]\n')
        [evil] = parse_files([("config", 0, str(evil_conf))]).accounts
        evil.file, evil.source = str(victim_conf), cache.current_key(layer_files(env))[0][2]
        forged = os.path.join(shared, "forged")
        cachewrite.write(forged, cache.current_key(layer_files(env)), [evil], [], {}, {}, {})
        os.chmod(forged, 0o644)
        target = cache.path_for([str(victim_conf)], env)
        user.run(["cp", forged, target], check=True)
        assert token_of(env) == "real-token"
        assert not os.path.exists(marker)


def test_doctor_reports_the_caches_trust_and_an_ignored_cache(tmp_path, isolated_env):
    from click.testing import CliRunner

    from gatepass.cli.main import cli

    path, _, cached = cached_config(tmp_path, isolated_env)

    def cache_lines() -> list[str]:
        result = CliRunner().invoke(cli, ["doctor"], env={"GATEPASS_CONFIG": str(path)}, catch_exceptions=False)
        return [line for line in result.stdout.splitlines() if "cache" in line and "gatepass/config-" in line]

    assert cache_lines() == [f"OK   parse cache {cached} is trusted"]
    cached.chmod(0o620)  # doctor's own load ignores it and writes a new one: it says what it ignored
    assert cache_lines() == [f"OK   parse cache {cached} is trusted",
                             f"FIX  ignored and rebuilt: {cached} is writable by other users"]
