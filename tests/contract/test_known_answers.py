"""Known answers: store files made by gatepass 0.x (tests/fixtures/store/, see make.py there) still open
and give exactly the values they were made with (issue #15: format drift made every existing file
unreadable and no test noticed).

Pinned this way: the index line format and its escaping, the key scheme (service names, the refresh
token's item name, docker's exact keys), the encrypted file's magic, version, key-type byte, AAD
and scrypt cost (a passphrase file made with n=2**14 opens only with n=2**14). The values below are
written out here, not imported from make.py, so neither can drift with the other.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from gatepass.errors import StoreUnavailableError
from gatepass.protocol import docker, git
from gatepass.stores.encrypted_file import EncryptedFileBackend
from gatepass.stores.index import Entry, Index

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "store"
PASSPHRASE = "correct horse battery staple"
ENTRIES = [
    ("git", "https", "git.example.com", "", "alice", 1700000000, 1700000001, "encrypted-file", None, True),
    ("git", "https", "git.example.com:8443", "org/repo.git", "bob", 1700000002, 1700000003, "encrypted-file",
     4102444800, False),
    ("git", "http", "[::1]:3000", "", "ünï cödé\ttab%", 1700000004, 1700000005, "encrypted-file", None, False),
    ("docker", "", "registry.example.com", "", "bot", 1700000006, 1700000007, "encrypted-file", None, False),
    ("docker", "", "docker.io", "https://index.docker.io/v1/refresh-token", "<token>", 1700000008, 1700000009,
     "encrypted-file", None, False),
]
SECRETS = {
    ("gatepass:git:https://git.example.com", "alice"): "alice-token",
    ("gatepass:git:https://git.example.com#oauth_refresh_token", "alice"): "alice-refresh",
    ("gatepass:git:https://git.example.com:8443/org/repo.git", "bob"): "bob-token",
    ("gatepass:git:http://[::1]:3000", "ünï cödé\ttab%"): "line1\r\nline2%25\0end",
    ("gatepass:docker:registry.example.com", "bot"): "bot-secret",
    ("gatepass:docker:https://index.docker.io/v1/refresh-token", "<token>"): "identity-token",
}


def _copy(name: str, to: Path) -> str:
    to.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.copyfile(FIXTURES / name, to)
    os.chmod(to, 0o600)  # git does not keep modes; the store insists on 0600
    return str(to)


def test_the_index_parses_to_the_known_entries_and_the_writer_reproduces_it_byte_for_byte(tmp_path):
    path = _copy("index", tmp_path / "index")
    entries = Index(path).entries()
    assert [tuple(getattr(e, name) for name in Entry.__slots__) for e in entries] == ENTRIES
    assert {(e.service(), e.username) for e in entries} | {
        ("gatepass:git:https://git.example.com#oauth_refresh_token", "alice")} == set(SECRETS)
    Index(path).update(lambda same: same)
    assert Path(path).read_bytes() == (FIXTURES / "index").read_bytes()


def test_the_machine_key_file_opens_with_its_key(tmp_path):
    assert (FIXTURES / "secrets-machine-key.enc").read_bytes()[:6] == b"GPEF\x01\x00"  # magic, version 1, machine key
    backend = EncryptedFileBackend(_copy("secrets-machine-key.enc", tmp_path / "data" / "secrets.enc"),
                                   key_file=_copy("machine.key", tmp_path / "config" / "machine.key"))
    assert sorted(backend.items()) == sorted(SECRETS)
    assert {key: backend.get(*key) for key in SECRETS} == SECRETS


def test_the_passphrase_file_opens_with_its_passphrase_and_only_with_it(tmp_path):
    assert (FIXTURES / "secrets-passphrase.enc").read_bytes()[:6] == b"GPEF\x01\x01"  # magic, version 1, scrypt
    path = _copy("secrets-passphrase.enc", tmp_path / "secrets.enc")
    backend = EncryptedFileBackend(path, passphrase=PASSPHRASE)
    assert {key: backend.get(*key) for key in SECRETS} == SECRETS
    with pytest.raises(StoreUnavailableError, match="wrong passphrase or key"):
        EncryptedFileBackend(path, passphrase=PASSPHRASE + " ").get("x", "y")


def test_the_helpers_answer_from_the_known_store(isolated_env):
    """The whole chain: index + secrets.enc + machine.key where a user's store keeps them."""
    _copy("index", Path(isolated_env["XDG_DATA_HOME"]) / "gatepass" / "index")
    _copy("secrets-machine-key.enc", Path(isolated_env["XDG_DATA_HOME"]) / "gatepass" / "secrets.enc")
    _copy("machine.key", Path(isolated_env["XDG_CONFIG_HOME"]) / "gatepass" / "machine.key")
    env = dict(os.environ, GATEPASS_STORE_BACKEND="encrypted-file")

    def ask_git(request: bytes) -> str:
        out = io.BytesIO()
        assert git.main(["get"], io.BytesIO(request), out, io.BytesIO(), env) == 0
        return out.getvalue().decode()

    def ask_docker(server: str) -> dict[str, str]:
        out = io.BytesIO()
        assert docker.main(["get"], io.BytesIO(server.encode()), out, io.BytesIO(), env) == 0, out.getvalue()
        answer: dict[str, str] = json.loads(out.getvalue())
        return answer

    assert ask_git(b"protocol=https\nhost=git.example.com\n") == \
        "username=alice\npassword=alice-token\noauth_refresh_token=alice-refresh\n"
    assert ask_git(b"protocol=https\nhost=git.example.com:8443\npath=org/repo.git\n") == \
        "username=bob\npassword=bob-token\npassword_expiry_utc=4102444800\n"
    assert ask_docker("registry.example.com") == {"ServerURL": "registry.example.com", "Username": "bot",
                                                  "Secret": "bot-secret"}
    assert ask_docker("https://index.docker.io/v1/refresh-token")["Secret"] == "identity-token"


TOKEN_KEY = ("vault", "https://vault.example:8200", "kv/data/app", "token")
TOKEN_FILE = "c744b22f3abe2258b9dccef7d434269def9d4f45"  # tokencache.path_for's name for TOKEN_KEY


def test_the_engine_token_cache_entry_still_answers(tmp_path):
    """tests/fixtures/tokencache/: an entry made by engines/tokencache.put (its name and its marshal
    tuple both pinned: a change to either makes every cached token a miss after an upgrade)."""
    from gatepass.engines import tokencache

    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert os.path.basename(tokencache.path_for(env, TOKEN_KEY)) == TOKEN_FILE
    _copy(f"../tokencache/{TOKEN_FILE}", Path(tokencache.path_for(env, TOKEN_KEY)))
    assert tokencache.get(env, TOKEN_KEY, now=lambda: 1700000100) == ("s.known-answer-value", 4102444800)
    assert tokencache.get(env, (*TOKEN_KEY[:-1], "other"), now=lambda: 1700000100) is None
