"""Issue #11 items 1, 4, 5 and two host parsing bugs of #15, each written out as the attack it stops.

The wire-level proofs (real git, real curl) are in tests/e2e/test_host_confusion.py; these pin
the rules themselves so a mutation fails fast.
"""

from __future__ import annotations

import io
import os

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from gatepass.hosts import normalize_domain, normalize_host
from gatepass.model import Account, Request
from gatepass.protocol import git
from gatepass.resolver import rank
from tests.conftest import write_config


def _account(username: str, organizations: tuple[str, ...], *, host: str = "github.com", order: int = 1) -> Account:
    return Account(kind="git", domain=host, host=host, port=None, secure=True, username=username,
                   secret_kind="inline", secret_ref="t", layer="user", rank=2, file="/u.toml",
                   organizations=organizations, line=order, order=order)


# --- item 1: IDNA as curl does it (UTS #46 non-transitional), never IDNA2003 ------------------


@pytest.mark.parametrize(("written", "other"), [
    ("git.classic-corp.example", "git.claßic-corp.example"),   # ß is not ss
    ("strasse.example", "straße.example"),
    ("git.corpσ.example", "git.corpς.example"),                # final sigma is not sigma
    ("ab.example", "a\u200db.example"),                         # a joiner is not nothing
    ("xn--bcher-kva.example", "bucher.example"),
])
def test_deviation_characters_keep_names_apart(written, other):
    assert normalize_host(written) != normalize_host(other)


@pytest.mark.parametrize(("host", "ace"), [
    ("straße.example", "xn--strae-oqa.example"),
    ("ΟΔΟΣ.example", "xn--pxavbq.example"),       # UTS #46 maps a final capital sigma to σ (str.lower() to ς)
    ("Bücher.Example.", "xn--bcher-kva.example"),
    ("bücher。example", "xn--bcher-kva.example"),  # ideographic full stop is a dot, as for curl
])
def test_non_ascii_names_are_encoded_as_curl_encodes_them(host, ace):
    assert normalize_host(host) == ace


@pytest.mark.parametrize("host", [
    "a\u200db.example",      # ZWJ outside its context: curl falls back to transitional (ab.example)
    "STRAẞE.example",        # libidn2 2.3 maps ẞ to ss, Unicode 15.1 tables to ß: no spelling to trust
    "Straße.example",        # a deviation character in a name UTS #46 must still map: not its exact form
    "exa mple.example\u00e9", "\u00e9..example", "-ü.example"])
def test_names_uts46_refuses_are_no_host(host):
    assert normalize_host(host) is None


def test_the_lookalike_gets_no_account():
    account = _account("bot", (), host="git.classic-corp.example")
    request = Request("git", "https", normalize_host("git.claßic-corp.example") or "", None)
    assert rank(request, [account])[0] == []


# --- #15: domain and host:port parsing ----------------------------------------------------------


@pytest.mark.parametrize("text", ["http://https://x.example", "https://http://x.example", "https://https://x.example"])
def test_a_domain_with_two_schemes_is_an_error(text):
    with pytest.raises(ValueError):
        normalize_domain("docker", text)


def test_login_opens_the_store_for_the_host_of_an_ipv6_literal(isolated_env, monkeypatch):
    seen: list[str] = []
    from gatepass import app

    real = app.store_for
    monkeypatch.setattr(app, "store_for", lambda host, env, report: seen.append(host) or real(host, env, report))
    monkeypatch.setenv("GATEPASS_STORE_BACKEND", "encrypted-file")
    monkeypatch.setenv("GATEPASS_STORE_PASSPHRASE", "pw")
    for domain in ("http://[::1]", "http://[::1]:8080", "git.example:8443"):
        result = CliRunner().invoke(cli, ["login", "git", domain, "-u", "me", "--token-stdin"], input="tok\n")
        assert result.exit_code == 0, result.output
    assert seen == ["[::1]", "[::1]", "git.example"]


# --- item 4: organization scope on the path the server resolves ----------------------------------


ACCOUNTS = [_account("acme-bot", ("acme",), order=1), _account("other-bot", ("other",), order=2),
            _account("plain", (), order=3)]


def _answers(path: str | None) -> list[str]:
    return [c.account.username for c in rank(Request("git", "https", "github.com", None, path), ACCOUNTS)[0]]


@pytest.mark.parametrize("path", [
    "acme/%2e%2e/other/app.git", "acme/%2E%2e/other/app.git", "acme/.%2e/other/app.git",
    "acme%2f..%2fother/app.git", "acme%2Fother/app.git", "acme/%252e%252e/other/app.git",
    "acme/..;/other/app.git", "acme\\..\\other/app.git", "acme/%5c..%5cother/app.git", "acme/..", "/",
    "%61cme/app.git", "acme/%ff/app.git",
])
def test_ambiguous_paths_get_only_unscoped_accounts(path):
    assert _answers(path) == ["plain"]


@pytest.mark.parametrize(("path", "first"), [
    ("acme/../other/app.git", "other-bot"),      # what git sends for /acme/%2e%2e/other: the server's view
    ("acme/./app.git", "acme-bot"), ("./acme/app.git", "acme-bot"), ("ACME/app.git", "acme-bot"),
    ("x/../../acme/app.git", "acme-bot"), ("acme/app%2Bx.git", "acme-bot"),
])
def test_dot_segments_are_removed_before_the_organization_is_read(path, first):
    assert _answers(path) == [first, "plain"]


def test_no_path_still_lets_scoped_accounts_answer_after_unscoped():
    assert _answers(None) == ["plain", "acme-bot", "other-bot"]


def test_server_path_is_rfc3986_remove_dot_segments():
    from gatepass.model import server_path

    assert server_path("a/b/c/./../../g") == "/a/g"
    assert server_path("mid/content=5/../6") == "/mid/6"


# --- item 5: hygiene -------------------------------------------------------------------------------

GIT_CONFIG = '[[git_provider]]\ndomain = "example.com"\naccounts = [{ username = "bot", token = "tok-bot" }]\n'


def _git(stdin: bytes, action: str = "get") -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    code = git.main([action], io.BytesIO(stdin), out, err, dict(os.environ))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("request_bytes", [
    b"protocol=https\nhost=example.com\nhost=example.com\n",
    b"protocol=https\nprotocol=https\nhost=example.com\n",
    b"protocol=https\nhost=example.com\npath=a\npath=a\n",
    b"protocol=https\nhost=evil.io\nhost=example.com\n",
])
def test_repeated_protocol_host_or_path_gets_no_answer(tmp_path, monkeypatch, request_bytes):
    monkeypatch.setenv("GATEPASS_CONFIG", str(write_config(tmp_path / "c.toml", GIT_CONFIG)))
    code, out, err = _git(request_bytes)
    assert (code, out) == (0, b"")
    assert err.count(b"\n") == 1 and b"repeats" in err


def test_other_repeated_keys_keep_gits_last_value_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_CONFIG", str(write_config(tmp_path / "c.toml", GIT_CONFIG)))
    assert _git(b"protocol=https\nhost=example.com\nusername=nobody\nusername=bot\n")[1] == \
        b"username=bot\npassword=tok-bot\n"
    assert _git(b"protocol=https\nhost=example.com\nusername=bot\nusername=nobody\n")[1] == b""


CANARY = "ghp_CanaryToken0123456789abcdefABCDEF"


@pytest.mark.parametrize("account", [f'token_env = "{CANARY}"', f'token_file = "{CANARY}"'])
def test_a_token_put_in_a_reference_key_is_never_echoed(tmp_path, monkeypatch, account):
    config = write_config(tmp_path / "c.toml",
                          f'[[git_provider]]\ndomain = "example.com"\naccounts = [{{ username = "bot", {account} }}]\n')
    monkeypatch.setenv("GATEPASS_CONFIG", str(config))
    code, out, err = _git(b"protocol=https\nhost=example.com\n")
    assert out == b"" and err and CANARY.encode() not in err
    assert f"{config}:3".encode() in err
    for args in (["config", "check"], ["list"], ["explain", "https://example.com/x/y.git"], ["doctor"]):
        result = CliRunner().invoke(cli, args)
        assert CANARY not in result.stdout + result.stderr, args


@pytest.mark.parametrize("setting", [f'passphrase_env = "{CANARY}"', f'passphrase_file = "{CANARY}"'])
def test_a_passphrase_put_in_a_store_reference_is_never_echoed(tmp_path, monkeypatch, setting):
    config = write_config(tmp_path / "c.toml", f'[store]\nbackend = "encrypted-file"\n{setting}\n')
    monkeypatch.setenv("GATEPASS_CONFIG", str(config))
    monkeypatch.delenv("GATEPASS_STORE_PASSPHRASE", raising=False)
    monkeypatch.delenv("GATEPASS_STORE_BACKEND", raising=False)
    code, out, err = _git(b"protocol=https\nhost=example.com\nusername=u\npassword=p\n", "store")
    assert err and CANARY.encode() not in err
    result = CliRunner().invoke(cli, ["login", "git", "example.com", "-u", "me", "--token-stdin"], input="tok\n")
    assert result.exit_code != 0 and CANARY not in result.stdout + result.stderr


@pytest.mark.parametrize("value", [f'passphrase = "{CANARY}"', f'passphrase_env = ["{CANARY}"]', f'token = 5\n{CANARY} = 1'])
def test_schema_errors_name_file_line_and_key_only(tmp_path, monkeypatch, value):
    config = write_config(tmp_path / "c.toml", f"[store]\n{value}\n")
    monkeypatch.setenv("GATEPASS_CONFIG", str(config))
    result = CliRunner().invoke(cli, ["config", "check"])
    assert result.exit_code != 0 and str(config) in result.stderr
    assert CANARY not in result.stdout + result.stderr.replace(f"{CANARY}: unknown key", "")


ESCAPES = "ev\x1b[2J\x1b]8;;http://x\x07il\x9b31m\u202e\x00"


def test_list_and_explain_never_print_control_characters(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_STORE_BACKEND", "encrypted-file")
    monkeypatch.setenv("GATEPASS_STORE_PASSPHRASE", "pw")
    attrs = f"protocol=https\nhost=example.com\nusername={ESCAPES.replace(chr(0), '')}\npassword=p\n".encode()
    assert _git(attrs, "store")[0] == 0
    for args in (["list"], ["explain", "https://example.com/acme/x.git"], ["explain", "https://example.com/a%1b[2J/x"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        text = result.stdout + result.stderr
        assert "ev\\x1b[2J" in text or args[1].endswith("%1b[2J/x")
        assert not any(ord(c) < 0x20 and c != "\n" or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in text), args


def test_printable_escapes_and_keeps_plain_text():
    from gatepass.cli.terminal import printable

    assert printable("a\tb\x7fc\u2066") == "a\\x09b\\x7fc\\u2066"
    assert printable("bücher") == "bücher"


def test_import_git_credentials_keeps_the_path_and_answers_only_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_STORE_BACKEND", "encrypted-file")
    monkeypatch.setenv("GATEPASS_STORE_PASSPHRASE", "pw")
    monkeypatch.setenv("GATEPASS_CONFIG", "/dev/null")
    source = tmp_path / "git-credentials"
    source.write_text("https://bot:tok-path@git.example/acme/app.git\nhttps://all:tok-all@host.example\n")
    result = CliRunner().invoke(cli, ["import", "git-credentials", str(source)])
    assert result.exit_code == 0, result.output
    assert _git(b"protocol=https\nhost=git.example\npath=acme/app.git\n")[1] == b"username=bot\npassword=tok-path\n"
    assert _git(b"protocol=https\nhost=git.example\npath=acme/other.git\n")[1] == b""
    assert _git(b"protocol=https\nhost=git.example\n")[1] == b""  # not for every repository on the host
    assert _git(b"protocol=https\nhost=host.example\npath=any/x.git\n")[1] == b"username=all\npassword=tok-all\n"
