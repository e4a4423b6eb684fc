"""A config layer others can write contributes no secret (issue #11 item 3; docs/design.md "Trust
boundaries"): not inline, token_file, token_env, token_command nor keyring; its accounts still show
with the reason and the fix. Inline tokens readable through an ACL are refused like world-readable."""

from __future__ import annotations

import grp
import os
import subprocess

import pytest

from gatepass import app
from gatepass.config.layers import load_config
from gatepass.errors import SecretUnavailableError
from gatepass.model import Request
from gatepass.secret_sources import read_secret
from tests.conftest import VENV_BIN, write_config
from tests.support.local_user import local_user, shared_dir

SECRETS = {
    "inline": 'token = "inline-secret"',
    "env": 'token_env = "VICTIM_SECRET"',
    "file": 'token_file = "{victim_file}"',
    "command": 'token_command = ["/bin/echo", "command-secret"]',
}


def layer(tmp_path, kind: str, mode: int = 0o600) -> tuple[str, dict[str, str]]:
    victim_file = tmp_path / "victim-file"
    victim_file.write_text("file-secret\n")
    victim_file.chmod(0o600)
    body = SECRETS[kind].format(victim_file=victim_file)
    path = write_config(tmp_path / "conf" / "c.toml",
                        f'[[git_provider]]\ndomain = "evil.example"\naccounts = [{{ username = "u", {body} }}]\n', mode)
    if mode & 0o020 and os.geteuid() == 0:  # a group others are in (nobody's); root's own group is private to root
        os.chown(path, -1, grp.getgrnam("nogroup").gr_gid)
    return str(path), dict(os.environ, GATEPASS_CONFIG=str(path), VICTIM_SECRET="env-secret")


def refused(env: dict[str, str]) -> tuple[object, str]:
    """(the answer, what was reported) for a git get on the layer's host."""
    said: list[str] = []
    answer = app.answer(Request("git", "https", "evil.example", None), env, said.append)
    return answer, "\n".join(said)


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("mode", [0o620, 0o602])
def test_a_layer_others_can_write_gives_no_secret_of_any_kind(tmp_path, kind, mode):
    path, env = layer(tmp_path, kind, mode)
    config = load_config(env)
    [account] = config.accounts  # still listed, for list and explain
    assert "chmod go-w" in getattr(account, "untrusted", "")
    assert any("contributes no secret" in e and path in e for e in config.errors)
    answer, said = refused(env)
    assert answer is None and "contributes no secret" in said
    for secret in ("inline-secret", "env-secret", "file-secret", "command-secret"):
        assert secret not in said


def test_a_layer_in_a_directory_others_can_write_gives_no_secret(tmp_path):
    path, env = layer(tmp_path, "env")
    os.chmod(os.path.dirname(path), 0o777)
    answer, said = refused(env)
    assert answer is None and "writable by other users" in said
    os.chmod(os.path.dirname(path), 0o1777)  # sticky: others cannot replace our file
    assert refused(env)[0] is not None


def test_a_layer_writable_through_an_acl_gives_no_secret(tmp_path):
    path, env = layer(tmp_path, "env")
    assert refused(env)[0] is not None
    subprocess.run(["setfacl", "-m", "u:nobody:rw", path], check=True)
    [account] = load_config(env).accounts
    assert f"an ACL lets other users write {path}; run: setfacl -b {path}" in getattr(account, "untrusted", "")
    with pytest.raises(SecretUnavailableError, match="contributes no secret"):
        read_secret(account, env)


def test_inline_tokens_readable_through_an_acl_are_refused_like_world_readable(tmp_path):
    path, env = layer(tmp_path, "inline", 0o640)
    assert [a.username for a in load_config(env).accounts] == ["u"]
    subprocess.run(["setfacl", "-m", "u:nobody:r", path], check=True)
    config = load_config(env)
    assert [bool(a.untrusted) for a in config.accounts] == [True]  # still listed, gives no secret
    assert any("ACL" in e and f"setfacl -b {path}" in e for e in config.errors)


def test_a_keyring_lookup_from_an_untrusted_layer_is_refused(tmp_path):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\ndomain = "evil.example"\n'
                        'accounts = [{ username = "u" }]\n', 0o666)
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(path))).accounts
    assert account.secret_kind == "keyring"
    with pytest.raises(SecretUnavailableError, match="contributes no secret"):
        app.read(account, None)  # type: ignore[arg-type]  # refused before the store is touched


def test_store_settings_of_an_untrusted_layer_are_ignored(tmp_path):
    path = write_config(tmp_path / "c.toml", '[store]\nbackend = "file"\n', 0o666)
    config = load_config(dict(os.environ, GATEPASS_CONFIG=str(path)))
    assert config.store == {} and any("contributes no secret" in e for e in config.errors)


def test_config_check_reports_a_writable_layer_as_an_error(tmp_path):
    path, env = layer(tmp_path, "env", 0o666)
    done = subprocess.run([os.path.join(VENV_BIN, "gatepass"), "config", "check"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert f"error: {path}: contributes no secret" in done.stderr and "env-secret" not in done.stderr + done.stdout


def test_a_layer_another_user_can_write_never_reads_the_victims_env_or_files():
    """The attack as a real second user: they own a host.d drop-in directory root reads and put
    an account there for their own host whose secret is root's variable, then root's file."""
    with local_user() as user, shared_dir() as shared:
        secret_file = os.path.join(shared, "root-only")
        with open(secret_file, "w") as handle:
            handle.write("root-file-secret\n")
        os.chmod(secret_file, 0o600)
        host = os.path.join(shared, "host.toml")
        dropins = os.path.join(shared, "host.d")
        os.mkdir(dropins)
        os.chown(dropins, user.uid, user.gid)
        env = {k: v for k, v in os.environ.items() if k != "GATEPASS_CONFIG"}
        env.update(GATEPASS_HOST_CONFIG=host, VICTIM_SECRET="root-env-secret")
        for body in ('token_env = "VICTIM_SECRET"', f'token_file = "{secret_file}"'):
            user.run(["sh", "-c", f"cat > {dropins}/evil.toml"], input='[[git_provider]]\ndomain = "evil.example"\n'
                     f'accounts = [{{ username = "u", {body} }}]\n')
            done = subprocess.run([os.path.join(VENV_BIN, "git-credential-gatepass"), "get"], env=env,
                                  input="protocol=https\nhost=evil.example\n\n", capture_output=True, text=True)
            assert "secret" not in done.stdout, body
            assert "contributes no secret" in done.stderr


def test_list_and_explain_show_the_accounts_of_an_untrusted_layer_with_the_reason(tmp_path):
    path, env = layer(tmp_path, "env", 0o666)
    gatepass = os.path.join(VENV_BIN, "gatepass")
    listed = subprocess.run([gatepass, "list"], env=env, capture_output=True, text=True)
    assert "evil.example" in listed.stdout and "UNREADABLE" in listed.stdout
    assert f"contributes no secret: {path} is writable by other users; run: chmod go-w {path}" in listed.stderr
    explained = subprocess.run([gatepass, "explain", "https://evil.example/x"], env=env, capture_output=True, text=True)
    assert f"run: chmod go-w {path}" in explained.stdout + explained.stderr
    assert "env-secret" not in listed.stdout + listed.stderr + explained.stdout + explained.stderr
