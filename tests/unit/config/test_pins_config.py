"""Rules the mutation pass found unpinned (issue #29), each with a test that fails when it is removed."""

from __future__ import annotations

import os

import pytest

from gatepass.config.layers import load_config
from gatepass.sealing import header_line, parse_header
from tests.conftest import write_config


def loaded(tmp_path, body: str):
    return load_config(dict(os.environ, GATEPASS_CONFIG=str(write_config(tmp_path / "c.toml", body))))


@pytest.mark.parametrize("value", ["5", '"encrypted-file"', "[1, 2]"])
def test_a_store_key_that_is_not_a_table_is_one_error_line(tmp_path, value):
    config = loaded(tmp_path, f'store = {value}\n[[git_provider]]\naccounts = [{{ username = "u", token_env = "T" }}]\n')
    assert [a.username for a in config.accounts] == ["u"] and config.store == {}
    assert len(config.errors) == 1 and "store: must be a table: write [store]" in config.errors[0]


# Written out, not read from SPEC_KEYS: a flag flipped there must fail here.
VALID = {"vault": {"path": '"secret/data/x"', "field": '"t"'},
         "github_app": {"app_id": "1", "private_key_file": '"/k.pem"'},
         "gcp_service_account": {"key_file": '"/k.json"'}}
REQUIRED = [(engine, key) for engine, keys in VALID.items() for key in keys]


@pytest.mark.parametrize("engine, missing", REQUIRED, ids=[f"{e}.{k}" for e, k in REQUIRED])
def test_an_engine_account_without_a_required_key_is_an_error_naming_it(tmp_path, engine, missing):
    spec = ", ".join(f"{key} = {value}" for key, value in VALID[engine].items() if key != missing)
    config = loaded(tmp_path, f'[[git_provider]]\naccounts = [{{ username = "u", {engine} = {{ {spec} }} }}]\n')
    assert config.accounts == []
    assert any(f"{engine}.{missing}" in e and "is required" in e for e in config.errors), config.errors
    complete = ", ".join(f"{key} = {value}" for key, value in VALID[engine].items())
    assert len(loaded(tmp_path, f'[[git_provider]]\naccounts = [{{ username = "u", {engine} = {{ {complete} }} }}]\n'
                      ).accounts) == 1


def test_a_sealed_header_writes_printable_ascii_as_is_and_escapes_the_rest():
    """The header is a format others write too (stock age from the README's plaintext): ``~`` and ``!``,
    the ends of the printable range, stay literal; space, ``%`` and ``=`` are escaped."""
    line = header_line("git", "https", "git.example", "!a~b c%=")
    assert line.endswith(" username=!a~b%20c%25%3D")
    assert parse_header(line) == ("git", "https", "git.example", "!a~b c%=")
