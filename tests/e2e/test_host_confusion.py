"""Attacks on which host and which organization a token reaches, proved against what curl really does.

Issue #11 items 1 and 4. Each name is fetched with a real ``git ls-remote``; ``http.curloptResolve``
points every candidate spelling of it at a loopback server that records the ``Host`` header curl
sent and the Basic credential gatepass handed over. The assertion is on the wire: a token may only
travel in a request whose ``Host`` is the name it was configured for, as curl spells that name.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import write_config
from tests.support.as_user import run_as
from tests.support.git_server import GIT_ENV, GitServer
from tests.support.host_recorder import HostRecorder

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(180)]

# Written in the config -> token. Each has a lookalike that Python's IDNA2003 codec folds onto it
# (ß -> ss, ς -> σ) and that curl (UTS #46 non-transitional, libidn2) keeps apart.
CONFIGURED = {"git.classic-corp.example": "tok-classic-0d1e", "straße.example": "tok-strasse-77aa",
              "git.corpσ.example": "tok-sigma-5b5b"}
LOOKALIKES = ["git.claßic-corp.example", "strasse.example", "STRAẞE.example", "git.corpς.example"]
# Every spelling curl might connect to for the names above, all pointed at the recorder.
ACE_NAMES = ["git.classic-corp.example", "git.xn--claic-corp-73a.example", "xn--strae-oqa.example",
             "strasse.example", "git.xn--corp-ood.example", "git.xn--corp-jod.example"]


def git(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **GIT_ENV)
    cmd = ["git", "-c", "credential.helper=", "-c", "credential.helper=gatepass", *args]
    done = run_as(cmd, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise AssertionError(f"{cmd} failed: {done.stderr}")
    return done


def provider(domain: str, *accounts: str, extra: str = "") -> str:
    return (f'[[git_provider]]\ndomain = "{domain}"\nhttps = false\n{extra}'
            f'accounts = [\n  {", ".join(accounts)},\n]\n')


def ls_remote(recorder: HostRecorder, name: str) -> list[tuple[str, str | None]]:
    """(Host header, credential) of every request one ``git ls-remote http://NAME:PORT/r.git`` made."""
    recorder.clear()
    resolve = [arg for ace in ACE_NAMES for arg in ("-c", f"http.curloptResolve={ace}:{recorder.port}:127.0.0.1")]
    done = git(*resolve, "ls-remote", f"http://{name}:{recorder.port}/r.git")
    assert done.returncode != 0  # the recorder answers 401 to everything
    log = [(host.rpartition(":")[0], credential) for host, _, credential in recorder.log]
    assert log, f"git made no request for {name}: {done.stderr}"
    return log


def test_idna_lookalikes_never_get_the_token_curl_would_send_elsewhere(isolated_env):
    with HostRecorder() as recorder:
        write_config(isolated_env["GATEPASS_USER_CONFIG"], "".join(
            provider(f"{name}:{recorder.port}", f'{{ username = "u{i}", token = "{token}" }}')
            for i, (name, token) in enumerate(CONFIGURED.items())))
        home: dict[str, str] = {}  # token -> the Host curl sends for the name it was configured for
        for name, token in CONFIGURED.items():
            log = ls_remote(recorder, name)
            sent = {credential.partition(":")[2] for _, credential in log if credential}
            assert sent == {token}, f"{name}: the configured account must answer its own name ({log})"
            home[token] = log[0][0]
        assert home["tok-classic-0d1e"] == "git.classic-corp.example"
        assert home["tok-strasse-77aa"] == "xn--strae-oqa.example"  # curl keeps ß, as the config does
        for name in LOOKALIKES:
            for host, credential in ls_remote(recorder, name):
                token = credential.partition(":")[2] if credential else None
                assert token is None or home[token] == host, f"{name}: {token} went to {host}"


def test_token_for_a_lookalike_name_never_answers_the_plain_name(isolated_env):
    """The reverse direction: a config written with ß does not answer ``strasse.example``."""
    with HostRecorder() as recorder:
        write_config(isolated_env["GATEPASS_USER_CONFIG"],
                     provider(f"straße.example:{recorder.port}", '{ username = "u", token = "tok-sharp-s" }'))
        assert all(credential is None for _, credential in ls_remote(recorder, "strasse.example"))
        assert {c for _, c in ls_remote(recorder, "straße.example")} == {None, "u:tok-sharp-s"}


@pytest.mark.parametrize("path", ["acme/%2e%2e/other/app.git", "acme/%2E%2E/other/app.git",
                                  "acme/./%2e%2e/other/app.git", "acme/%2e%2e%2fother/app.git",
                                  "acme/%252e%252e/other/app.git", "acme%2f..%2fother/app.git"])
def test_organization_scope_is_decided_on_the_path_the_server_resolves(tmp_path, isolated_env, path):
    users = {"acme-bot": "tok-acme", "other-bot": "tok-other", "plain": "tok-plain"}
    with GitServer(str(tmp_path / "srv"), users, repos=("other/app.git",)) as server:
        domain = f"127.0.0.1:{server.port}"
        write_config(isolated_env["GATEPASS_USER_CONFIG"],
                     provider(domain, '{ username = "acme-bot", token = "tok-acme", organizations = ["acme"] }',
                              '{ username = "plain", token = "tok-plain" }'))
        git("-c", "credential.useHttpPath=true", "ls-remote", server.url + path)
        assert "acme-bot" not in {user for _, _, _, user in server.log}
        assert server.users_seen() <= {"plain"}
        # The same URL with only the scoped account: no token at all, never acme's.
        write_config(isolated_env["GATEPASS_USER_CONFIG"],
                     provider(domain, '{ username = "acme-bot", token = "tok-acme", organizations = ["acme"] }'))
        git("-c", "credential.useHttpPath=true", "ls-remote", server.url + path)
        assert "acme-bot" not in {user for _, _, _, user in server.log}


def test_organization_scope_still_answers_a_plain_path(tmp_path, isolated_env):
    users = {"acme-bot": "tok-acme"}
    with GitServer(str(tmp_path / "srv"), users, repos=("acme/app.git",)) as server:
        write_config(isolated_env["GATEPASS_USER_CONFIG"],
                     provider(f"127.0.0.1:{server.port}",
                              '{ username = "acme-bot", token = "tok-acme", organizations = ["acme"] }'))
        git("-c", "credential.useHttpPath=true", "ls-remote", server.url + "acme/./app.git", check=True)
        assert server.users_seen() == {"acme-bot"}

