"""Sealed values are age files: open on the right host only, for the right account only, never when tampered."""

from __future__ import annotations

import base64
import json
import os

import pyrage
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gatepass.cli.main import cli
from gatepass.config.layers import load_config
from gatepass.errors import SecretUnavailableError
from gatepass.hostkey import HostKeyError, create_key, key_paths, load_identities
from gatepass.sealing import (
    ANOTHER_ACCOUNT,
    ANOTHER_HOST,
    TAMPERED,
    SealError,
    header_line,
    open_value,
    parse_header,
    parse_recipient,
    seal,
    stanza_types,
)
from gatepass.secret_sources import read_secret
from tests.conftest import write_config

ACCOUNT = ("git", "https", "github.com", "deploy")
TOKEN = "tok-canary-3f9a"


@pytest.fixture
def hosts(tmp_path):
    """Two hosts, A and B, each with its own identity file: name -> (key path, age1 public key)."""
    a, b = str(tmp_path / "a" / "host.key"), str(tmp_path / "b" / "host.key")
    return {"a": (a, create_key(a)), "b": (b, create_key(b))}


def sealed_to(*publics: str, account=ACCOUNT, token: str = TOKEN) -> str:
    return seal(token, [r for p in publics for r in parse_recipient(p)], *account)


def opened_with(value: str, path: str, account=ACCOUNT) -> str:
    identities, name = load_identities({"GATEPASS_HOST_KEY": path})
    return open_value(value, account, identities, name)


def test_sealed_to_a_opens_on_a_and_fails_clearly_on_b(hosts):
    value = sealed_to(hosts["a"][1])
    assert value.startswith("-----BEGIN AGE ENCRYPTED FILE-----\n") and TOKEN not in value
    assert opened_with(value, hosts["a"][0]) == TOKEN
    with pytest.raises(SealError) as info:
        opened_with(value, hosts["b"][0])
    message = str(info.value)
    assert message.startswith(f"{ANOTHER_HOST}: it is sealed to X25519 recipients; this host is {hosts['b'][1]}")
    assert TOKEN not in message


def test_sealed_to_both_opens_on_both_and_names_both_stanza_types(hosts):
    value = sealed_to(hosts["a"][1], hosts["b"][1])
    assert opened_with(value, hosts["a"][0]) == opened_with(value, hosts["b"][0]) == TOKEN
    assert stanza_types(value) == ["X25519", "X25519"]


def test_plaintext_is_the_documented_header_line_then_the_token(hosts):
    identity = pyrage.x25519.Identity.from_str(open(hosts["a"][0]).read().splitlines()[-1])
    plain = pyrage.decrypt(sealed_to(hosts["a"][1]).encode(), [identity])
    assert plain == f"gatepass-sealed: kind=git scheme=https domain=github.com username=deploy\n{TOKEN}\n".encode()


@settings(deadline=None)  # no timing: a loaded machine must not fail it
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_header_fields_round_trip_and_never_hold_a_separator(domain, username):
    line = header_line("docker", "http", domain, username)
    assert "\n" not in line and line.count(" ") == 4 and line.count("=") == 4
    assert parse_header(line) == ("docker", "http", domain, username)


@pytest.mark.parametrize("line", [
    "gatepass-sealed: kind=git scheme=https domain=github.com",               # a field missing
    "gatepass-sealed: scheme=https kind=git domain=github.com username=d",    # out of order
    "gatepass-sealed:  kind=git scheme=https domain=github.com username=d",   # two spaces
    "gatepass-sealed: kind=git scheme=https domain=github.com username=a=b",  # unencoded separator
    "gatepass-sealed: kind=git scheme=https domain=github.com username=%zz",  # bad escape
    "gatepass-sealed: kind=git scheme=https domain=github.com username=%ff",  # not UTF-8
    "x-sealed: kind=git scheme=https domain=github.com username=d",
])
def test_malformed_header_lines_are_refused(line):
    with pytest.raises(ValueError):
        parse_header(line)


@pytest.mark.parametrize("other", [("git", "https", "github.com", "other"), ("git", "https", "gitlab.com", "deploy"),
                                   ("docker", "https", "github.com", "deploy"), ("git", "http", "github.com", "deploy"),
                                   ("git", "https", "github.com:8443", "deploy")],
                         ids=["username", "domain", "kind", "scheme", "port"])
def test_a_sealed_value_replayed_onto_another_account_fails_naming_its_own(hosts, other):
    value = sealed_to(hosts["a"][1])
    with pytest.raises(SealError) as info:
        opened_with(value, hosts["a"][0], account=other)
    assert str(info.value) == f"{ANOTHER_ACCOUNT}: it is bound to git https://github.com user deploy; seal the token for this account"


def _armor_body(value: str) -> bytes:
    return base64.b64decode("".join(value.splitlines()[1:-1]))


def _rearmor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return "\n".join(["-----BEGIN AGE ENCRYPTED FILE-----", *lines, "-----END AGE ENCRYPTED FILE-----"]) + "\n"


def test_tampering_with_any_byte_fails_and_never_shows_the_token(hosts):
    value = sealed_to(hosts["a"][1])
    blob = _armor_body(value)
    assert _rearmor(blob) == value  # the re-armoring is age's own
    header_end = blob.index(b"\n---") + 1
    for index in range(len(blob)):
        changed = bytearray(blob)
        changed[index] ^= 0x01
        with pytest.raises(SealError) as info:
            opened_with(_rearmor(bytes(changed)), hosts["a"][0])
        message = str(info.value)
        assert TOKEN not in message
        if index >= header_end:  # the MAC, the nonce or the payload: never "another host"
            assert message.startswith(TAMPERED), index


@pytest.mark.parametrize("damage", [lambda v: v[:-60] + "\n-----END AGE ENCRYPTED FILE-----\n", lambda v: v[:40],
                                    lambda v: v.replace("END AGE", "END PGP"), lambda v: v.replace("\n", "\n\x00", 1)])
def test_truncated_or_garbled_values_are_reported_as_corrupt(hosts, damage):
    with pytest.raises(SealError, match=TAMPERED):
        opened_with(damage(sealed_to(hosts["a"][1])), hosts["a"][0])


def test_an_age_file_without_the_header_line_is_refused_without_echoing_it(hosts):
    recipients = parse_recipient(hosts["a"][1])
    for plain in (f"{TOKEN}\n", f"gatepass-sealed: kind=git\n{TOKEN}\n", "gatepass-sealed: kind=git scheme=https "
                  "domain=github.com username=deploy\n\n", f"gatepass-sealed: kind=git scheme=https domain=github.com "
                  f"username=deploy\n{TOKEN}\nsecond line\n"):
        value = pyrage.encrypt(plain.encode(), [r.key for r in recipients], armored=True).decode()
        with pytest.raises(SealError) as info:
            opened_with(value, hosts["a"][0])
        assert str(info.value).startswith(TAMPERED) and TOKEN not in str(info.value)


def test_an_indented_value_in_a_toml_multiline_string_opens(hosts, tmp_path):
    value = sealed_to(hosts["a"][1])
    indented = "".join("      " + line + "\n" for line in value.splitlines())
    config = write_config(tmp_path / "c.toml", f'[[git_provider]]\naccounts = [\n  {{ username = "deploy", token = """\n'
                          f'{indented}      """ }},\n]\n', mode=0o644)  # sealed values may sit in a world-readable file
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    assert account.secret_kind == "sealed"
    assert read_secret(account, {"GATEPASS_HOST_KEY": hosts["a"][0]}).value == TOKEN


def test_no_host_key_says_how_to_make_one(tmp_path):
    with pytest.raises(HostKeyError, match="run: gatepass host-key --init"):
        load_identities({"GATEPASS_HOST_KEY": str(tmp_path / "missing.key")})


def test_key_paths_are_the_env_key_alone_else_the_hosts_then_the_users(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert key_paths(env) == ["/etc/gatepass/host.key", str(tmp_path / "cfg" / "gatepass" / "host.key")]
    assert key_paths(dict(env, GATEPASS_HOST_KEY="/k")) == ["/k"]


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o660, 0o606])
def test_a_host_key_others_can_read_is_refused_with_the_chmod_to_run(hosts, mode):
    path = hosts["a"][0]
    os.chmod(path, mode)
    with pytest.raises(HostKeyError, match=f"run: chmod 600 {path}"):
        opened_with(sealed_to(hosts["a"][1]), path)


def test_a_group_readable_host_key_is_the_sharing_rule(hosts):
    os.chmod(hosts["a"][0], 0o640)
    assert opened_with(sealed_to(hosts["a"][1]), hosts["a"][0]) == TOKEN


def test_host_key_files_are_age_keygens_format_private_and_never_replaced(hosts):
    path, public = hosts["a"]
    text = open(path).read()
    lines = text.splitlines()
    assert lines[0].startswith("# created: ") and lines[1] == f"# public key: {public}"
    assert lines[2].startswith("AGE-SECRET-KEY-1") and len(lines) == 3
    assert os.stat(path).st_mode & 0o777 == 0o600 and os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    assert open(path + ".pub").read() == public + "\n" and os.stat(path + ".pub").st_mode & 0o777 == 0o644
    with pytest.raises(Exception, match="never replaces"):
        create_key(path)
    assert open(path).read() == text
    assert sorted(os.listdir(os.path.dirname(path))) == ["host.key", "host.key.pub"]  # no temp file left


def test_a_damaged_or_foreign_key_file_is_named_without_its_content(tmp_path):
    path = tmp_path / "k"
    for content in ("AGE-SECRET-KEY-1NOTAKEY\n", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", "hello\n"):
        write_config(path, content)
        with pytest.raises(HostKeyError) as info:
            load_identities({"GATEPASS_HOST_KEY": str(path)})
        assert str(path) in str(info.value) and "NOTAKEY" not in str(info.value)


def test_unusable_recipients_are_refused(tmp_path):
    for text, words in (("age1qqqq", "damaged"), ("ssh-rsa AAAAB3Nza", "damaged"),
                        ("ecdsa-sha2-nistp256 AAAAE2V", "only age X25519 .age1...., ssh-ed25519 and ssh-rsa"),
                        (str(tmp_path / "none.pub"), "neither an age1")):
        with pytest.raises(Exception, match=words):
            parse_recipient(text)
    pub = tmp_path / "hosts.pub"
    pub.write_text("# fleet\n\n")
    with pytest.raises(Exception, match="holds no recipient"):
        parse_recipient(str(pub))


def test_a_recipients_file_is_read_like_age_R(hosts, tmp_path):
    pub = tmp_path / "fleet.pub"
    pub.write_text(f"# fleet\n{hosts['a'][1]}\n\n{hosts['b'][1]}\n")
    value = seal(TOKEN, parse_recipient(str(pub)), *ACCOUNT)
    assert opened_with(value, hosts["b"][0]) == TOKEN


def test_cli_host_key_and_seal_then_a_world_readable_config_opens_it(tmp_path, monkeypatch):
    key = tmp_path / "keys" / "host.key"
    monkeypatch.setenv("GATEPASS_HOST_KEY", str(key))
    runner = CliRunner()
    missing = runner.invoke(cli, ["host-key"])
    assert missing.exit_code == 1 and "gatepass host-key --init" in missing.stderr and not key.exists()
    created = runner.invoke(cli, ["host-key", "--init"], catch_exceptions=False)
    public = created.stdout.strip()
    assert public.startswith("age1") and "created" in created.stderr
    again = runner.invoke(cli, ["host-key", "--init"], catch_exceptions=False)
    assert again.stdout.strip() == public and "kept" in again.stderr
    assert runner.invoke(cli, ["host-key"]).stdout.strip() == public
    args = ["seal", "--to", public, "--kind", "git", "--domain", "GitHub.com.", "--username", "deploy"]
    sealed = runner.invoke(cli, args, input=TOKEN + "\n", catch_exceptions=False).stdout
    assert sealed.startswith("-----BEGIN AGE ENCRYPTED FILE-----") and TOKEN not in sealed
    assert runner.invoke(cli, args, input="\n").exit_code == 1
    config = write_config(tmp_path / "host.toml", f'[[git_provider]]\naccounts = [{{ username = "deploy", token = """\n'
                          f'{sealed}""" }}]\n', mode=0o644)
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    assert account.secret_kind == "sealed"
    assert read_secret(account, dict(os.environ)).value == TOKEN
    listed = runner.invoke(cli, ["list", "--json"], env={"GATEPASS_CONFIG": str(config)}).stdout
    assert json.loads(listed)[0]["source"] == "sealed" and TOKEN not in listed


@pytest.mark.parametrize("args, bound", [
    (["--kind", "git", "--domain", "git.example:8080", "--scheme", "http"], "kind=git scheme=http domain=git.example:8080"),
    (["--kind", "docker", "--domain", "http://127.0.0.1:5000/"], "kind=docker scheme=http domain=127.0.0.1:5000"),
    (["--kind", "docker", "--domain", "index.docker.io"], "kind=docker scheme=https domain=docker.io"),
    (["--kind", "git", "--domain", "Bücher.Example."], "kind=git scheme=https domain=xn--bcher-kva.example"),
])
def test_cli_seal_binds_the_normalised_account(hosts, args, bound):
    result = CliRunner().invoke(cli, ["seal", "--to", hosts["a"][1], *args, "--username", "u"], input=TOKEN + "\n",
                                catch_exceptions=False)
    identity = pyrage.x25519.Identity.from_str(open(hosts["a"][0]).read().splitlines()[-1])
    plain = pyrage.decrypt(result.stdout.encode(), [identity]).decode()
    assert plain == f"gatepass-sealed: {bound} username=u\n{TOKEN}\n"


def test_cli_seal_refuses_a_scheme_the_domain_contradicts(hosts):
    result = CliRunner().invoke(cli, ["seal", "--to", hosts["a"][1], "--kind", "docker", "--domain", "http://r.example",
                                      "--scheme", "https", "--username", "u"], input=TOKEN + "\n")
    assert result.exit_code == 1 and "contradicts" in result.stderr and TOKEN not in result.stderr


def test_read_secret_names_the_account_and_never_the_value(hosts, tmp_path):
    value = sealed_to(hosts["b"][1], account=("git", "https", "github.com", "ci"))
    config = write_config(tmp_path / "c.toml", f'[[git_provider]]\naccounts = [{{ username = "ci", token = """\n{value}""" }}]\n')
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    with pytest.raises(SecretUnavailableError) as info:
        read_secret(account, {"GATEPASS_HOST_KEY": hosts["a"][0]})
    message = str(info.value)
    assert message.startswith(f"{config}:2: account ci@github.com: {ANOTHER_HOST}")
    assert value.splitlines()[1] not in message and TOKEN not in message


@pytest.mark.parametrize("token, words", [
    ("gatepass:sealed:v1:AAAAsecretish", "old gatepass:sealed format"),
    ("-----BEGIN PGP MESSAGE-----\\nhQEMA\\n-----END PGP MESSAGE-----", "armored block gatepass does not read"),
    ("age-encryption.org/v1\\n-> X25519 abc", "binary age file"),
    ("tok-one\\ntok-two", "spans lines"),
])
def test_old_unknown_or_multiline_token_values_are_config_errors_never_inline_tokens(tmp_path, token, words):
    config = write_config(tmp_path / "c.toml", f'[[git_provider]]\naccounts = [{{ username = "u", token = "{token}" }}]\n')
    loaded = load_config(dict(os.environ, GATEPASS_CONFIG=str(config)))
    assert loaded.accounts == [] and len(loaded.errors) == 1
    message = str(loaded.errors[0])
    assert words in message and "token" in message and "secretish" not in message and "tok-one" not in message


def test_cli_seal_reuse_keeps_a_value_only_when_it_opens_here_to_the_same_token_and_account(hosts, tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_HOST_KEY", hosts["a"][0])
    runner = CliRunner()
    config = tmp_path / "global.toml"
    args = ["seal", "--to", hosts["a"][1], "--kind", "git", "--domain", "github.com", "--username", "deploy",
            "--reuse", str(config)]

    def sealed(token: str, extra: tuple[str, ...] = ()) -> str:
        return runner.invoke(cli, [*args, *extra], input=token + "\n", catch_exceptions=False).stdout

    first = sealed(TOKEN)  # no file yet: sealed anew
    write_config(config, f"[[git_provider]]\naccounts = [{{ username = \"deploy\", token = '''\n{first}''' }}]\n", 0o644)
    assert sealed(TOKEN) == first
    assert sealed(TOKEN + "-new") != first
    assert sealed(TOKEN, ("--scheme", "http")) != first  # another binding
    assert sealed(TOKEN, ("--to", hosts["b"][1])) != first  # a recipient more
    monkeypatch.setenv("GATEPASS_HOST_KEY", hosts["b"][0])  # cannot open it here: seal anew
    assert sealed(TOKEN) != first


def test_warm_get_of_a_sealed_account_imports_pyrage_and_nothing_heavy_and_others_never_import_it(hosts, tmp_path):
    import subprocess
    import sys

    from tests.support.racy import cacheable
    from tests.unit.protocol.test_startup import HEAVY, PROBE

    value = sealed_to(hosts["a"][1], account=("git", "https", "sealed.example", "deploy"))
    # cacheable: a first run started within the racy window of the write (an idle machine) caches nothing
    body = (f"[[git_provider]]\ndomain = \"sealed.example\"\naccounts = [{{ username = \"deploy\", token = '''\n{value}''' }}]\n"
            "[[git_provider]]\naccounts = [{ username = \"a\", token = \"t\" }]\n")
    config = cacheable(write_config(tmp_path / "c.toml", body))
    env = dict(os.environ, GATEPASS_CONFIG=str(config), GATEPASS_HOST_KEY=hosts["a"][0], XDG_CACHE_HOME=str(tmp_path / "cache"))
    for host, wants_pyrage in ((b"sealed.example", True), (b"github.com", False)):
        code = PROBE.format(module="git", stdin=b"protocol=https\nhost=" + host + b"\n", heavy=(*HEAVY, "pyrage", "tomli"))
        for _ in range(2):  # the second run is warm
            out = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split("\n")[:2] == ["pyrage" if wants_pyrage else "", "False"]


def test_host_key_prints_the_key_it_holds_and_a_pub_that_names_another_is_an_error(hosts, monkeypatch):
    path, public = hosts["a"]
    monkeypatch.setenv("GATEPASS_HOST_KEY", path)
    assert CliRunner().invoke(cli, ["host-key"], catch_exceptions=False).stdout.strip() == public
    with open(path + ".pub", "w") as stale:
        stale.write(hosts["b"][1] + "\n")
    done = CliRunner().invoke(cli, ["host-key"])
    assert done.exit_code == 1 and done.stdout == ""
    assert f"{path}.pub (age1" in done.stderr and f"is not the public key of {path}" in done.stderr
    done = CliRunner().invoke(cli, ["host-key", "--init"])  # --init finding one says the same
    assert done.exit_code == 1 and f"is not the public key of {path}" in done.stderr
    with open(path + ".pub", "w") as good:
        good.write(public + "\n")
    os.chmod(path, 0o644)  # refused as an identity: only the .pub can say the public key
    assert CliRunner().invoke(cli, ["host-key"], catch_exceptions=False).stdout.strip() == public


def test_an_ssh_identity_prints_its_own_public_key_and_a_mismatched_pub_is_an_error(tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = tmp_path / "ssh_host_ed25519_key"
    key.write_bytes(open(os.path.join(FIXTURES, "ssh_ed25519"), "rb").read())
    key.chmod(0o600)
    own = " ".join(open(os.path.join(FIXTURES, "ssh_ed25519.pub")).read().split()[:2])
    other = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    monkeypatch.setenv("GATEPASS_HOST_KEY", str(key))
    assert CliRunner().invoke(cli, ["host-key"], catch_exceptions=False).stdout.strip() == own  # no .pub needed
    (tmp_path / "ssh_host_ed25519_key.pub").write_text(other + " root@elsewhere\n")
    done = CliRunner().invoke(cli, ["host-key"])
    assert done.exit_code == 1 and f"is not the public key of {key}" in done.stderr
    (tmp_path / "ssh_host_ed25519_key.pub").write_text(own + " root@here\n")
    assert CliRunner().invoke(cli, ["host-key"], catch_exceptions=False).stdout.strip() == own


def test_a_host_key_in_a_directory_others_can_write_is_refused(hosts, monkeypatch):
    path, public = hosts["a"]
    directory = os.path.dirname(path)
    os.chmod(directory, 0o777)  # anyone could swap host.key and host.key.pub for their own pair
    with pytest.raises(HostKeyError, match=f"{directory} is writable by other users"):
        opened_with(sealed_to(public), path)
    monkeypatch.setenv("GATEPASS_HOST_KEY", path)
    done = CliRunner().invoke(cli, ["host-key"])
    assert done.exit_code == 1 and done.stdout == "" and f"host key {path} is not used" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="creates a real second local user: needs root (CI runs as root)")
def test_an_acl_letting_another_user_read_the_host_key_is_refused(tmp_path):
    """The mode still shows 0640 (the group bits are the ACL mask), but user OTHER can read the key."""
    import shutil
    import subprocess

    from tests.support.local_user import local_user, shared_dir

    if shutil.which("setfacl") is None:
        pytest.skip("needs setfacl (Debian: acl); ./test installs it")
    with local_user() as other, shared_dir() as shared:
        path = os.path.join(shared, "keys", "host.key")
        public = create_key(path)
        os.chmod(os.path.dirname(path), 0o755)
        subprocess.run(["setfacl", "-m", f"u:{other.name}:r", path], check=True)
        assert os.stat(path).st_mode & 0o777 == 0o640
        assert other.run(["head", "-c", "3", path], check=False).stdout == "# c"  # the leak is real
        with pytest.raises(HostKeyError, match=f"through an ACL; run: setfacl -b {path}"):
            opened_with(sealed_to(public), path)


FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "sealed")


@pytest.mark.parametrize("identity", ["identity.txt", "ssh_ed25519"])
def test_known_answer_a_value_stock_age_made_opens_for_its_account_with_either_identity(tmp_path, identity):
    key = tmp_path / identity
    key.write_bytes(open(os.path.join(FIXTURES, identity), "rb").read())
    key.chmod(0o600)  # git keeps no mode: the copy gets the one a key needs
    value = open(os.path.join(FIXTURES, "docker-ci.age")).read()
    config = write_config(tmp_path / "c.toml", "[[docker_registry]]\ndomain = \"http://127.0.0.1:5000\"\n"
                          f"accounts = [{{ username = \"<token> ci\", token = '''\n{value}''' }}]\n", 0o644)
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(config))).accounts
    assert read_secret(account, {"GATEPASS_HOST_KEY": str(key)}).value == "tok-fixture-1f0c"
    # gatepass writes < and > as is; the fixture escapes them too, and any %XX decodes the same
    assert header_line("docker", "http", "127.0.0.1:5000", "<token> ci") == \
        "gatepass-sealed: kind=docker scheme=http domain=127.0.0.1:5000 username=<token>%20ci"
