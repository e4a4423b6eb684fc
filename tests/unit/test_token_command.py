"""token_command: first line of output, cached until ttl, clear errors that never carry the token."""

from __future__ import annotations

import os
import time

import pytest

from gatepass.config.layers import load_config
from gatepass.errors import SecretUnavailableError
from gatepass.secrets import read_secret
from tests.conftest import write_config


def account_for(tmp_path, script_body: str, ttl: int | None = None, mode: int = 0o600):
    script = tmp_path / "cmd.sh"
    script.write_text("#!/bin/sh\n" + script_body)
    script.chmod(0o700)
    ttl_text = f", ttl = {ttl}" if ttl else ""
    config = write_config(tmp_path / "conf" / "c.toml", f'[[git_provider]]\naccounts = [{{ username = "bot", '
                          f'token_command = ["{script}"]{ttl_text} }}]\n', mode)
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    return account, config


def test_first_line_is_the_token_and_each_run_without_ttl_is_fresh(tmp_path):
    counter = tmp_path / "n"
    account, _ = account_for(tmp_path, f'n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}\n'
                                       'echo "tok-$n"; echo second line\n')
    assert read_secret(account, os.environ).value == "tok-1"
    second = read_secret(account, os.environ)
    assert (second.value, second.expiry) == ("tok-2", None)


def test_ttl_caches_until_expiry_then_fetches_anew(tmp_path, isolated_env):
    counter = tmp_path / "n"
    account, _ = account_for(tmp_path, f'n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}\n'
                                       'echo "tok-$n"\n', ttl=2)
    first = read_secret(account, os.environ)
    assert first.value == "tok-1" and first.expiry and first.expiry - time.time() <= 2
    assert read_secret(account, os.environ).value == "tok-1"  # from the cache
    cache_dir = os.path.join(isolated_env["XDG_CACHE_HOME"], "gatepass", "tokens")
    [name] = os.listdir(cache_dir)
    assert os.stat(os.path.join(cache_dir, name)).st_mode & 0o777 == 0o600
    time.sleep(2.1)
    assert read_secret(account, os.environ).value == "tok-2"


def test_failing_command_is_a_clear_error_without_its_output(tmp_path):
    account, config = account_for(tmp_path, 'echo tok-leaked; echo tok-leaked >&2; exit 3\n')
    with pytest.raises(SecretUnavailableError) as info:
        read_secret(account, os.environ)
    assert "exit status 3" in str(info.value) and "tok-leaked" not in str(info.value)
    assert str(info.value).startswith(f"{config}:2: account bot@github.com")


def test_hanging_command_is_killed_at_the_timeout(tmp_path):
    account, _ = account_for(tmp_path, "sleep 30 & sleep 30\n")
    started = time.monotonic()
    with pytest.raises(SecretUnavailableError, match="timed out after 1s"):
        read_secret(account, dict(os.environ, GATEPASS_COMMAND_TIMEOUT="1"))
    assert time.monotonic() - started < 5


def test_missing_command_and_empty_output(tmp_path):
    account, _ = account_for(tmp_path, "true\n")
    with pytest.raises(SecretUnavailableError, match="printed no token"):
        read_secret(account, os.environ)
    (tmp_path / "cmd.sh").unlink()
    with pytest.raises(SecretUnavailableError, match="cannot run"):
        read_secret(account, os.environ)


def test_config_writable_by_others_may_not_run_commands(tmp_path):
    account, config = account_for(tmp_path, "echo tok\n", mode=0o620)
    with pytest.raises(SecretUnavailableError, match=f"chmod go-w {config}"):
        read_secret(account, os.environ)
