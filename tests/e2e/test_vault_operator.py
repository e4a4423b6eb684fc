"""Vault errors an operator can act on, against the real OpenBao: a token that is not valid is named
so (never blamed on policies), and a ``[vault]`` table with an error stops its accounts with that error
instead of silently reading with ``VAULT_ADDR``/``VAULT_TOKEN`` from the environment."""

from __future__ import annotations

import os

import pytest

from tests.conftest import write_config
from tests.e2e.test_vault import helper_get, unique
from tests.support.openbao import ROOT_TOKEN, OpenBao, openbao  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
BOGUS = "hvs.CAESIGatepassNotARealTokenButShapedLikeOne"


def secret(bao: OpenBao) -> tuple[str, str]:
    """(API path, canary) of a fresh KV v2 secret."""
    name, canary = unique("op"), unique("canary-op")
    bao.kv_put(f"{name}/github", token=canary)
    return f"secret/data/{name}/github", canary


def configure(isolated_env: dict[str, str], vault_table: str, path: str) -> None:
    account = f'{{ username = "deploy", vault = {{ path = "{path}", field = "token" }} }}'
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[vault]\n{vault_table}\n[[git_provider]]\n'
                 f'domain = "git.example"\nhttps = false\naccounts = [{account}]\n')


def test_an_invalid_token_from_the_environment_is_named_invalid_or_expired(openbao, isolated_env):  # noqa: F811
    path, canary = secret(openbao)
    configure(isolated_env, f'address = "{openbao.address}"\nauth = "token"', path)
    done = helper_get("git.example", {**os.environ, "VAULT_TOKEN": BOGUS})
    assert done.stdout == "" and done.returncode == 0
    [line] = done.stderr.splitlines()
    assert "vault: the token from VAULT_TOKEN is invalid or expired" in line, line
    assert "policies" not in line and BOGUS not in line and canary not in line


def test_a_revoked_token_file_is_named_invalid_or_expired(openbao, isolated_env, tmp_path):  # noqa: F811
    path, _ = secret(openbao)
    token = openbao.ok("POST", "auth/token/create", {"policies": ["default"], "ttl": "1h"})["auth"]["client_token"]
    openbao.ok("POST", "auth/token/revoke", {"token": token})
    token_file = tmp_path / "vault-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    configure(isolated_env, f'address = "{openbao.address}"\nauth = "token"\ntoken_file = "{token_file}"', path)
    done = helper_get("git.example")
    assert f"vault: the token from token_file {token_file} is invalid or expired" in done.stderr, done.stderr
    assert token not in done.stderr


def test_a_valid_token_without_the_policy_is_still_told_to_grant_it(openbao, isolated_env):  # noqa: F811
    path, canary = secret(openbao)
    token = openbao.ok("POST", "auth/token/create", {"policies": ["default"], "ttl": "1h"})["auth"]["client_token"]
    configure(isolated_env, f'address = "{openbao.address}"\nauth = "token"', path)
    done = helper_get("git.example", {**os.environ, "VAULT_TOKEN": token})
    assert f"permission denied reading {path}: the token's policies do not allow read" in done.stderr, done.stderr
    assert token not in done.stderr and canary not in done.stderr


def test_doctor_names_an_invalid_token_too(openbao, isolated_env):  # noqa: F811
    import subprocess

    path, _ = secret(openbao)
    configure(isolated_env, f'address = "{openbao.address}"\nauth = "token"', path)
    doctor = subprocess.run(["gatepass", "doctor"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "VAULT_TOKEN": BOGUS})
    text = doctor.stdout + doctor.stderr
    assert "the token from VAULT_TOKEN is invalid or expired" in text and BOGUS not in text


@pytest.mark.parametrize("table", ['address = "{address}"\nauth = "token"\nadress_typo = "x"',
                                   'address = "{address}"\nauth = "tokne"',
                                   'address = "{address}"\nrole_id = "r"'])
def test_a_vault_table_with_an_error_never_falls_back_to_the_environment(openbao, isolated_env, table):  # noqa: F811
    """The environment holds a token that could read the secret; the table meant something else."""
    path, canary = secret(openbao)
    configure(isolated_env, table.format(address=openbao.address), path)
    env = {**os.environ, "VAULT_ADDR": openbao.address, "VAULT_TOKEN": ROOT_TOKEN}
    for _ in range(2):  # cold parse, then from the parse cache
        done = helper_get("git.example", env)
        assert "password=" not in done.stdout and canary not in done.stdout + done.stderr
        [line] = [text for text in done.stderr.splitlines() if "account deploy@git.example" in text]
        assert f"[vault] in {isolated_env['GATEPASS_USER_CONFIG']} has an error (vault." in line, line
        assert "its accounts are not read until it is fixed (gatepass config check)" in line, line


def test_a_lower_layers_good_table_does_not_stand_in_for_a_higher_broken_one(openbao, tmp_path):  # noqa: F811
    path, canary = secret(openbao)
    lower, upper = tmp_path / "lower.toml", tmp_path / "upper.toml"
    write_config(lower, f'[vault]\naddress = "{openbao.address}"\nauth = "token"\n')
    write_config(upper, '[vault]\nauth = "token"\nunknown_key = 1\n[[git_provider]]\ndomain = "git.example"\n'
                 f'https = false\naccounts = [{{ username = "deploy", vault = {{ path = "{path}", field = "token" }} }}]\n')
    done = helper_get("git.example", {**os.environ, "GATEPASS_CONFIG": f"{lower}:{upper}", "VAULT_TOKEN": ROOT_TOKEN})
    assert "password=" not in done.stdout and canary not in done.stdout
    assert f"[vault] in {upper} has an error (vault.unknown_key: unknown key" in done.stderr, done.stderr
