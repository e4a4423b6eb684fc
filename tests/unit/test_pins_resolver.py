"""Resolution rules pinned one by one (issue #29): each test fails when its one rule is removed, where
the usual request shape lets a second check catch the same case (docs/design.md §2)."""

from __future__ import annotations

import pytest

from gatepass.hosts import parse_authority
from gatepass.model import NO_ORGANIZATION, Account, Request, server_path
from gatepass.resolver import judge


def account(domain: str, *, kind: str = "git", https: bool = True, layer: str = "user",
            orgs: tuple[str, ...] = ()) -> Account:
    host, port = parse_authority(domain, "https" if https else "http", wildcard=True)
    return Account(kind=kind, domain=domain, host=host, port=port, secure=https, username="bot",
                   secret_kind="inline", secret_ref="t", organizations=orgs, layer=layer, rank=2,
                   file=f"/{layer}.toml", line=1, order=1)


def test_an_https_only_account_on_an_explicit_port_never_answers_plain_http():
    """With the port written out, both schemes ask for the same port: only the scheme rule refuses."""
    judged = judge(account("git.example:8443"), Request("git", "http", "git.example", 8443))
    assert (judged.ok, judged.rule) == (False, "scheme") and "https-only" in judged.reason
    assert judge(account("git.example:8443"), Request("git", "https", "git.example", 8443)).ok


@pytest.mark.parametrize("scheme", ["ssh", "ftp", "file", "git"])
def test_a_git_account_answers_http_and_https_only(scheme):
    judged = judge(account("git.example:8443", https=False), Request("git", scheme, "git.example", 8443))
    assert (judged.ok, judged.rule) == (False, "scheme")
    assert judge(account("git.example:8443", https=False), Request("git", "http", "git.example", 8443)).ok


def test_an_exact_docker_key_is_answered_by_a_stored_entry_only():
    """The exact key alone, without a path that the docker path rule would also refuse."""
    key = "https://index.docker.io/v1/refresh-token"
    request = Request("docker", "https", "docker.io", None, exact_key=key)
    judged = judge(account("docker.io", kind="docker"), request)
    assert (judged.ok, judged.rule) == (False, "host") and "exact key" in judged.reason
    assert judge(account("docker.io", kind="docker", layer="store"), request).ok


def test_a_docker_key_with_a_path_is_not_answered_by_a_path_less_account():
    """No exact key set: only the docker path rule stands between the two."""
    judged = judge(account("r.example", kind="docker"), Request("docker", "https", "r.example", None, path="/team"))
    assert (judged.ok, judged.rule) == (False, "path")
    assert judge(account("r.example", kind="docker"), Request("docker", "https", "r.example", None)).ok


def test_a_backslash_in_the_path_as_git_sent_it_names_no_organization():
    """``x\\y/../..``: RFC 3986 removes the backslash's segment, a server splitting on it would not."""
    assert server_path("acme/x\\y/../../other/r.git") is None
    request = Request("git", "https", "git.example", None, path="acme/x\\y/../../other/r.git")
    assert request.first_segment() == NO_ORGANIZATION
    assert not judge(account("git.example", orgs=("other",)), request).ok


def test_a_backslash_a_second_decoding_makes_names_no_organization():
    """``%255c``: no backslash until the server decodes again, then ``\\..\\..\\`` climbs out of acme."""
    path = "acme/%255c..%255c..%255cother/r.git"
    assert server_path(path) is None
    request = Request("git", "https", "git.example", None, path=path)
    assert request.first_segment() == NO_ORGANIZATION
    assert not judge(account("git.example", orgs=("acme",)), request).ok
    assert server_path("acme/x%255cy") is None and server_path("acme/r.git") == "/acme/r.git"
