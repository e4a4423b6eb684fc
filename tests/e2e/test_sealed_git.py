"""Real git clones with tokens that are never in plain text: sealed to this host, or from a command."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.conftest import write_config
from tests.e2e.test_git import git
from tests.support.as_user import python_argv, run_as
from tests.support.git_server import GitServer

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(120)]

TOKEN = "tok-sealed-only-7c1e"


def gatepass(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> str:
    """The installed ``gatepass`` command, as an operator runs it; its stdout."""
    done = run_as(["gatepass", *args], input=stdin, capture_output=True, text=True, timeout=60,
                          env=env or dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stderr
    return done.stdout.strip()


def helper_get(host: str) -> str:
    done = run_as(["git-credential-gatepass", "get"], input=f"protocol=http\nhost={host}\n\n",
                          capture_output=True, text=True, timeout=60)
    return done.stdout


_CACHED = """
import json, os, sys
from gatepass.engines import tokencache
key, put = json.loads(sys.stdin.read())
if put:
    token, expiry, written = put
    tokencache.put(dict(os.environ), tuple(key), token, expiry, now=lambda: written)
print(json.dumps(tokencache.get(dict(os.environ), tuple(key))))
"""


def cached(env: dict[str, str], key: tuple[str, ...], put: tuple[str, int, int] | None = None) -> tuple[str, int] | None:
    """The token cache's entry for ``key`` (after writing ``put``: token, expiry, written at), read as the
    helper's user reads it (root trusts none of a user's files)."""
    done = run_as(python_argv(_CACHED), input=json.dumps([key, put]), env=env, capture_output=True, text=True,
                  timeout=60, check=True)
    entry = json.loads(done.stdout)
    return None if entry is None else (entry[0], entry[1])


def provider(domain: str, *accounts: tuple[str, str]) -> str:
    """A plain-http git provider whose accounts carry sealed values as TOML multi-line literal strings."""
    rows = ",\n".join(f"  {{ username = \"{user}\", token = '''\n{value}''' }}" for user, value in accounts)
    return f'[[git_provider]]\ndomain = "{domain}"\nhttps = false\naccounts = [\n{rows}\n]\n'


def test_clone_with_a_token_sealed_to_this_host_only(tmp_path, isolated_env, monkeypatch):
    users = {"deploy": TOKEN, "ci": "tok-ci-unused"}
    with GitServer(str(tmp_path / "srv"), users) as server:
        domain = f"127.0.0.1:{server.port}"
        other_env = dict(os.environ, GATEPASS_HOST_KEY=str(tmp_path / "other" / "host.key"))
        monkeypatch.setenv("GATEPASS_HOST_KEY", str(tmp_path / "this" / "host.key"))
        this = gatepass("host-key", "--init")
        other = gatepass("host-key", "--init", env=other_env)
        assert this.startswith("age1") and other.startswith("age1")
        seal = ["seal", "--kind", "git", "--domain", domain, "--scheme", "http", "--username", "deploy"]
        value = gatepass(*seal, "--to", this, stdin=TOKEN + "\n") + "\n"
        # The copy on "ci" was sealed for deploy: it must not open there, and deploy answers next.
        host_file = write_config(isolated_env["GATEPASS_HOST_CONFIG"], provider(domain, ("ci", value), ("deploy", value)), 0o644)
        assert TOKEN not in host_file.read_text()
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "ok"))
        assert server.users_seen() == {"deploy"}
        assert "account ci@" in done.stderr and "sealed for a different account: it is bound to git http://" in done.stderr
        assert TOKEN not in done.stderr + (tmp_path / "ok" / ".git" / "config").read_text()

        https = gatepass(*seal[:-4], "--username", "deploy", "--to", this, stdin=TOKEN + "\n") + "\n"  # bound to https
        write_config(host_file, provider(domain, ("deploy", https)), 0o644)
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "scheme"), check=False)
        assert done.returncode != 0 and "it is bound to git https://" in done.stderr and TOKEN not in done.stderr

        elsewhere = gatepass(*seal, "--to", other, stdin=TOKEN + "\n") + "\n"
        write_config(host_file, provider(domain, ("deploy", elsewhere)), 0o644)
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "no"), check=False)
        assert done.returncode != 0 and "sealed for another host" in done.stderr and TOKEN not in done.stderr

        both = gatepass(*seal, "--to", other, "--to", this, stdin=TOKEN + "\n") + "\n"
        write_config(host_file, provider(domain, ("deploy", both)), 0o644)
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "both"))


def test_clone_with_a_token_command_cached_until_ttl_then_minted_anew(tmp_path, isolated_env):
    """The ttl is long (600 s) so no load can expire it mid-test; its passing is then made exact: the
    cache entry is rewritten as the helper would have written it ``ttl`` seconds ago (checked to be
    the very file the helper reads), and the next clone must mint anew."""
    ttl = 600
    with GitServer(str(tmp_path / "srv"), {"bot": "tok-1"}) as server:
        counter, script = tmp_path / "n", tmp_path / "mint.sh"
        script.write_text(f'#!/bin/sh\nn=$(cat "{counter}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{counter}"\n'
                          'echo "tok-$n"\n')
        script.chmod(0o700)
        domain = f"127.0.0.1:{server.port}"
        write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "{domain}"\n'
                     f'https = false\naccounts = [{{ username = "bot", token_command = ["{script}"], ttl = {ttl} }}]\n')
        started = int(time.time())
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "a"))
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "b"))
        answer = helper_get(domain)
        assert counter.read_text().strip() == "1"  # both clones and the get used the cached token
        expiry = int(answer.split("password_expiry_utc=")[1].split()[0])
        assert "password=tok-1\n" in answer and started + ttl <= expiry <= time.time() + ttl

        # engines/command.cache_key's entry: (kind, config file, username, ttl, argv...)
        env, key = dict(os.environ), ("command", isolated_env["GATEPASS_USER_CONFIG"], "bot", str(ttl), str(script))
        assert cached(env, key) == ("tok-1", expiry)  # the entry the helper reads, and its expiry
        moment = int(time.time())  # the ttl has run out: the entry as it was written ttl seconds ago
        assert cached(env, key, put=("tok-1", moment - 1, moment - 1 - ttl)) is None
        server._server.users["bot"] = "tok-2"  # the server moves on to the next token
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "c"))
        assert counter.read_text().strip() == "2"
        assert server.log[-1][3] == "bot"
        assert cached(env, key)[0] == "tok-2"  # type: ignore[index]


def test_a_hanging_token_command_times_out_and_the_next_account_answers(tmp_path, isolated_env, monkeypatch):
    with GitServer(str(tmp_path / "srv"), {"fallback": "tok-fallback"}) as server:
        script = tmp_path / "hang.sh"
        script.write_text("#!/bin/sh\nsleep 300\n")
        script.chmod(0o700)
        monkeypatch.setenv("GATEPASS_COMMAND_TIMEOUT", "1")
        domain = f"127.0.0.1:{server.port}"
        write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "{domain}"\nhttps = false\n'
                     f'accounts = [{{ username = "bot", token_command = ["{script}"] }},\n'
                     '  { username = "fallback", token = "tok-fallback" }]\n')
        started = time.monotonic()
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "a"))
        assert "account bot@" in done.stderr and "timed out after 1s" in done.stderr
        assert server.users_seen() == {"fallback"} and time.monotonic() - started < 30
