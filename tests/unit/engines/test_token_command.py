"""token_command: first line of output, cached until ttl, clear errors that never carry the token."""

from __future__ import annotations

import os
import threading
import time
import types

import pytest

from gatepass import app
from gatepass.config.layers import load_config
from gatepass.engines import command, read_engine
from gatepass.engines.command import command_timeout
from gatepass.errors import SecretUnavailableError
from gatepass.model import Request
from tests.conftest import write_config

COUNTING = 'n=$(cat "{counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{counter}"\necho "tok-$n"\n'


def script(tmp_path, body: str) -> str:
    path = tmp_path / "cmd.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o700)
    return str(path)


def account_for(tmp_path, body: str, ttl: int | None = None, mode: int = 0o600, extra: str = ""):
    ttl_text = f", ttl = {ttl}" if ttl else ""
    config = write_config(tmp_path / "conf" / "c.toml", f'[[git_provider]]\naccounts = [{{ username = "bot", '
                          f'token_command = ["{script(tmp_path, body)}"]{ttl_text} }}{extra}]\n', mode)
    accounts = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    return accounts[0], config


def counting(tmp_path, ttl: int | None = None):
    counter = tmp_path / "n"
    account, config = account_for(tmp_path, COUNTING.format(counter=counter), ttl)
    return account, config, counter


def run(account, env=None, now=time.time):
    """(token, expiry) as the engine path answers it; ``now`` is the clock of the cache and of the run."""
    if now is not time.time:
        command.time = types.SimpleNamespace(time=now, monotonic=time.monotonic)  # type: ignore[assignment]
    try:
        secret = read_engine(account, None, os.environ if env is None else env, now=now)
    finally:
        command.time = time
    return secret.value, secret.expiry


def cache_files(isolated_env) -> list[str]:
    directory = os.path.join(isolated_env["XDG_CACHE_HOME"], "gatepass", "tokens")
    return sorted(os.path.join(directory, n) for n in os.listdir(directory) if "." not in n)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is dead, only not yet reaped
        return handle.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_first_line_is_the_token_and_each_run_without_ttl_is_fresh(tmp_path, isolated_env):
    account, _, _ = counting(tmp_path)
    from gatepass.secret_sources import read_secret

    first, second = read_secret(account, os.environ), read_secret(account, os.environ)
    assert (first.value, first.expiry, second.value, second.expiry) == ("tok-1", None, "tok-2", None)
    assert not os.path.exists(os.path.join(isolated_env["XDG_CACHE_HOME"], "gatepass", "tokens"))


def test_ttl_caches_until_expiry_then_fetches_anew(tmp_path, isolated_env):
    account, _, counter = counting(tmp_path, ttl=60)
    clock = [1_000_000.0]
    assert run(account, now=lambda: clock[0]) == ("tok-1", 1_000_060)
    clock[0] += 59
    assert run(account, now=lambda: clock[0]) == ("tok-1", 1_000_060)  # from the cache: the command ran once
    assert counter.read_text().strip() == "1"
    clock[0] += 1
    assert run(account, now=lambda: clock[0]) == ("tok-2", 1_000_120)
    [path] = cache_files(isolated_env)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700


def test_ttl_with_the_real_clock_and_git_gets_the_expiry(tmp_path):
    from gatepass.secret_sources import read_secret

    account, _, _ = counting(tmp_path, ttl=2)
    first = read_secret(account, os.environ)
    assert first.value == "tok-1" and 0 < first.expiry - time.time() <= 2
    assert read_secret(account, os.environ).value == "tok-1"
    time.sleep(2.1)
    assert read_secret(account, os.environ).value == "tok-2"


def test_the_token_is_written_to_its_cache_file_only(tmp_path, isolated_env):
    account, _, _ = counting(tmp_path, ttl=60)
    run(account)
    holders = [os.path.join(d, f) for d, _, files in os.walk(tmp_path) for f in files
               if b"tok-1" in open(os.path.join(d, f), "rb").read()]
    assert holders == cache_files(isolated_env)


def test_expired_cache_files_are_deleted_and_a_changed_ttl_is_a_new_entry(tmp_path, isolated_env):
    account, config, counter = counting(tmp_path, ttl=60)
    clock = [1_000_000.0]
    run(account, now=lambda: clock[0])
    [old] = cache_files(isolated_env)
    account.ttl = 30  # as if the config changed: the old entry does not answer
    clock[0] += 61
    assert run(account, now=lambda: clock[0])[0] == "tok-2"
    assert old not in cache_files(isolated_env) and len(cache_files(isolated_env)) == 1


def test_a_cache_file_others_could_have_written_is_not_trusted(tmp_path, isolated_env):
    account, _, counter = counting(tmp_path, ttl=60)
    run(account)
    [path] = cache_files(isolated_env)
    os.chmod(path, 0o666)
    assert run(account)[0] == "tok-2"
    with open(path, "w") as handle:  # an expiry beyond now + ttl was not written by us
        handle.write(f"{int(time.time()) + 10_000}\tforged")
    os.chmod(path, 0o600)
    assert run(account)[0] == "tok-3"


def test_parallel_misses_run_the_command_once(tmp_path):
    counter = tmp_path / "n"
    account, _ = account_for(tmp_path, "sleep 0.5\n" + COUNTING.format(counter=counter), ttl=60)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(run(account)[0])) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["tok-1"] * 4 and counter.read_text().strip() == "1"


def test_stdin_is_empty_and_the_environment_passes_through(tmp_path, monkeypatch):
    monkeypatch.setenv("MINT_SUFFIX", "from-env")
    account, _ = account_for(tmp_path, 'if read line; then echo "stdin:$line"; else echo "tok-$MINT_SUFFIX"; fi\n')
    assert run(account)[0] == "tok-from-env"


def test_failing_command_is_a_clear_error_without_its_output(tmp_path):
    from gatepass.secret_sources import read_secret

    account, config = account_for(tmp_path, "echo tok-leaked; echo tok-leaked >&2; exit 3\n")
    with pytest.raises(SecretUnavailableError) as info:
        read_secret(account, os.environ)
    assert str(info.value) == (f"{config}:2: account bot@github.com: token_command {account.secret_ref[0]} "
                               "failed with exit status 3")


def test_a_command_killed_by_a_signal_says_so(tmp_path):
    account, _ = account_for(tmp_path, "kill -TERM $$\n")
    with pytest.raises(SecretUnavailableError, match="killed by signal 15"):
        run(account)


def test_hanging_command_and_its_children_are_killed_at_the_timeout(tmp_path):
    pids = tmp_path / "pids"
    account, _ = account_for(tmp_path, f'sleep 300 & echo $! > "{pids}"; echo $$ >> "{pids}"; sleep 300\n')
    started = time.monotonic()
    with pytest.raises(SecretUnavailableError, match=r"timed out after 1s; it was stopped"):
        run(account, dict(os.environ, GATEPASS_COMMAND_TIMEOUT="1"))
    assert time.monotonic() - started < 4
    deadline = time.monotonic() + 2
    while any(alive(int(pid)) for pid in pids.read_text().split()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(int(pid)) for pid in pids.read_text().split())


def test_a_command_that_exits_but_leaves_a_child_holding_its_output_still_answers(tmp_path):
    account, _ = account_for(tmp_path, "sleep 300 &\necho tok-early\n")
    assert run(account, dict(os.environ, GATEPASS_COMMAND_TIMEOUT="1"))[0] == "tok-early"


def test_missing_command_and_empty_output(tmp_path):
    account, _ = account_for(tmp_path, "echo; echo second-line\n")
    with pytest.raises(SecretUnavailableError, match="printed no token"):
        run(account)
    (tmp_path / "cmd.sh").unlink()
    with pytest.raises(SecretUnavailableError, match="cannot run"):
        run(account)


@pytest.mark.parametrize("value, seconds", [(None, 10.0), ("2.5", 2.5), ("nope", 10.0), ("0", 10.0), ("-1", 10.0),
                                            ("nan", 10.0), ("1e9", 10.0)])
def test_command_timeout_from_the_environment(value, seconds):
    assert command_timeout({} if value is None else {"GATEPASS_COMMAND_TIMEOUT": value}) == seconds


def reparsed(config):
    """The account as a new parse gives it: trust is judged on the file as that parse read it."""
    return load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts[0]


def test_config_writable_by_others_may_not_run_commands(tmp_path):
    account, config = account_for(tmp_path, f'touch "{tmp_path}/ran"; echo tok\n', mode=0o620)
    with pytest.raises(SecretUnavailableError, match=f"chmod go-w {config}$"):
        run(account)
    config.chmod(0o600)
    config.parent.chmod(0o777)
    with pytest.raises(SecretUnavailableError, match=f"{config.parent} is writable by other users"):
        run(reparsed(config))
    assert not (tmp_path / "ran").exists()
    config.parent.chmod(0o755)
    assert run(reparsed(config))[0] == "tok"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_config_owned_by_another_user_may_not_run_commands(tmp_path):
    _, config = account_for(tmp_path, "echo tok\n")
    os.chown(config, 65534, 65534)
    with pytest.raises(SecretUnavailableError, match="belongs to another user"):
        run(reparsed(config))


def test_a_failing_command_reports_and_the_next_candidate_answers(tmp_path):
    account_for(tmp_path, "exit 7\n", extra=', { username = "fallback", token = "tok-inline" }')
    config = tmp_path / "conf" / "c.toml"
    reports: list[str] = []
    chosen, secret = app.answer(Request("git", "https", "github.com", None), dict(os.environ, GATEPASS_CONFIG=str(config)),
                                reports.append, with_store=False)
    assert (chosen.username, secret.value) == ("fallback", "tok-inline")
    assert any("account bot@github.com" in line and "exit status 7" in line for line in reports)
