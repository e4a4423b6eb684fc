"""Sealed per-host secrets: open on the right host only, for the right account only, never when tampered."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from gatepass.cli.main import cli
from gatepass.config.layers import load_config
from gatepass.sealing import SealError, binding, create_key, open_sealed, parse_public_key, seal
from gatepass.secrets import read_secret
from tests.conftest import write_config

AAD = binding("git", "github.com", None, "deploy")


@pytest.fixture
def hosts(tmp_path):
    a, b = str(tmp_path / "a" / "host.key"), str(tmp_path / "b" / "host.key")
    return {"a": (a, create_key(a)), "b": (b, create_key(b))}


def test_sealed_to_a_opens_on_a_only(hosts):
    value = seal("tok-secret", [hosts["a"][1]], AAD)
    assert value.startswith("gatepass:sealed:v1:") and "tok-secret" not in value
    assert open_sealed(value, AAD, [hosts["a"][0]]) == "tok-secret"
    with pytest.raises(SealError, match="sealed for another host"):
        open_sealed(value, AAD, [hosts["b"][0]])


def test_sealed_to_both_opens_on_both(hosts):
    value = seal("tok-both", [hosts["a"][1], hosts["b"][1]], AAD)
    assert open_sealed(value, AAD, [hosts["a"][0]]) == open_sealed(value, AAD, [hosts["b"][0]]) == "tok-both"


@pytest.mark.parametrize("other", [binding("git", "github.com", None, "other"), binding("git", "gitlab.com", None, "deploy"),
                                   binding("docker", "github.com", None, "deploy"), binding("git", "github.com", 8443, "deploy")])
def test_a_sealed_value_copied_onto_another_account_fails(hosts, other):
    value = seal("tok", [hosts["a"][1]], AAD)
    with pytest.raises(SealError, match="different account"):
        open_sealed(value, other, [hosts["a"][0]])


def test_tampering_with_any_byte_fails(hosts):
    import base64

    value = seal("tok", [hosts["a"][1]], AAD)
    body = value[len("gatepass:sealed:v1:"):]
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for index in range(len(raw)):
        changed = bytearray(raw)
        changed[index] ^= 0x40
        text = "gatepass:sealed:v1:" + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        with pytest.raises(SealError):
            open_sealed(text, AAD, [hosts["a"][0]])
    with pytest.raises(SealError, match="damaged"):
        open_sealed(value[:-30], AAD, [hosts["a"][0]])


def test_no_host_key_says_how_to_make_one(hosts, tmp_path):
    value = seal("tok", [hosts["a"][1]], AAD)
    with pytest.raises(SealError, match="host-key --init"):
        open_sealed(value, AAD, [str(tmp_path / "missing.key")])


def test_host_key_is_private_and_never_replaced(hosts):
    path = hosts["a"][0]
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(Exception, match="never replaces"):
        create_key(path)


def test_cli_host_key_and_seal_then_config_opens_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_HOST_KEY", str(tmp_path / "keys" / "host.key"))
    runner = CliRunner()
    assert runner.invoke(cli, ["host-key"]).exit_code == 1
    created = runner.invoke(cli, ["host-key", "--init"], catch_exceptions=False)
    public = created.stdout.strip()
    assert parse_public_key(public) and runner.invoke(cli, ["host-key"]).stdout.strip() == public
    sealed = runner.invoke(cli, ["seal", "--to", public, "--kind", "git", "--domain", "GitHub.com.", "--username",
                                 "deploy"], input="tok-sealed\n", catch_exceptions=False).stdout.strip()
    config = write_config(tmp_path / "host.toml", f'[[git_provider]]\naccounts = [{{ username = "deploy", token = "{sealed}" }}]\n',
                          mode=0o644)  # sealed values may sit in a world-readable file
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    assert account.secret_kind == "sealed"
    assert read_secret(account, dict(os.environ)).value == "tok-sealed"
    listed = json.loads(runner.invoke(cli, ["list", "--json"], env={"GATEPASS_CONFIG": str(config)}).stdout)
    assert listed[0]["source"] == "sealed" and "tok-sealed" not in json.dumps(listed)
