"""The CLI's pure helpers: doctests, URL splitting and kind guessing for explain, the helper-list rule, signal holding."""

from __future__ import annotations

import doctest
import os
import signal

import pytest

from gatepass.cli import dockerconfig, gitconfig, interrupts, targets
from gatepass.cli.gitconfig import effective_helpers, helpers_wanted


@pytest.mark.parametrize("module", [targets, gitconfig, dockerconfig], ids=lambda m: m.__name__)
def test_doctests(module):
    failed, tried = doctest.testmod(module)
    assert tried > 0 and failed == 0


@pytest.mark.parametrize("url, expected", [
    ("https://github.com/acme/app.git", ("https", "github.com", None, "acme/app.git", None)),
    ("HTTPS://GitHub.COM./Acme/App.git/", ("https", "github.com", None, "Acme/App.git", None)),
    ("http://git.example:80/x", ("http", "git.example", None, "x", None)),
    ("https://git.example:8443/x", ("https", "git.example", 8443, "x", None)),
    ("https://a%40b:pw@host/a%20b/c", ("https", "host", None, "a b/c", "a@b")),
    ("https://me@host", ("https", "host", None, None, "me")),
    ("https://@host/x", ("https", "host", None, "x", "")),  # git sends an empty username too
    ("github.com/acme/app", ("https", "github.com", None, "acme/app", None)),
    ("https://[::1]:3000/r", ("https", "[::1]", 3000, "r", None)),
])
def test_parse_git_url_splits_like_git(url, expected):
    t = targets.parse_git_url(url)
    assert (t.scheme, t.host, t.port, t.path, t.username) == expected


@pytest.mark.parametrize("url, message", [
    ("git@github.com:acme/app.git", "ssh address"),
    ("ssh://git@github.com/acme/app.git", "ssh:// URL"),
    ("ftp://host/x", "only for http and https"),
    ("https://github.com.evil.io@/x", "no valid host"),
    ("https://bad host/x", "no valid host"),
])
def test_parse_git_url_refuses_what_git_would_not_ask_a_helper_for(url, message):
    with pytest.raises(ValueError, match=message):
        targets.parse_git_url(url)


def test_parse_git_url_never_keeps_a_password():
    t = targets.parse_git_url("https://me:tok-secret@host/x")
    assert "tok-secret" not in repr([getattr(t, s) for s in t.__slots__]) and "tok-secret" not in t.url()
    assert targets.redact("https://me:tok-secret@host/x") == "https://me:***@host/x"


@pytest.mark.parametrize("target, kind", [
    ("https://github.com/acme/app.git", "git"), ("http://127.0.0.1:8080/r.git", "git"),
    ("https://github.com", "docker"), ("http://127.0.0.1:5000/", "docker"),
    ("github.com/acme/app", "git"), ("me@github.com", "git"), ("host/r.git", "git"),
    ("ghcr.io", "docker"), ("127.0.0.1:5000", "docker"), ("localhost:5000", "docker"),
    ("docker.io", "docker"), ("registry-1.docker.io", "docker"), ("https://index.docker.io/v1/", "docker"),
    ("https://index.docker.io/v1/refresh-token", "docker"), ("https://ghcr.io/v2/", "docker"), ("http://reg:5000/v2", "docker"),
])
def test_guess_kind_follows_the_documented_rule(target, kind):
    assert targets.guess_kind(target)[0] == kind


@pytest.mark.parametrize("target, server", [
    ("ghcr.io/acme/app:1.0", "ghcr.io"), ("localhost:5000/img", "localhost:5000"), ("library/ubuntu", "docker.io"),
    ("acme/app", "docker.io"), ("ghcr.io", "ghcr.io"), ("https://ghcr.io/v2/", "https://ghcr.io/v2/"),
])
def test_docker_server_of_an_image_reference_is_its_registry(target, server):
    assert targets.docker_server(target)[0] == server


@pytest.mark.parametrize("current, wanted", [
    ([], ["gatepass"]),
    (["gatepass"], ["gatepass"]),
    (["store", "cache --timeout=60"], ["gatepass", "store", "cache --timeout=60"]),
    (["store", "gatepass", "gatepass"], ["gatepass", "store"]),
    (["osxkeychain", "", "store"], ["osxkeychain", "", "gatepass", "store"]),
    (["", "gatepass", "store"], ["", "gatepass", "store"]),
    (["store", "/opt/bin/git-credential-gatepass"], ["/opt/bin/git-credential-gatepass", "store"]),
])
def test_keep_helpers_puts_gatepass_first_after_the_last_reset_and_keeps_the_rest(current, wanted):
    helper = next((v for v in current if "gatepass" in v), "gatepass")
    assert helpers_wanted(current, helper, keep=True) == wanted
    assert effective_helpers(wanted)[0] in ("gatepass", "/opt/bin/git-credential-gatepass")
    assert helpers_wanted(current, "/opt/bin/git-credential-gatepass") == ["", "/opt/bin/git-credential-gatepass"]


def test_deferred_interrupts_hold_ctrl_c_until_the_block_ends(sigint_handler):
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts.deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")  # still running: the interrupt is held
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_deferred_interrupts_without_a_signal_change_nothing(sigint_handler):
    with interrupts.deferred_interrupts():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
