"""Resolution steps 1-6: host confusion, wildcards, ports, IDNA, schemes, usernames, organizations, order."""

from __future__ import annotations

import pytest

from gatepass.hosts import parse_authority
from gatepass.model import Account, Request
from gatepass.resolver import rank


def account(domain: str = "github.com", username: str = "bot", *, https: bool = True, orgs: tuple[str, ...] = (),
            layer: str = "user", rank_: int = 2, order: int = 1, kind: str = "git") -> Account:
    host, port = parse_authority(domain, "https" if https else "http", wildcard=True)
    return Account(kind=kind, domain=domain, host=host, port=port, secure=https, username=username,
                   secret_kind="inline", secret_ref="t", organizations=orgs, layer=layer, rank=rank_,
                   file=f"/{layer}.toml", line=order, order=order)


def git_request(url_host: str, scheme: str = "https", path: str | None = None, username: str | None = None):
    parsed = parse_authority(url_host, scheme)
    if parsed is None:
        return None
    return Request("git", scheme, parsed[0], parsed[1], path, username)


def answers(request, accounts):
    if request is None:
        return []
    return [c.account.username for c in rank(request, accounts)[0]]


@pytest.mark.parametrize("host", [
    "github.com.evil.io", "evilgithub.com", "github.com@evil.io", "evil.io@github.com", "github.co",
    "github.com:8443", "ithub.com", "github.comm", "xn--github-.com", "github.com..", "github.com/evil",
    "gith\u0131b.com", "*.github.com", "",
])
def test_lookalike_hosts_get_nothing(host):
    assert answers(git_request(host), [account("github.com")]) == []


@pytest.mark.parametrize("host", ["github.com", "GitHub.COM", "github.com.", "github.com:443"])
def test_same_host_written_differently_matches(host):
    assert answers(git_request(host), [account("github.com")]) == ["bot"]


def test_default_port_is_dropped_but_other_ports_differ():
    assert answers(git_request("example.com:8443"), [account("example.com:8443")]) == ["bot"]
    assert answers(git_request("example.com"), [account("example.com:8443")]) == []
    assert answers(git_request("example.com:80", "http"), [account("example.com", https=False)]) == ["bot"]


def test_idna_names_match_their_punycode():
    assert answers(git_request("xn--bcher-kva.example"), [account("bücher.example")]) == ["bot"]
    assert answers(git_request("bücher.example"), [account("xn--bcher-kva.example")]) == ["bot"]
    assert answers(git_request("bucher.example"), [account("bücher.example")]) == []


def test_wildcard_matches_exactly_one_label():
    wild = [account("*.example.com")]
    assert answers(git_request("git.example.com"), wild) == ["bot"]
    assert answers(git_request("example.com"), wild) == []
    assert answers(git_request("a.b.example.com"), wild) == []
    assert answers(git_request("git.example.com.evil.io"), wild) == []


def test_https_only_domain_never_answers_plain_http():
    assert answers(git_request("example.com", "http"), [account("example.com")]) == []
    assert answers(git_request("example.com", "http"), [account("example.com", https=False)]) == ["bot"]


def test_other_protocols_are_not_answered():
    assert answers(git_request("example.com", "smtp"), [account("example.com")]) == []


def test_username_in_request_filters_accounts():
    accounts = [account(username="a"), account(username="b", order=2)]
    assert answers(git_request("github.com", username="b"), accounts) == ["b"]
    assert answers(git_request("github.com", username="c"), accounts) == []


def test_organization_scoping():
    accounts = [account(username="plain", order=1), account(username="acme-bot", orgs=("acme",), order=2)]
    assert answers(git_request("github.com", path="Acme/repo.git"), accounts) == ["acme-bot", "plain"]
    assert answers(git_request("github.com", path="other/repo.git"), accounts) == ["plain"]
    assert answers(git_request("github.com"), accounts) == ["plain", "acme-bot"]


def test_precedence_store_user_host_global_then_file_order():
    accounts = [account(username="g", layer="global", rank_=0, order=1),
                account(username="h1", layer="host", rank_=1, order=2),
                account(username="h2", layer="host", rank_=1, order=3),
                account(username="u", layer="user", rank_=2, order=4),
                account(username="s", layer="store", rank_=9, order=5)]
    assert answers(git_request("github.com"), accounts) == ["s", "u", "h1", "h2", "g"]


def test_scoped_match_beats_higher_layer():
    accounts = [account(username="global-acme", layer="global", rank_=0, orgs=("acme",)),
                account(username="user", layer="user", rank_=2, order=2)]
    assert answers(git_request("github.com", path="acme/x"), accounts) == ["global-acme", "user"]


def test_ruled_out_candidates_carry_the_rule():
    accounts = [account("other.com"), account(username="x"), account(orgs=("acme",), username="y")]
    eligible, ruled_out = rank(git_request("github.com", path="zed/r", username="y"), accounts)
    assert [(c.account.username, c.rule) for c in ruled_out] == [("bot", "host"), ("x", "username"),
                                                                ("y", "organization")]
    assert eligible == []


def test_docker_accounts_never_answer_git():
    assert answers(git_request("github.com"), [account(kind="docker")]) == []
