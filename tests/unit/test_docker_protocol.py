"""The docker helper protocol: exact stdout and exit code for every path, driven through main()."""

from __future__ import annotations

import io
import json
import os

import pytest

from gatepass.protocol import docker
from tests.conftest import write_config

CONFIG = """
[[image_registry]]
accounts = [{ username = "hub", token = "tok-\\"hub\\"\\n" }]
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
    assert json.loads(out) == {"ServerURL": server.strip(), "Username": "hub", "Secret": 'tok-"hub"\n'}


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
