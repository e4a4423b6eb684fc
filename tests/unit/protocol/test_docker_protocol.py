"""The docker helper protocol: exact stdout and exit code for every path, driven through main()."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatepass.protocol import docker
from tests.conftest import write_config

CONFIG = """
[[image_registry]]
accounts = [{ username = "hub", token = "tok-\\"hub\\"\\\\" }]
[[docker_registry]]
domain = "http://127.0.0.1:5000"
accounts = [{ username = "local", token = "tok-local" }]
[[docker_registry]]
domain = "ghcr.io"
accounts = [{ username = "gh", token = "tok-gh" }]
"""


class Unreadable(io.BytesIO):
    def read(self, *args):  # list must never read stdin (docker-py leaves the caller's attached)
        raise AssertionError("stdin was read")

    readline = read


def run(args, stdin: bytes | io.BytesIO = b"") -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.BytesIO()
    source = stdin if isinstance(stdin, io.BytesIO) else io.BytesIO(stdin)
    code = docker.main(args, source, out, err, dict(os.environ))
    return code, out.getvalue().decode(), err.getvalue().decode()


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_CONFIG", str(write_config(tmp_path / "c.toml", CONFIG)))


@pytest.mark.parametrize("server", ["https://index.docker.io/v1/", "docker.io", "index.docker.io",
                                    "registry-1.docker.io", "registry.hub.docker.com", "https://docker.io/v2/",
                                    "DOCKER.IO", "docker.io\n", "  https://index.docker.io/v1/  "])
def test_docker_hub_is_one_registry(server):
    code, out, err = run(["get"], server.encode())
    assert code == 0 and err == ""
    assert json.loads(out) == {"ServerURL": server.strip(), "Username": "hub", "Secret": 'tok-"hub"\\'}  # a token is one line now


@pytest.mark.parametrize("server", ["docker.io.evil.io", "evildocker.io", "index.docker.io.evil", "docker.io:5000",
                                    "https://index.docker.io/v1/refresh-token", "https://index.docker.io/v1/access-token",
                                    "localhost:5000", "127.0.0.1:5001", "ghcr.io.evil", "http://ghcr.io", "user@ghcr.io"])
def test_not_found_is_the_exact_docker_message(server):
    assert run(["get"], server.encode()) == (1, "credentials not found in native keychain\n", "")


def test_insecure_registry_answers_any_scheme():
    for server in ("127.0.0.1:5000", "http://127.0.0.1:5000", "https://127.0.0.1:5000/v2/"):
        assert json.loads(run(["get"], server.encode())[1])["Username"] == "local"


def test_get_without_server_url():
    assert run(["get"], b"  \n") == (1, "no credentials server URL\n", "")


def test_list_never_reads_stdin_and_lists_config_accounts():
    code, out, _ = run(["list"], Unreadable())
    assert code == 0
    assert json.loads(out) == {"https://index.docker.io/v1/": "hub", "127.0.0.1:5000": "local", "ghcr.io": "gh"}


def test_list_from_the_cache_is_byte_identical_with_and_without_stored_entries(monkeypatch):
    """#14: the cache keeps list's answer rendered; it is used only when no stored entry is merged in."""
    import time

    from gatepass.config import cache

    os.utime(os.environ["GATEPASS_CONFIG"], ns=(0, 0))  # mtime far from the parse; ctime: wait it out
    time.sleep(2 * cache.RACY_NS / 1e9)
    compact = {"separators": (",", ":")}
    # validation takes [[docker_registry]] before its [[image_registry]] alias, and list keeps that order
    expected = {"127.0.0.1:5000": "local", "ghcr.io": "gh", "https://index.docker.io/v1/": "hub"}
    cold = run(["list"], Unreadable())
    assert list(Path(os.environ["XDG_CACHE_HOME"], "gatepass").glob("config-*.cache"))  # written: warm next
    with monkeypatch.context() as patch:
        patch.setattr(docker, "render_list", lambda entries: pytest.fail("rendered again"))
        warm = run(["list"], Unreadable())
    assert warm == cold == (0, json.dumps(expected, **compact) + "\n", "")
    assert store("ghcr.io", "stored", "s")[0] == 0 and store("r.example", "other", "s")[0] == 0
    merged = {"ghcr.io": "stored", "r.example": "other", "127.0.0.1:5000": "local", "https://index.docker.io/v1/": "hub"}
    assert run(["list"], Unreadable()) == (0, json.dumps(merged, **compact) + "\n", "")


def test_list_is_an_empty_object_when_nothing_is_configured(monkeypatch):
    monkeypatch.delenv("GATEPASS_CONFIG")
    assert run(["list"], Unreadable()) == (0, "{}\n", "")


def test_version_and_usage():
    for flag in ("version", "-v", "--version"):
        assert run([flag]) == (0, "docker-credential-gatepass (gatepass) 0.1.0\n", "")
    assert run([])[0] == 1 and run([])[1].startswith("Usage: docker-credential-gatepass")
    assert run(["-h"])[0] == 0
    assert run(["get", "extra"])[0] == 1


def test_unknown_action():
    assert run(["frobnicate"]) == (1, "Unknown credential action `frobnicate`\n", "")


def test_erase_of_something_absent_succeeds():
    assert run(["erase"], b"nothing.example:5000\n") == (0, "", "")


def test_output_is_valid_json_for_any_secret():
    for value in ['"', "\\", "\x00\x1f", "\u2028", "é€😀", "a\r\nb"]:
        line = docker.render_credentials("s", "u", value)
        assert line.endswith("\n") and "\n" not in line[:-1]
        assert json.loads(line)["Secret"] == value


# Any code point, lone surrogates included: docker's JSON can carry "\ud800" and Go's json accepts it.
TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()))


@settings(max_examples=500, deadline=None)
@given(TEXT, TEXT, TEXT, st.dictionaries(TEXT, TEXT, max_size=5))
def test_json_output_is_byte_identical_to_json_dumps(server, username, secret, entries):
    compact = {"separators": (",", ":")}
    expected = json.dumps({"ServerURL": server, "Username": username, "Secret": secret}, **compact) + "\n"
    assert docker.render_credentials(server, username, secret) == expected
    assert docker.render_list(entries) == json.dumps(entries, **compact) + "\n"
    assert json.loads(expected)["Secret"] == secret  # and it reads back to the same text


def test_a_secret_with_a_lone_surrogate_round_trips():
    """#15: store accepted a lone surrogate, then the hand-written JSON writer crashed get on it (UnicodeEncodeError)."""
    body = b'{"ServerURL": "r.example", "Username": "u\\udfff", "Secret": "a\\ud800b"}'
    assert run(["store"], body) == (0, "", "")
    code, out, err = run(["get"], b"r.example")
    assert (code, err) == (0, "")
    assert out == '{"ServerURL":"r.example","Username":"u\\udfff","Secret":"a\\ud800b"}\n'
    assert json.loads(out)["Secret"] == "a\ud800b"
    assert json.loads(run(["list"], Unreadable())[1])["r.example"] == "u\udfff"


def store(server: str, username: str, secret: str, **extra: str) -> tuple[int, str, str]:
    return run(["store"], json.dumps({"ServerURL": server, "Username": username, "Secret": secret, **extra}).encode())


def test_store_get_erase_round_trip():
    assert store("registry.example:5000", "ci", "s3cret") == (0, "", "")
    assert json.loads(run(["get"], b"registry.example:5000")[1]) == {
        "ServerURL": "registry.example:5000", "Username": "ci", "Secret": "s3cret"}
    assert run(["erase"], b"https://registry.example:5000") == (0, "", "")
    assert run(["get"], b"registry.example:5000")[1] == "credentials not found in native keychain\n"


def test_identity_token_and_json_keys_round_trip_untouched():
    keyfile = json.dumps({"type": "service_account", "private_key": "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"},
                         indent=2)
    for server, username, secret in (("https://index.docker.io/v1/", "<token>", "identity-token"),
                                     ("gcr.io", "_json_key", keyfile),
                                     ("eu.gcr.io", "_json_key_base64", "eyJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCJ9")):
        assert store(server, username, secret)[0] == 0
        got = json.loads(run(["get"], server.encode())[1])
        assert (got["Username"], got["Secret"]) == (username, secret)


def test_store_accepts_any_json_encoding():
    body = b'{\n  "serverurl": "r.example",\n  "USERNAME": "u",\n  "Secret": "\\u00e9\\n\\"x\\""\n}\n'
    assert run(["store"], body)[0] == 0
    assert json.loads(run(["get"], b"r.example")[1])["Secret"] == 'é\n"x"'


def test_refresh_token_keys_are_exact_and_never_folded():
    assert store("https://index.docker.io/v1/refresh-token", "u", "refresh")[0] == 0
    assert json.loads(run(["get"], b"https://index.docker.io/v1/refresh-token")[1])["Secret"] == "refresh"
    assert json.loads(run(["get"], b"https://index.docker.io/v1/")[1])["Username"] == "hub"  # the config account
    assert run(["get"], b"https://index.docker.io/v1/access-token")[0] == 1
    listed = json.loads(run(["list"], Unreadable())[1])
    assert listed["https://index.docker.io/v1/refresh-token"] == "u"


def test_a_new_username_replaces_the_old_credential_for_a_server():
    store("r.example", "one", "1")
    store("r.example", "two", "2")
    assert json.loads(run(["get"], b"r.example")[1])["Username"] == "two"
    assert json.loads(run(["list"], Unreadable())[1])["r.example"] == "two"


@pytest.mark.parametrize("body, message", [
    (b'{"ServerURL": "", "Username": "u", "Secret": "s"}', "no credentials server URL\n"),
    (b'{"ServerURL": "r.example", "Username": "", "Secret": "s"}', "no credentials username\n"),
    (b'{"ServerURL": "r.example", "Secret": "s"}', "no credentials username\n"),
    (b"not json", "store needs a JSON object with ServerURL, Username and Secret\n"),
    (b"[1]", "store needs a JSON object with ServerURL, Username and Secret\n"),
    (b'{"ServerURL": 5, "Username": "u", "Secret": "s"}', "ServerURL, Username and Secret must be strings\n"),
    (b'{"ServerURL": "bad host!", "Username": "u", "Secret": "s"}', "ServerURL is not a registry host[:port] or URL\n"),
])
def test_store_errors_are_exact_and_store_nothing(body, message):
    assert run(["store"], body) == (1, message, "")
    assert set(json.loads(run(["list"], Unreadable())[1])) == {"https://index.docker.io/v1/", "127.0.0.1:5000", "ghcr.io"}


def test_store_of_what_config_already_gives_is_skipped(isolated_env):
    assert store("ghcr.io", "gh", "tok-gh")[0] == 0
    assert not os.path.exists(os.path.join(isolated_env["XDG_DATA_HOME"], "gatepass", "index"))
