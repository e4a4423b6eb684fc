"""The git helper protocol: parsing, refusals and rendering, driven through main() in-process."""

from __future__ import annotations

import io
import os

import pytest

from gatepass.errors import GatepassError, InvalidRequestError
from gatepass.protocol import git
from tests.conftest import write_config

CONFIG = """
[[git_provider]]
domain = "example.com"
accounts = [{ username = "bot", token = "tok-bot" }, { username = "ops", token = "tok-ops" }]
"""


def run(stdin: bytes, action: str = "get", env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    code = git.main([action], io.BytesIO(stdin), out, err, dict(os.environ) if env is None else env)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = write_config(tmp_path / "c.toml", CONFIG)
    monkeypatch.setenv("GATEPASS_CONFIG", str(path))
    return path


def test_git_get_answers_username_and_password_only(config):
    code, out, err = run(b"protocol=https\nhost=example.com\n")
    assert (code, out, err) == (0, b"username=bot\npassword=tok-bot\n", b"")


def test_git_get_ignores_unknown_attributes_and_capabilities(config):
    code, out, _ = run(b"capability[]=authtype\nprotocol=https\nwwwauth[]=Basic realm=x\nhost=example.com\nfoo=bar\n")
    assert out == b"username=bot\npassword=tok-bot\n"


def test_git_get_stops_at_blank_line(config):
    code, out, _ = run(b"protocol=https\nhost=example.com\n\nusername=ops\n")
    assert out == b"username=bot\npassword=tok-bot\n"


def test_git_get_username_picks_account(config):
    assert run(b"protocol=https\nhost=example.com\nusername=ops\n")[1] == b"username=ops\npassword=tok-ops\n"
    assert run(b"protocol=https\nhost=example.com\nusername=nobody\n")[1] == b""


@pytest.mark.parametrize("request_bytes", [
    b"protocol=https\r\nhost=example.com\n",            # CVE-2024-52006: CR is not a line end
    b"protocol=https\nhost=example.com\r\n",
    b"protocol=https\nhost=example.com\x00evil.io\n",
    b"protocol=https\nhost=example.com\rhost=evil.io\n",
])
def test_git_get_refuses_cr_and_nul(config, request_bytes):
    code, out, err = run(request_bytes)
    assert (code, out) == (0, b"")
    assert err.count(b"\n") == 1 and err.startswith(b"gatepass: ")


@pytest.mark.parametrize("request_bytes", [b"", b"host=example.com\n", b"protocol=https\n", b"protocol=https\nhost=\n"])
def test_git_get_without_protocol_and_host_gets_no_answer(config, request_bytes):
    code, out, err = run(request_bytes)
    assert (code, out) == (0, b"")


def test_git_get_newline_in_url_cannot_inject_host(config):
    # CVE-2020-5260: git once turned "%0a" in a URL into a second line; each line stands alone here.
    code, out, _ = run(b"protocol=https\nhost=evil.io\npath=x\nhost=evil.io\n")
    assert out == b""


def test_git_unknown_action_is_ignored(config):
    assert run(b"protocol=https\nhost=example.com\n", action="frobnicate") == (0, b"", b"")


def test_git_store_and_erase_do_not_write_to_stdout(config):
    for action in ("store", "erase"):
        code, out, _ = run(b"protocol=https\nhost=example.com\nusername=x\npassword=y\n", action=action)
        assert (code, out) == (0, b"")


def test_render_refuses_values_with_line_breaks():
    for bad in ("a\nb", "a\rb", "a\0b"):
        with pytest.raises(GatepassError):
            git.render("user", bad, None)
        with pytest.raises(GatepassError):
            git.render(bad, "pw", None)
    assert git.render("u", "p", 1700000000) == b"username=u\npassword=p\npassword_expiry_utc=1700000000\n"


def test_config_token_with_newline_is_never_printed(tmp_path, monkeypatch):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\ndomain="example.com"\n'
                        'accounts=[{username="bot", token="tok\\nhost=evil"}]\n')
    monkeypatch.setenv("GATEPASS_CONFIG", str(path))
    code, out, err = run(b"protocol=https\nhost=example.com\n")
    assert out == b"" and b"host=evil" not in err and b"tok\\n" not in err  # the value, not the word "token"


def test_read_request_is_bounded():
    with pytest.raises(InvalidRequestError):
        git.read_request(io.BytesIO(b"a" * (git.MAX_REQUEST_BYTES + 10)))


def test_parse_splits_on_newline_only():
    # \x0b, \x0c, \x1c-\x1e, \x85, \u2028 are line ends for str.splitlines(); here they stay in the value.
    attrs = git.parse_request("protocol=https\nhost=example.com\u2028host=evil.io\n".encode())
    assert attrs["host"] == "example.com\u2028host=evil.io"
    with pytest.raises(InvalidRequestError):
        git.to_request(attrs)
