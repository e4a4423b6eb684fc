"""Sealed values interoperate with Debian's age both ways, with age-keygen and ssh-keygen ed25519 and rsa keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.as_user import run_as

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(120),
              pytest.mark.skipif(not shutil.which("age") or not shutil.which("ssh-keygen"),
                                 reason="needs Debian's age and openssh-client (./test installs age)")]
BIN = Path(sys.executable).parent
TOKEN = "tok-age-interop-51d2"
HEADER = "gatepass-sealed: kind=git scheme=https domain=git.example username=deploy"


def run(argv: list[str], stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    done = run_as(argv, input=stdin, capture_output=True, timeout=60, env=env or dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert TOKEN.encode() not in done.stderr
    return done


@pytest.fixture
def keys(tmp_path):
    """An age-keygen identity (comments and all) and an ssh-ed25519 key pair, as the stock tools write them."""
    run(["age-keygen", "-o", str(tmp_path / "age.key")])
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host@fleet", "-f", str(tmp_path / "ssh_host_ed25519_key")])
    age_public = run(["age-keygen", "-y", str(tmp_path / "age.key")]).stdout.decode().strip()
    return {"age": (tmp_path / "age.key", age_public),
            "ssh": (tmp_path / "ssh_host_ed25519_key", (tmp_path / "ssh_host_ed25519_key.pub").read_text().strip())}


def gatepass_seal(*to: str, username: str = "deploy") -> str:
    args = ["seal", "--kind", "git", "--domain", "git.example", "--username", username]
    for recipient in to:
        args += ["--to", recipient]
    return run([str(BIN / "gatepass"), *args], stdin=TOKEN.encode() + b"\n").stdout.decode()


def helper_get(tmp_path: Path, value: str, identity: Path, username: str = "deploy") -> subprocess.CompletedProcess[bytes]:
    config = write_config(tmp_path / "fleet.toml", f"[[git_provider]]\ndomain = \"git.example\"\naccounts = [\n"
                          f"  {{ username = \"{username}\", token = '''\n{value}''' }},\n]\n", 0o644)
    env = dict(os.environ, GATEPASS_CONFIG=str(config), GATEPASS_HOST_KEY=str(identity))
    return run([str(BIN / "git-credential-gatepass"), "get"], b"protocol=https\nhost=git.example\n", env)


def test_gatepass_seal_opens_with_stock_age_for_both_key_types(keys, tmp_path):
    value = gatepass_seal(keys["age"][1], str(keys["ssh"][0]) + ".pub")  # a .pub file as --to
    sealed = tmp_path / "v.age"
    sealed.write_text(value)
    for identity, _ in keys.values():
        plain = run(["age", "-d", "-i", str(identity), str(sealed)]).stdout.decode()
        assert plain == f"{HEADER}\n{TOKEN}\n"


@pytest.mark.parametrize("kind", ["age", "ssh"])
def test_a_value_made_by_stock_age_is_accepted(keys, tmp_path, kind):
    identity, public = keys[kind]
    flag, public = ("-r", public) if kind == "age" else ("-R", str(identity) + ".pub")
    value = run(["age", "-a", flag, public], f"{HEADER}\n{TOKEN}\n".encode()).stdout.decode()
    done = helper_get(tmp_path, value, identity)
    assert done.stdout == f"username=deploy\npassword={TOKEN}\n".encode()
    no_newline = run(["age", "-a", flag, public], f"{HEADER}\n{TOKEN}".encode()).stdout.decode()  # printf '%s'
    assert helper_get(tmp_path, no_newline, identity).stdout.endswith(f"password={TOKEN}\n".encode())


def test_stock_age_value_replayed_onto_another_account_is_refused(keys, tmp_path):
    identity, public = keys["age"]
    value = run(["age", "-a", "-r", public], f"{HEADER}\n{TOKEN}\n".encode()).stdout.decode()
    done = helper_get(tmp_path, value, identity, username="other")
    assert done.stdout == b"" and b"sealed for a different account: it is bound to git https://git.example user deploy" in done.stderr


def test_a_tampered_value_is_refused_with_no_token_on_stderr(keys, tmp_path):
    identity, public = keys["ssh"]
    lines = gatepass_seal(public).splitlines()
    body = lines[-2]
    lines[-2] = body[:3] + ("A" if body[3] != "A" else "B") + body[4:]  # inside the payload
    done = helper_get(tmp_path, "\n".join(lines) + "\n", identity)
    assert done.stdout == b"" and b"tampered or corrupt" in done.stderr


def test_a_value_for_another_host_names_the_stanza_types(keys, tmp_path):
    value = gatepass_seal(keys["ssh"][1])
    done = helper_get(tmp_path, value, keys["age"][0])
    assert b"sealed for another host: it is sealed to ssh-ed25519 recipients; this host is age1" in done.stderr


def test_ssh_host_key_as_identity_host_key_prints_its_public_line(keys):
    identity, public = keys["ssh"]
    env = dict(os.environ, GATEPASS_HOST_KEY=str(identity))
    printed = run([str(BIN / "gatepass"), "host-key"], env=env).stdout.decode().strip()
    assert printed == " ".join(public.split()[:2])


def test_a_passphrase_protected_ssh_key_is_refused_saying_so(tmp_path, keys):
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret-pass", "-f", str(tmp_path / "locked")])
    public = (tmp_path / "locked.pub").read_text().strip()
    done = helper_get(tmp_path, gatepass_seal(public), tmp_path / "locked")
    assert b"protected by a passphrase" in done.stderr and done.stdout == b""


def test_a_world_readable_identity_is_refused_with_the_chmod(keys, tmp_path):
    identity, public = keys["age"]
    identity.chmod(0o644)
    done = helper_get(tmp_path, gatepass_seal(public), identity)
    assert f"run: chmod 600 {identity}".encode() in done.stderr and done.stdout == b""


@pytest.fixture
def rsa_key(tmp_path):
    run(["ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-N", "", "-C", "host@fleet", "-f", str(tmp_path / "ssh_host_rsa_key")])
    return tmp_path / "ssh_host_rsa_key", (tmp_path / "ssh_host_rsa_key.pub").read_text().strip()


def test_seal_to_an_ssh_rsa_key_opens_with_stock_age_and_the_helper(rsa_key, keys, tmp_path):
    identity, public = rsa_key
    for to in ([public], [str(identity) + ".pub", keys["age"][1]]):  # the whole line; a .pub file beside an age key
        sealed = tmp_path / "v.age"
        sealed.write_text(gatepass_seal(*to))
        assert run(["age", "-d", "-i", str(identity), str(sealed)]).stdout.decode() == f"{HEADER}\n{TOKEN}\n"
        done = helper_get(tmp_path, sealed.read_text(), identity)  # the rsa host key as gatepass's identity
        assert done.stdout == f"username=deploy\npassword={TOKEN}\n".encode()
    refused = helper_get(tmp_path, gatepass_seal(public), keys["age"][0])
    assert b"sealed for another host: it is sealed to ssh-rsa recipients" in refused.stderr


def test_seal_reuse_keeps_an_ssh_rsa_value_it_opens(rsa_key, tmp_path):
    """--reuse compares the value's stanza types with the recipients': an ssh-rsa recipient is ssh-rsa, not
    ssh-ed25519, or every provisioning run would seal anew."""
    identity, public = rsa_key
    value = gatepass_seal(public)
    config = write_config(tmp_path / "fleet.toml", f"[[git_provider]]\ndomain = \"git.example\"\naccounts = [\n"
                          f"  {{ username = \"deploy\", token = \'\'\'\n{value}\'\'\' }},\n]\n", 0o644)
    env = dict(os.environ, GATEPASS_HOST_KEY=str(identity))
    again = run([str(BIN / "gatepass"), "seal", "--kind", "git", "--domain", "git.example", "--username", "deploy",
                 "--to", public, "--reuse", str(config)], stdin=TOKEN.encode() + b"\n", env=env).stdout.decode()
    assert again == value
