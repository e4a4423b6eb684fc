"""Sealed per-host secrets: open on the right host only, for the right account only, never when tampered."""

from __future__ import annotations

import base64
import json
import os

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from gatepass.config.layers import load_config
from gatepass.errors import SecretUnavailableError
from gatepass.hostkey import key_id, key_paths, load_private
from gatepass.sealing import (
    ANOTHER_ACCOUNT,
    ANOTHER_HOST,
    NO_KEY,
    PREFIX,
    TAMPERED,
    SealError,
    binding,
    create_key,
    open_sealed,
    parse_public_key,
    seal,
)
from gatepass.secrets import read_secret
from tests.conftest import write_config

ACCOUNT = ("git", "github.com", None, "deploy")
TOKEN = "tok-canary-3f9a"


@pytest.fixture
def hosts(tmp_path):
    """Two hosts, A and B, each with its own key file: name -> (private key path, raw public key)."""
    a, b = str(tmp_path / "a" / "host.key"), str(tmp_path / "b" / "host.key")
    return {"a": (a, create_key(a)), "b": (b, create_key(b))}


def sealed_to(*publics: bytes, account=ACCOUNT, token: str = TOKEN) -> str:
    return seal(token, list(publics), binding(*account))


def opened_with(value: str, *paths: str, account=ACCOUNT) -> str:
    return open_sealed(value, *account, list(paths))


def raw(value: str) -> bytearray:
    body = value[len(PREFIX):]
    return bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def text(blob: bytes) -> str:
    return PREFIX + base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()


def test_sealed_to_a_opens_on_a_and_fails_clearly_on_b(hosts):
    value = sealed_to(hosts["a"][1])
    assert value.startswith("gatepass:sealed:v1:") and TOKEN not in value
    assert opened_with(value, hosts["a"][0]) == TOKEN
    with pytest.raises(SealError) as info:
        opened_with(value, hosts["b"][0])
    message = str(info.value)
    ids = key_id(hosts["a"][1]).hex(), key_id(hosts["b"][1]).hex()
    assert message == f"{ANOTHER_HOST}: it opens only with key id {ids[0]}; this host has {ids[1]}"


def test_sealed_to_both_opens_on_both(hosts):
    value = sealed_to(hosts["a"][1], hosts["b"][1])
    assert opened_with(value, hosts["a"][0]) == opened_with(value, hosts["b"][0]) == TOKEN


def test_every_key_path_is_tried_host_key_then_user_key(hosts, tmp_path):
    value = sealed_to(hosts["b"][1])
    assert opened_with(value, str(tmp_path / "absent.key"), hosts["a"][0], hosts["b"][0]) == TOKEN


def test_key_paths_are_the_host_key_then_the_users(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert key_paths(env) == ["/etc/gatepass/host.key", str(tmp_path / "cfg" / "gatepass" / "host.key")]
    assert key_paths(dict(env, GATEPASS_HOST_KEY="/k"))[0] == "/k"


@pytest.mark.parametrize("other", [("git", "github.com", None, "other"), ("git", "gitlab.com", None, "deploy"),
                                   ("docker", "github.com", None, "deploy"), ("git", "github.com", 8443, "deploy")],
                         ids=["username", "domain", "kind", "port"])
def test_a_sealed_value_copied_onto_another_account_fails(hosts, other):
    value = sealed_to(hosts["a"][1])
    with pytest.raises(SealError) as info:
        opened_with(value, hosts["a"][0], account=other)
    assert str(info.value).startswith(f"{ANOTHER_ACCOUNT}: it is for git github.com user deploy")


def test_the_account_in_clear_cannot_be_rewritten(hosts):
    value = sealed_to(hosts["a"][1])
    forged = raw(value).replace(b"deploy", b"attack")  # same length: parses, but the header is authenticated
    with pytest.raises(SealError, match=TAMPERED):
        opened_with(text(forged), hosts["a"][0], account=("git", "github.com", None, "attack"))


def test_tampering_with_any_byte_fails(hosts):
    value = sealed_to(hosts["a"][1], hosts["b"][1])
    blob = raw(value)
    account_end = 2 + blob[1]
    for index in range(len(blob)):
        for flip in (0x01, 0x80):
            changed = bytearray(blob)
            changed[index] ^= flip
            with pytest.raises(SealError) as info:
                opened_with(text(changed), hosts["a"][0])
            assert TOKEN not in str(info.value)
            if index >= account_end + 1:  # past the lengths: a change in any entry, nonce or body is "tampered"
                assert str(info.value) == TAMPERED, index


@pytest.mark.parametrize("damage", [lambda v: v[:-30], lambda v: v[:40], lambda v: v + "!", lambda v: v[:-1] + "=",
                                    lambda v: PREFIX, lambda v: v.replace(":v1:", ":v2:")])
def test_truncated_or_garbled_values_are_reported_as_corrupt(hosts, damage):
    with pytest.raises(SealError, match=TAMPERED):
        opened_with(damage(sealed_to(hosts["a"][1])), hosts["a"][0])


def test_no_host_key_says_how_to_make_one(hosts, tmp_path):
    with pytest.raises(SealError) as info:
        opened_with(sealed_to(hosts["a"][1]), str(tmp_path / "missing.key"))
    assert str(info.value).startswith(NO_KEY)


def test_a_host_key_others_can_read_is_refused_like_ssh(hosts):
    path = hosts["a"][0]
    os.chmod(path, 0o644)
    with pytest.raises(SealError, match=f"chmod 600 {path}"):
        opened_with(sealed_to(hosts["a"][1]), path)


def test_a_damaged_host_key_is_named(hosts):
    path = hosts["a"][0]
    with open(path, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(SealError, match="damaged"):
        opened_with(sealed_to(hosts["a"][1]), path)


def test_host_key_is_private_in_a_private_dir_and_never_replaced(hosts):
    path = hosts["a"][0]
    before = open(path, "rb").read()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    with pytest.raises(Exception, match="never replaces"):
        create_key(path)
    assert open(path, "rb").read() == before and load_private(path)
    assert [name for name in os.listdir(os.path.dirname(path))] == ["host.key"]  # no temp file left


def test_unusable_public_keys_are_refused(hosts):
    with pytest.raises(Exception, match="starts with gatepass-pub:v1:"):
        parse_public_key("ssh-ed25519 AAAA")
    with pytest.raises(Exception, match="damaged"):
        parse_public_key("gatepass-pub:v1:AAAA")
    with pytest.raises(Exception, match="not usable"):
        seal(TOKEN, [bytes(32)], binding(*ACCOUNT))  # the all-zero point agrees no secret


def test_cli_host_key_and_seal_then_a_world_readable_config_opens_it(tmp_path, monkeypatch):
    key = tmp_path / "keys" / "host.key"
    monkeypatch.setenv("GATEPASS_HOST_KEY", str(key))
    runner = CliRunner()
    missing = runner.invoke(cli, ["host-key"])
    assert missing.exit_code == 1 and "gatepass host-key --init" in missing.stderr and not key.exists()
    created = runner.invoke(cli, ["host-key", "--init"], catch_exceptions=False)
    public = created.stdout.strip()
    assert parse_public_key(public) and "created" in created.stderr
    again = runner.invoke(cli, ["host-key", "--init"], catch_exceptions=False)
    assert again.stdout.strip() == public and "kept" in again.stderr
    assert runner.invoke(cli, ["host-key"]).stdout.strip() == public
    args = ["seal", "--to", public, "--kind", "git", "--domain", "GitHub.com.", "--username", "deploy"]
    sealed = runner.invoke(cli, args, input=TOKEN + "\n", catch_exceptions=False).stdout.strip()
    assert sealed.startswith(PREFIX) and TOKEN not in sealed
    assert runner.invoke(cli, args, input="\n").exit_code == 1
    config = write_config(tmp_path / "host.toml", f'[[git_provider]]\naccounts = [{{ username = "deploy", token = "{sealed}" }}]\n',
                          mode=0o644)  # sealed values may sit in a world-readable file
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    assert account.secret_kind == "sealed"
    assert read_secret(account, dict(os.environ)).value == TOKEN
    listed = runner.invoke(cli, ["list", "--json"], env={"GATEPASS_CONFIG": str(config)}).stdout
    assert json.loads(listed)[0]["source"] == "sealed" and TOKEN not in listed


def test_read_secret_names_the_account_and_never_the_value(hosts, tmp_path, monkeypatch):
    value = sealed_to(hosts["b"][1], account=("git", "github.com", None, "ci"))
    config = write_config(tmp_path / "c.toml", f'[[git_provider]]\naccounts = [{{ username = "ci", token = "{value}" }}]\n')
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    with pytest.raises(SecretUnavailableError) as info:
        read_secret(account, dict(os.environ, GATEPASS_HOST_KEY=hosts["a"][0]))
    message = str(info.value)
    assert message.startswith(f"{config}:2: account ci@github.com: {ANOTHER_HOST}")
    assert value not in message and TOKEN not in message
