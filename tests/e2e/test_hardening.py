"""Trying hard to make gatepass leak a token, hang, lose an entry or blow up on big input.

A canary token is configured everywhere it can be and every error path of the three executables
is driven: it must never appear on stderr, in exception text, in a file gatepass writes other
than the secret's own store (and the 0600 parsed-config cache, which holds inline config tokens
at a mode no looser than their file), or in the argv of a process gatepass starts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gatepass.hostkey import create_key
from gatepass.sealing import parse_recipient, seal
from gatepass.stores.index import Index
from tests.conftest import write_config
from tests.support.big_config import write_git_accounts
from tests.support.openbao import openbao  # noqa: F401  (the fixture)
from tests.support.racy import cacheable
from tests.support.secret_service import lock_default_collection, missing_tools, private_secret_service

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
BIN = Path(sys.executable).parent
CANARY = "CANARY-7f3a9c1e"


def helper(name: str, args: list[str], stdin: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(BIN / name), *args], input=stdin, env=env, capture_output=True, timeout=60)


def written_files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def canary_env(isolated_env, tmp_path):
    argv_log = tmp_path / "argv.log"
    script = tmp_path / "leaky.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> {argv_log}\necho {CANARY}-cmd\necho {CANARY}-cmd >&2\nexit 7\n')
    script.chmod(0o700)
    other_host = parse_recipient(create_key(str(tmp_path / "other.key")))
    mine = parse_recipient(create_key(str(tmp_path / "mine.key")))
    sealed = seal(CANARY + "-sealed", other_host, "git", "https", "sealed.example", "s")
    replayed = seal(CANARY + "-replayed", mine, "git", "https", "sealed.example", "s")  # bound to s, put on r
    lines = seal(CANARY + "-tampered", mine, "git", "https", "sealed.example", "t").splitlines()
    lines[-2] = lines[-2][:-4] + ("AAAA" if not lines[-2].endswith("AAAA") else "BBBB")
    tampered = "\n".join(lines) + "\n"
    # minted kinds (issue #18): a "key" file holding the canary, a real key whose API is unreachable
    not_a_key, app_key = tmp_path / "notakey.pem", tmp_path / "app.pem"
    not_a_key.write_text(f"{CANARY}-pem\n")
    not_a_key.chmod(0o600)
    app_key.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    app_key.chmod(0o600)
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[git_provider]]
domain = "inline.example"
accounts = [{{ username = "i", token = "{CANARY}-inline" }}]
[[git_provider]]
domain = "cmd.example"
accounts = [{{ username = "c", token_command = ["{script}", "--flag"] }}]
[[git_provider]]
domain = "sealed.example"
accounts = [{{ username = "s", token = '''
{sealed}''' }}, {{ username = "r", token = '''
{replayed}''' }}, {{ username = "t", token = '''
{tampered}''' }}]
[[git_provider]]
domain = "file.example"
accounts = [{{ username = "f", token_file = "{tmp_path}" }}, {{ username = "g", token_file = "{tmp_path}/missing" }}]
[[docker_registry]]
domain = "reg.example"
accounts = [{{ username = "d", token = "{CANARY}-docker" }}]
[[git_provider]]
domain = "app.example"
accounts = [
  {{ username = "x-access-token", github_app = {{ app_id = 1, private_key_file = "{not_a_key}", api_url = "http://127.0.0.1:9" }} }},
  {{ username = "y", github_app = {{ app_id = 1, private_key_file = "{app_key}", api_url = "http://127.0.0.1:9" }} }}]
[[docker_registry]]
domain = "*.dkr.ecr.*.amazonaws.com"
accounts = [{{ username = "AWS", aws_ecr = {{ region = "eu-west-1" }} }}]
""")
    write_config(Path(isolated_env["GATEPASS_HOST_CONFIG"]).parent / "host.d" / "broken.toml",
                 f'[[git_provider]]\ndomain = "x"\naccounts = [{{ username = "b", token = "{CANARY}-broken", bad = 1 }}]\n'
                 f'[[git_provider]\ntoken = "{CANARY}-syntax"\n')
    env = dict(os.environ, GATEPASS_HOST_KEY=str(tmp_path / "mine.key"), GATEPASS_STORE_BACKEND="encrypted-file",
               AWS_ACCESS_KEY_ID=f"{CANARY}-akid", AWS_SECRET_ACCESS_KEY=f"{CANARY}-aws-secret",
               AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    return env, argv_log


def test_canary_never_leaks_on_any_error_path(canary_env, tmp_path, isolated_env):
    env, argv_log = canary_env
    trace = Path(isolated_env["HOME"]) / "gatepass-trace.jsonl"  # every helper call traced (#19): swept below
    env = dict(env, GATEPASS_TRACE=str(trace))
    outputs: list[bytes] = []
    git_requests = [b"protocol=https\nhost=cmd.example\n", b"protocol=https\nhost=sealed.example\n",
                    b"protocol=https\nhost=file.example\n", b"protocol=https\r\nhost=inline.example\n",
                    b"protocol=https\nhost=inline.example\x00\n", b"protocol=http\nhost=inline.example\n",
                    f"protocol=https\nhost=x\nusername=u\npassword={CANARY}-typed\n".encode(),
                    b"protocol=https\nhost=app.example\npath=acme/x.git\n"]
    for request in git_requests:
        for action in ("get", "store", "erase"):
            done = helper("git-credential-gatepass", [action], request, env)
            outputs.append(done.stderr)
            assert CANARY.encode() not in done.stdout or action == "get"
    for args, stdin in ((["get"], b"reg.example.evil"), (["get"], b"123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
                        (["store"], f'{{"ServerURL": "", "Secret": "{CANARY}-d"}}'.encode()),
                        (["store"], f'{{"ServerURL": "r", "Username": "", "Secret": "{CANARY}-d"}}'.encode()),
                        (["store"], f'not json {CANARY}'.encode()), (["erase"], b""), (["list"], b""), (["bogus"], b"")):
        done = helper("docker-credential-gatepass", args, stdin, env)
        outputs += [done.stderr, done.stdout if args != ["list"] else b""]
    # wrong passphrase over a store that holds the canary
    done = helper("git-credential-gatepass", ["store"],
                  f"protocol=https\nhost=stored.example\nusername=u\npassword={CANARY}-stored\n".encode(), env)
    assert done.returncode == 0
    wrong = dict(env, GATEPASS_STORE_PASSPHRASE="wrong")
    outputs.append(helper("git-credential-gatepass", ["get"], b"protocol=https\nhost=stored.example\n", wrong).stderr)
    # a data directory that cannot be written (disk full, read-only mount)
    readonly = dict(env, XDG_DATA_HOME="/proc/version/not-a-dir")
    done = helper("git-credential-gatepass", ["store"],
                  f"protocol=https\nhost=ro.example\nusername=u\npassword={CANARY}-ro\n".encode(), readonly)
    outputs.append(done.stderr)
    assert b"cannot" in done.stderr
    # the management command on the same configs
    for args in (["list"], ["list", "--json"], ["explain", "https://cmd.example/x"], ["explain", "https://sealed.example/"],
                 ["config", "check"], ["doctor"], ["explain", "reg.example", "--kind", "docker"]):
        done = subprocess.run([str(BIN / "gatepass"), *args], env=env, capture_output=True, timeout=60)
        outputs += [done.stdout, done.stderr]
    for output in outputs:
        assert CANARY.encode() not in output, output
    for words in (b"sealed for another host", b"sealed for a different account", b"tampered or corrupt"):
        assert words in b"".join(outputs)
    assert b"no unencrypted PEM private key" in b"".join(outputs)  # the minted kinds were really tried
    assert b"GitHub: http://127.0.0.1:9/" in b"".join(outputs) and b"cannot be reached" in b"".join(outputs)
    assert b"AWS" in b"".join(outputs)
    key_body = "".join((tmp_path / "app.pem").read_text().splitlines()[1:-1])
    for output in outputs:
        assert key_body[:32].encode() not in output and b"PRIVATE KEY" not in output
    assert CANARY not in argv_log.read_text()
    traced = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(traced) >= len(git_requests) * 3 and any(line["candidates"] for line in traced)
    home = Path(isolated_env["HOME"])
    for path, data in written_files(home).items():
        if "/.cache/gatepass/config-" in path or path.endswith((".toml", "secrets.enc", "machine.key")):
            continue  # the configs themselves, the 0600 parse cache, the encrypted store
        assert CANARY.encode() not in data, path


def test_index_and_cache_modes(canary_env, isolated_env):
    env, _ = canary_env
    helper("git-credential-gatepass", ["get"], b"protocol=https\nhost=inline.example\n", env)
    helper("git-credential-gatepass", ["store"], b"protocol=https\nhost=n.example\nusername=u\npassword=p\n", env)
    home = Path(isolated_env["HOME"])
    for path in (home / ".cache" / "gatepass", home / ".local" / "share" / "gatepass"):  # gatepass made these
        assert path.stat().st_mode & 0o777 == 0o700, path
        for child in path.iterdir():
            assert child.stat().st_mode & 0o777 == 0o600, child
    assert (home / ".config" / "gatepass" / "machine.key").stat().st_mode & 0o777 == 0o600


def test_hundred_parallel_mixed_operations_equal_a_serial_run(isolated_env):
    env = dict(os.environ, GATEPASS_STORE_BACKEND="encrypted-file")
    ops = ([("git-credential-gatepass", ["store"], f"protocol=https\nhost=h.example\nusername=u{i}\npassword=p{i}\n")
            for i in range(40)]
           + [("docker-credential-gatepass", ["store"], json.dumps({"ServerURL": f"r{i}.example:5000", "Username": "d",
                                                                   "Secret": f"s{i}"})) for i in range(30)]
           + [("git-credential-gatepass", ["get"], "protocol=https\nhost=h.example\n") for _ in range(10)]
           + [("docker-credential-gatepass", ["get"], "r1.example:5000") for _ in range(5)]
           + [("git-credential-gatepass", ["erase"], f"protocol=https\nhost=h.example\nusername=never{i}\n")
              for i in range(10)]
           + [("docker-credential-gatepass", ["erase"], f"gone{i}.example") for i in range(5)])
    procs = []
    for name, args, stdin in ops:
        proc = subprocess.Popen([str(BIN / name), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())  # at once, as git and docker do (a few bytes: the pipe never fills);
        proc.stdin.close()  # fed one by one after the others finished, the last would wait past the stdin deadline
        procs.append(proc)
    said = set()
    for proc in procs:
        said.add(proc.stdout.read() + proc.stderr.read())  # type: ignore[union-attr]  # small: no pipe fills
        proc.wait(120)
    keys = sorted((e.kind, e.host, e.username) for e in Index(env).entries())
    assert keys == sorted([("git", "h.example", f"u{i}") for i in range(40)]
                          + [("docker", f"r{i}.example:5000", "d") for i in range(30)]), said
    for i in (0, 17, 39):
        done = helper("git-credential-gatepass", ["get"], f"protocol=https\nhost=h.example\nusername=u{i}\n".encode(), env)
        assert done.stdout == f"username=u{i}\npassword=p{i}\n".encode()


def test_huge_inputs_are_refused_quickly_with_one_line(isolated_env):
    env = dict(os.environ)
    big = b"protocol=https\nhost=" + b"a" * 10_000_000 + b"\n"
    for name, args, stdin in (("git-credential-gatepass", ["get"], big),
                              ("git-credential-gatepass", ["get"], b"capability[]=x\n" * 5000),
                              ("docker-credential-gatepass", ["get"], b"a" * 10_000_000),
                              ("docker-credential-gatepass", ["store"], b"{" + b" " * 10_000_000)):
        started = time.monotonic()
        done = helper(name, args, stdin, env)
        assert time.monotonic() - started < 10
        message = done.stderr if name.startswith("git") else done.stdout
        assert message.count(b"\n") == 1 and b"larger than" in message, message[:200]


def test_hundred_thousand_accounts_load_in_bounded_time_and_memory(tmp_path, isolated_env):
    """Bounded in CPU time (user + sys, from /usr/bin/time), not wall time: at load 20 on 2 cores a
    process waits for a core far longer than it runs."""
    path = tmp_path / "big.toml"
    host, user = write_git_accounts(path, 100_000)
    assert (host, user) == ("host-9999.example.com", "user-9999-0")
    cacheable(path)  # the first parse is cached whatever the load, so the second run is the warm one
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    request = f"protocol=https\nhost={host}\n".encode()
    for _ in range(2):  # a cold parse, then the cache
        done = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", str(BIN / "git-credential-gatepass"), "get"],
                              input=request, env=env, capture_output=True, timeout=600)
        assert done.stdout.startswith(f"username={user}\n".encode()), done.stderr[-500:]
        peak_kib, user_s, sys_s = done.stderr.split()[-3:]
        cpu, peak = float(user_s) + float(sys_s), int(peak_kib)
        assert cpu < 60 and peak < 512 * 1024
    assert cpu < 2 and peak < 64 * 1024  # the warm answer reads one shard


def test_a_token_file_on_a_fifo_does_not_hang(tmp_path, isolated_env):
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "f.example"\n'
                 f'accounts = [{{ username = "f", token_file = "{fifo}" }}]\n')
    done = helper("git-credential-gatepass", ["get"], b"protocol=https\nhost=f.example\n", dict(os.environ))
    assert done.stdout == b"" and b"is not a regular file" in done.stderr


def test_a_keyring_that_never_answers_ends_within_the_timeout(tmp_path, isolated_env):
    path = str(tmp_path / "silent.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(5)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])  # accept, then never say a word
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        write_config(isolated_env["GATEPASS_USER_CONFIG"], '[store]\nbackend = "secret-service"\ntimeout = 1\n'
                     '[[git_provider]]\ndomain = "k.example"\naccounts = [{ username = "k" }]\n')
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=f"unix:path={path}")
        started = time.monotonic()
        done = helper("git-credential-gatepass", ["get"], b"protocol=https\nhost=k.example\n", env)
        assert time.monotonic() - started < 5
        assert done.stdout == b"" and b"Secret Service" in done.stderr
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_locked_keyring_is_reported_not_silently_not_found(isolated_env):
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())}; ./test installs them")
    with private_secret_service() as extra:
        env = dict(os.environ, GATEPASS_STORE_BACKEND="secret-service", **extra)
        stored = helper("git-credential-gatepass", ["store"],
                        f"protocol=https\nhost=l.example\nusername=u\npassword={CANARY}\n".encode(), env)
        assert stored.returncode == 0 and stored.stderr == b""
        lock_default_collection(extra)
        done = helper("git-credential-gatepass", ["get"], b"protocol=https\nhost=l.example\n", env)
        assert done.stdout == b"" and b"locked" in done.stderr and CANARY.encode() not in done.stderr


def test_canary_from_openbao_never_leaks(openbao, tmp_path, isolated_env):  # noqa: F811
    """The vault engine's paths: a good read, a missing field, a denied path, a dead server; the canary
    is the secret in OpenBao and the secret_id is a canary too. Only the engine cache (0600) holds it."""
    from tests.support.openbao import approle_setup, free_port

    openbao.kv_put("hardening/canary", token=CANARY + "-vault", other=CANARY + "-other")
    role_id, secret_file, _ = approle_setup(openbao, tmp_path, "hardening", ["secret/data/hardening/*"])
    secret_id = secret_file.read_text().strip()
    spec = 'path = "secret/data/hardening/canary", field = "token"'
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[vault]
address = "{openbao.address}"
role_id = "{role_id}"
secret_id_file = "{secret_file}"
[[git_provider]]
domain = "vault.example"
accounts = [{{ username = "v", vault = {{ {spec} }} }}]
[[git_provider]]
domain = "nofield.example"
accounts = [{{ username = "n", vault = {{ path = "secret/data/hardening/canary", field = "missing" }} }}]
[[git_provider]]
domain = "denied.example"
accounts = [{{ username = "d", vault = {{ path = "secret/data/elsewhere", field = "token" }} }}]
[[docker_registry]]
domain = "vault-reg.example"
accounts = [{{ username = "v", vault = {{ {spec} }} }}]
""")
    env = dict(os.environ, GATEPASS_STORE_BACKEND="encrypted-file")
    dead = dict(env, XDG_CACHE_HOME=str(tmp_path / "cold"), GATEPASS_USER_CONFIG=str(
        write_config(tmp_path / "dead.toml", f'[vault]\naddress = "http://127.0.0.1:{free_port()}"\nrole_id = "{role_id}"\n'
                     f'secret_id_file = "{secret_file}"\n[[git_provider]]\ndomain = "vault.example"\n'
                     f'accounts = [{{ username = "v", vault = {{ {spec} }} }}]\n')))
    outputs: list[bytes] = []
    for host in ("vault.example", "nofield.example", "denied.example"):
        for action in ("get", "store", "erase"):
            request = f"protocol=https\nhost={host}\n" + (f"username=v\npassword={CANARY}-vault\n" if action != "get" else "")
            for run_env in (env, dead):
                done = helper("git-credential-gatepass", [action], request.encode(), run_env)
                outputs.append(done.stderr)
                assert CANARY.encode() not in done.stdout or (action, host, run_env) == ("get", "vault.example", env)
    for args, stdin in ((["get"], b"vault-reg.example"), (["erase"], b"vault-reg.example"), (["list"], b"")):
        done = helper("docker-credential-gatepass", args, stdin, env)
        outputs.append(done.stderr)
    for args in (["list"], ["list", "--json"], ["explain", "https://vault.example/x"], ["explain", "https://denied.example/"],
                 ["config", "check"], ["doctor"], ["explain", "vault-reg.example", "--kind", "docker"]):
        for run_env in (env, dead):
            done = subprocess.run([str(BIN / "gatepass"), *args], env=run_env, capture_output=True, timeout=60)
            outputs += [done.stdout, done.stderr]
    joined = b"".join(outputs)
    assert b"permission denied reading secret/data/elsewhere" in joined and b"has no field missing" in joined
    assert b"cannot be reached" in joined
    for output in outputs:
        assert CANARY.encode() not in output and secret_id.encode() not in output, output
    for path, data in written_files(Path(isolated_env["HOME"])).items():
        if "/.cache/gatepass/tokens/" in path:  # the engine cache: the value and the login token, 0600
            assert os.stat(path).st_mode & 0o777 == 0o600, path
            continue
        if "/.cache/gatepass/config-" in path or path.endswith(".toml"):
            continue
        assert CANARY.encode() not in data and secret_id.encode() not in data, path
