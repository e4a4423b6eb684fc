#!/usr/bin/env python3
"""Start-up cost of gatepass's helpers beside python itself, git's own helpers and Debian's Go helpers.

Run by hand (not part of the test suite), with the dev venv's python:
    .venv/bin/python benchmarks/bench_get.py [--runs 30] [--only REGEX] [--markdown] [--prefix DIR]

It installs gatepass with `./install --no-wire` into a temporary venv (or into --prefix DIR, kept and
reused). ./install runs pip, so the same venv holds both launchers users get: ./install's own
(`python -I -S`, in a bin dir) and the one pip/pipx write from the wheel (in the venv's bin). Every
command runs as a new process, as git runs it, round-robin across the rows so that a slow patch on a
shared machine hits all of them alike. Ratios against `python -I -c pass` from the same run are the
figures that count; absolute times are noise on a shared machine. Rows with a target say whether this
run met it.

Adding a row is one line: a call to `row(...)` at the bottom of this file's row list (see ROWS), e.g.
    row("gatepass get, warm, vault-sourced", "1", lambda b: b.git_get(VAULT_TOML, "git.example", "deploy",
        env={"VAULT_ADDR": ...}), target=1.5)
A row's builder gets the Bench (installed launchers, work directory, base environment, `cleanup()`)
and returns a Case; `Bench.git_get`, `Bench.docker`, `Bench.command` cover the usual shapes.

Peers: Debian's docker-credential-secretservice / -pass (golang-docker-credential-helpers) and `pass`
are fetched with `apt-get download` and unpacked with `dpkg -x` into the run's temporary directory:
never installed, so the machine's docker CLI never sees them.

Peak RSS comes from wait4() in GNU time (/usr/bin/time): wait4() from this script would report at least
this script's own RSS (Linux carries the parent's high-water mark across fork + exec).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GNU_TIME = "/usr/bin/time"
BASELINE = "python -I -c pass"
Step = tuple[list[str], bytes]  # argv, stdin


@dataclass
class Case:
    """One row: ``steps`` run in order, each a group of processes started together (wall time of all)."""
    name: str
    accounts: str
    steps: list[list[Step]]
    env: dict[str, str]
    before: Callable[[], None] | None = None  # untimed, before every run (e.g. empty the cache)
    expect: bytes | None = None  # a line the first process's answer must hold (checked once, never printed)
    target: float | None = None  # the ratio to BASELINE this row must stay under
    runs: int | None = None  # cap on timed runs (slow rows)
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user+sys ms of the processes (and what they waited for)
    rss: float = float("nan")


def spawn(argv: list[str], stdin: bytes, env: dict[str, str]) -> int:
    read_end, write_end = os.pipe()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, read_end, 0), (os.POSIX_SPAWN_CLOSE, write_end),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    os.close(read_end)
    os.write(write_end, stdin)
    os.close(write_end)
    return pid


def run_once(case: Case) -> tuple[float, float]:
    """Wall milliseconds from the first spawn to the last process reaped, and their CPU milliseconds
    (user + system, from wait4: less sensitive to a loaded machine than wall time); output discarded."""
    start, cpu = time.perf_counter(), 0.0
    for group in case.steps:
        pids = [spawn(argv, stdin, case.env) for argv, stdin in group]
        for pid in pids:
            _, status, usage = os.wait4(pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"bench: {case.name} ({case.accounts}) exited {os.waitstatus_to_exitcode(status)}")
    return (time.perf_counter() - start) * 1000, cpu * 1000


def check(case: Case) -> None:
    """Run once with output captured: a benchmark of a helper that answers nothing measures nothing."""
    if case.before:
        case.before()
    for group in case.steps:
        for argv, stdin in group:
            done = subprocess.run(argv, input=stdin, env=case.env, capture_output=True)
            expect = case.expect if (argv, stdin) == case.steps[0][0] else None
            if done.returncode != 0 or (expect is not None and expect not in done.stdout.splitlines()):
                raise SystemExit(f"bench: {case.name} ({case.accounts}) did not answer as expected (exit "
                                 f"{done.returncode}; stderr: {done.stderr.decode(errors='replace').strip()[:300]})")


def peak_rss(case: Case, runs: int = 3) -> float:
    """Largest peak RSS in MiB over a few runs of a one-process row, from GNU time's wait4()."""
    if not os.access(GNU_TIME, os.X_OK) or len(case.steps) != 1 or len(case.steps[0]) != 1:
        return float("nan")
    argv, stdin = case.steps[0][0]
    peaks = []
    with tempfile.NamedTemporaryFile("r") as out:
        for _ in range(min(runs, case.runs or runs)):
            if case.before:
                case.before()
            subprocess.run([GNU_TIME, "-f", "%M", "-o", out.name, *argv], input=stdin, env=case.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            out.seek(0)
            peaks.append(int(out.read().split()[-1]) / 1024)
    return max(peaks)


def measure(cases: list[Case], runs: int, warmup: int = 2) -> None:
    for case in cases:
        check(case)
        for _ in range(min(warmup, case.runs or warmup)):
            if case.before:
                case.before()
            run_once(case)
    for number in range(runs):
        print(f"bench: round {number + 1}/{runs}", file=sys.stderr, end="\r")
        for case in cases:
            if case.runs is not None and number >= case.runs:
                continue
            if case.before:
                case.before()
            wall, cpu = run_once(case)
            case.times.append(wall)
            case.cpu.append(cpu)
    print(file=sys.stderr)
    for case in cases:
        case.rss = peak_rss(case)


# --- configs ----------------------------------------------------------------------------------------

def git_toml(tables: int, per_table: int) -> tuple[str, str, str]:
    """``tables`` [[git_provider]] tables of ``per_table`` accounts; (text, last host, its first user)."""
    parts = []
    for p in range(tables):
        users = ", ".join(f'{{ username = "user-{p}-{a}", token = "token-{p}-{a}" }}' for a in range(per_table))
        parts.append(f'[[git_provider]]\ndomain = "host-{p}.example.com"\naccounts = [{users}]\n')
    return "".join(parts), f"host-{tables - 1}.example.com", f"user-{tables - 1}-0"


def write_config(path: Path, accounts: int) -> str:
    """``accounts`` accounts, ten per [[git_provider]], into ``path`` (0600); returns the last provider's
    host (tests/e2e/test_hardening.py builds its 100,000-account file with this)."""
    text, host, _ = git_toml(max(1, accounts // 10), min(10, accounts))
    path.write_text(text)
    path.chmod(0o600)
    return host


def docker_toml(registries: int) -> str:
    return "".join(f'[[docker_registry]]\ndomain = "reg-{p}.example.com"\n'
                   f'accounts = [{{ username = "u-{p}", token = "t-{p}" }}]\n' for p in range(registries))


class Bench:
    """What a row builder needs: launchers, a work directory, a base environment, cleanups."""

    def __init__(self, work: Path, prefix: Path, bindir: Path) -> None:
        self.work, self.prefix, self.bindir = work, prefix, bindir
        self.python = str(prefix / "bin" / "python")  # the interpreter the launchers run, not a pyenv shim
        home = work / "home"
        self.env = {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": str(home),
                    "LANG": "C.UTF-8", "XDG_CONFIG_HOME": str(home / ".config"),
                    "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local" / "share"),
                    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
                    "GIT_TERMINAL_PROMPT": "0"}
        self.cleanups: list[Callable[[], None]] = []
        self._count = 0

    def launcher(self, kind: str = "install", helper: str = "git") -> str:
        """``install``: ./install's launcher; ``pip``: the one pip (and pipx) wrote from the wheel; ``pipx``:
        that one reached through a symlink in another directory, as pipx links it into ~/.local/bin."""
        name = f"{helper}-credential-gatepass"
        if kind == "pipx":  # pipx's layout: $PIPX_HOME/venvs/gatepass, its bin linked into ~/.local/bin
            venv = self.work / "pipx-home" / "venvs" / "gatepass"
            link = self.work / "pipx-bin" / name
            if not link.exists():
                venv.parent.mkdir(parents=True, exist_ok=True)
                if not venv.exists():
                    venv.symlink_to(self.prefix)
                link.parent.mkdir(exist_ok=True)
                link.symlink_to(venv / "bin" / name)
            return str(link)
        return str(self.bindir / name if kind == "install" else self.prefix / "bin" / name)

    def cleanup(self, action: Callable[[], None]) -> None:
        self.cleanups.append(action)

    def home(self, text: str | None = None, **extra: str) -> dict[str, str]:
        """A fresh environment with its own cache, data and config (``text`` as GATEPASS_CONFIG)."""
        self._count += 1
        home = self.work / f"h{self._count}"
        env = dict(self.env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local" / "share"),
                   GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GATEPASS_CONFIG="/dev/null", **extra)
        if text is not None:
            home.mkdir(parents=True)
            config = home / "config.toml"
            config.write_text(text)
            config.chmod(0o600)
            env["GATEPASS_CONFIG"] = str(config)
        return env

    def git_get(self, name: str, accounts: str, text: str, host: str, user: str, *, cold: bool = False,
                launcher: str = "install", env: dict[str, str] | None = None, **kw) -> Case:  # type: ignore[no-untyped-def]
        genv = self.home(text, **(env or {}))
        case = Case(name, accounts, [[([self.launcher(launcher), "get"], f"protocol=https\nhost={host}\n\n".encode())]],
                    genv, expect=f"username={user}".encode(), **kw)
        case.before = self.empty_cache(genv) if cold else self.fill_cache(case)
        return case

    def docker(self, name: str, accounts: str, text: str, action: str, stdin: bytes = b"", **kw) -> Case:  # type: ignore[no-untyped-def]
        env = self.home(text)
        case = Case(name, accounts, [[([self.launcher("install", "docker"), action], stdin)]], env, **kw)
        case.before = self.fill_cache(case)
        return case

    def command(self, name: str, accounts: str, argv: list[str], stdin: bytes = b"", env: dict[str, str] | None = None,
                **kw) -> Case:  # type: ignore[no-untyped-def]
        return Case(name, accounts, [[(argv, stdin)]], env or self.env, **kw)

    @staticmethod
    def empty_cache(env: dict[str, str]) -> Callable[[], None]:
        return lambda: shutil.rmtree(Path(env["XDG_CACHE_HOME"]) / "gatepass", ignore_errors=True)

    @staticmethod
    def fill_cache(case: Case) -> Callable[[], None]:
        """Before a warm run: make sure the parse cache is there (untimed); a cold row may share nothing."""
        cache = Path(case.env["XDG_CACHE_HOME"]) / "gatepass"

        def fill() -> None:
            if not any(cache.glob("config-*")):
                argv, stdin = case.steps[0][0]
                subprocess.run(argv, input=stdin, env=case.env, capture_output=True, check=True)
        return fill


# --- rows ---------------------------------------------------------------------------------------------

@dataclass
class Row:
    name: str
    accounts: str
    build: Callable[[Bench], Case | list[Case]]
    target: float | None = None
    group: str = "core"


ROWS: list[Row] = []


def row(name: str, accounts: str, build: Callable[[Bench], Case | list[Case]], target: float | None = None,
        group: str = "core") -> None:
    """Register a row; ``build`` returns its Case(s) (the name and target given here are applied)."""
    ROWS.append(Row(name, accounts, build, target, group))


def _git_store_peer(b: Bench) -> Case:
    store = b.work / "git-credentials"
    store.write_text("https://user:secret@host-0.example.com\n")
    store.chmod(0o600)
    return b.command("", "", ["/usr/bin/git", "credential-store", f"--file={store}", "get"],
                     b"protocol=https\nhost=host-0.example.com\n\n", expect=b"username=user")


def _git_cache_peer(b: Bench) -> Case:
    socket = b.work / "cache" / "socket"
    socket.parent.mkdir(mode=0o700)
    git = ["/usr/bin/git", "credential-cache", f"--socket={socket}"]
    subprocess.run([*git, "--timeout=3600", "store"], env=b.env, check=True,
                   input=b"protocol=https\nhost=host-0.example.com\nusername=user\npassword=secret\n\n")
    b.cleanup(lambda: subprocess.run([*git, "exit"], env=b.env, check=False, capture_output=True))
    return b.command("", "", [*git, "get"], b"protocol=https\nhost=host-0.example.com\n\n", expect=b"username=user")


def _pip_template_launcher(b: Bench) -> Case:
    """The console_scripts launcher pip/distlib generate (imports re, runs site): the 'before' of the pip row."""
    script = b.work / "console-script-git-credential-gatepass"
    script.write_text(f"#!{b.python}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
                      "from gatepass.protocol.git import main\nif __name__ == '__main__':\n"
                      "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(main())\n")
    script.chmod(0o755)
    text, host, user = git_toml(100, 10)
    case = b.git_get("", "", text, host, user)
    case.steps = [[([str(script), "get"], case.steps[0][0][1])]]
    return case


def _accounts(size: int, cold: bool) -> Callable[[Bench], Case]:
    runs = {10_000: 15, 100_000: 5}.get(size) if cold else None
    return lambda b: b.git_get("", "", *git_toml(max(1, size // 10), min(10, size)), cold=cold, runs=runs)


def _four_at_once(b: Bench) -> Case:
    text, host, user = git_toml(10_000, 1)
    case = b.git_get("", "", text, host, user, cold=True, runs=8)
    case.steps = [case.steps[0] * 4]
    return case


def git_247() -> str | None:
    """git 2.47.3 as tests/conformance/t0303.sh builds it (cached), for the state[] rows; None when it cannot."""
    done = subprocess.run(["bash", str(ROOT / "tests" / "conformance" / "t0303.sh"), "--git-2.47"],
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1] if done.returncode == 0 and done.stdout.strip() else None


def _git_op(helper: str, git: str = "/usr/bin/git") -> Callable[[Bench], Case | list[Case]]:
    """`git credential fill` then `approve`, as one clone does, with ``helper`` (or none) answering: git's
    ``store``, ``floor`` (a ``python -I -S`` helper that only writes the answer: what any Python helper
    costs at least) or gatepass's ./install launcher, each named by its absolute path as `gatepass setup git` does
    (a bare name makes git start a shell first). With git 2.47 fill announces ``capability[]=state`` and
    approve gets fill's answer back, state[] included, as git does inside one process."""
    def build(b: Bench) -> Case | list[Case]:
        command = git if git == "/usr/bin/git" else git_247()
        if command is None:
            print("bench: git 2.47.3 could not be built (tests/conformance/t0303.sh --git-2.47); rows left out",
                  file=sys.stderr)
            return []
        env = b.home(git_toml(100, 10)[0] if helper == "gatepass" else None)
        store = Path(env["HOME"]) / ".git-credentials"
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text("https://user-99-0:token-99-0@host-99.example.com\n")
        store.chmod(0o600)
        floor = b.work / "floor-helper"
        # answers get (the write is all it does), so git runs it for both get and store
        floor.write_text(f"#!{b.python} -IS\nimport posix\nposix.write(1, b'username=user-99-0\\npassword=token-99-0\\n')\n")
        floor.chmod(0o755)
        path = {"gatepass": b.launcher(), "floor": str(floor), "store": "store"}.get(helper)
        config = ["-c", "credential.helper="] + (["-c", f"credential.helper={path}"] if path else [])
        state = command != "/usr/bin/git"
        ask = (b"capability[]=state\n" if state else b"") + b"protocol=https\nhost=host-99.example.com\n"
        full = ask + b"username=user-99-0\npassword=token-99-0\n"
        answered = full + (b"state[]=gatepass:config\n" if state and helper == "gatepass" else b"")
        fill = [command, *config, "credential", "fill"]
        approve = [command, *config, "credential", "approve"]
        case = Case("", "", [[(fill, full if not helper else ask)], [(approve, answered)]], env,
                    expect=b"username=user-99-0")
        if helper == "gatepass":
            case.before = Bench.fill_cache(Case("", "", [[([b.launcher(), "get"], ask + b"\n")]], env))
        return case
    return build


def _store_cases(b: Bench) -> list[Case]:
    """get from the store on each backend, and keyring's own CLI, on a private Secret Service."""
    sys.path.insert(0, str(ROOT))
    from tests.support.secret_service import private_secret_service

    stack = contextlib.ExitStack()
    b.cleanup(stack.close)
    ss_env = stack.enter_context(private_secret_service())
    approve = b"protocol=https\nhost=stored.example.com\nusername=stored\npassword=stored-secret\n\n"
    cases = []
    for label, extra in [("encrypted file, machine key", {"GATEPASS_STORE_BACKEND": "encrypted-file"}),
                         ("encrypted file, passphrase", {"GATEPASS_STORE_BACKEND": "encrypted-file",
                                                         "GATEPASS_STORE_PASSPHRASE": "bench-passphrase"}),
                         ("Secret Service", {"GATEPASS_STORE_BACKEND": "secret-service", **ss_env})]:
        env = b.home(None, **extra)
        subprocess.run([b.launcher(), "store"], input=approve, env=env, check=True, capture_output=True)
        cases.append(b.command(f"gatepass get, store: {label}", "1", [b.launcher(), "get"],
                               b"protocol=https\nhost=stored.example.com\n\n", env, expect=b"username=stored"))
    # the docker helper on the same keyring: the same protocol and job as the Go peer (issue #26 item 5)
    denv = b.home(None, GATEPASS_STORE_BACKEND="secret-service", **ss_env)
    docker = b.launcher("install", "docker")
    subprocess.run([docker, "store"], input=b'{"ServerURL":"stored.example.com","Username":"stored",'
                   b'"Secret":"stored-secret"}', env=denv, check=True, capture_output=True)
    cases.append(b.command("docker-credential-gatepass get, store: Secret Service", "1", [docker, "get"],
                           b"stored.example.com", denv, expect=b'{"ServerURL":"stored.example.com","Username":'
                           b'"stored","Secret":"stored-secret"}'))
    keyring = str(b.prefix / "bin" / "keyring")
    kenv = dict(b.env, **ss_env)
    subprocess.run([keyring, "set", "bench-service", "bench-user"], input=b"kr-secret\n", env=kenv, check=True)
    cases.append(b.command("keyring get (Secret Service)", "1", [keyring, "get", "bench-service", "bench-user"],
                           env=kenv, expect=b"kr-secret"))
    b.ss_env = ss_env  # type: ignore[attr-defined]  # the Go secretservice peer uses the same bus
    return cases


def _peers(b: Bench) -> list[Case]:
    """Debian's Go helpers, unpacked privately (apt-get download + dpkg -x), never installed."""
    root = b.work / "peers"
    root.mkdir()
    debs = root / "debs"
    debs.mkdir()
    done = subprocess.run(["apt-get", "download", "golang-docker-credential-helpers", "pass"], cwd=debs,
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"bench: peers skipped (apt-get download: {done.stderr.strip()[-200:]})", file=sys.stderr)
        return []
    for deb in debs.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    usr = root / "usr" / "bin"
    payload = b'{"ServerURL":"registry.example.com","Username":"u","Secret":"go-secret"}'
    answer = payload
    cases = []
    ss_env = getattr(b, "ss_env", None)
    if ss_env is not None:
        env = dict(b.env, **ss_env)
        helper = str(usr / "docker-credential-secretservice")
        subprocess.run([helper, "store"], input=payload, env=env, check=True)
        cases.append(b.command("docker-credential-secretservice get (Go)", "1", [helper, "get"],
                               b"registry.example.com", env, expect=answer))
    penv = dict(b.env, PATH=f"{usr}:{b.env['PATH']}", GNUPGHOME=str(root / "gnupg"),
                PASSWORD_STORE_DIR=str(root / "password-store"))
    (root / "gnupg").mkdir(mode=0o700)
    b.cleanup(lambda: subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=penv, capture_output=True, check=False))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "bench@example.invalid", "default",
                    "default", "never"], env=penv, check=True, capture_output=True)
    subprocess.run([str(usr / "pass"), "init", "bench@example.invalid"], env=penv, check=True, capture_output=True)
    helper = str(usr / "docker-credential-pass")
    subprocess.run([helper, "store"], input=payload, env=penv, check=True)
    cases.append(b.command("docker-credential-pass get (Go)", "1", [helper, "get"], b"registry.example.com", penv,
                           expect=answer))
    return cases


def _vault_warm(b: Bench) -> Case:
    """get answered from the Vault engine's cache: a local OpenBao dev server (tests/support/openbao.py)
    serves the first, untimed run (the check), which fills the cache; timed runs make no network call."""
    sys.path.insert(0, str(ROOT))
    from tests.support.openbao import OpenBao, approle_setup

    (b.work / "bao").mkdir()
    bao = OpenBao(str(b.work / "bao")).start()
    b.cleanup(bao.stop)
    bao.enable_approle()
    bao.kv_put("bench/git", token="bench-vault-token")
    role_id, secret_file, _ = approle_setup(bao, b.work / "bao", "bench", ["secret/data/bench/*"])
    text = (f'[vault]\naddress = "{bao.address}"\nrole_id = "{role_id}"\nsecret_id_file = "{secret_file}"\n'
            '[[git_provider]]\ndomain = "vault.example.com"\naccounts = [{ username = "deploy", '
            'vault = { path = "secret/data/bench/git", field = "token" }, ttl = 3600 }]\n')
    return b.git_get("", "", text, "vault.example.com", "deploy")


def _minted_github_app(b: Bench) -> Case:
    """A warm get of a GitHub App token: minted once from a loopback API (tests/support/github_api.py,
    which needs the dev venv's PyJWT), then answered from the engine token cache (issue #18)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    sys.path.insert(0, str(ROOT))
    from tests.support.github_api import GitHubAPI

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = b.work / "app.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    pem.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    api = GitHubAPI("1", public, {"acme": 1}).__enter__()
    b.cleanup(lambda: api.__exit__())
    spec = f'github_app = {{ app_id = 1, private_key_file = "{pem}", api_url = "{api.url}" }}'
    account = f'{{ username = "x-access-token", organizations = ["acme"], {spec} }}'
    text = f'[[git_provider]]\ndomain = "git.example"\naccounts = [{account}]\n'
    return b.git_get("", "", text, "git.example", "x-access-token")


def _vault_jwt_warm(b: Bench) -> Case:
    """get answered from the cache of a Vault jwt login (a projected-token file: one stat names it in
    the cache key, the JWT itself is not read); the first, untimed run logs in to a local OpenBao."""
    sys.path.insert(0, str(ROOT))
    from tests.support.actions_oidc import ISSUER, Issuer
    from tests.support.openbao import OpenBao

    (b.work / "bao-jwt").mkdir()
    bao = OpenBao(str(b.work / "bao-jwt")).start()
    b.cleanup(bao.stop)
    issuer = Issuer()
    bao.kv_put("bench/jwt", token="bench-vault-jwt-token")
    bao.policy("bench-jwt", 'path "secret/data/bench/*" { capabilities = ["read"] }\n')
    bao.ok("POST", "sys/auth/jwt", {"type": "jwt"})
    bao.ok("POST", "auth/jwt/config", {"jwt_validation_pubkeys": [issuer.public_pem], "bound_issuer": ISSUER})
    bao.ok("POST", "auth/jwt/role/ci", {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["bench"],
                                         "token_policies": ["bench-jwt"], "token_ttl": "1h"})
    token = b.work / "bao-jwt" / "token"
    token.write_text(issuer.token("bench", lifetime=3600))
    text = (f'[vault]\naddress = "{bao.address}"\nauth = "jwt"\nrole = "ci"\njwt_file = "{token}"\n'
            '[[git_provider]]\ndomain = "vault.example.com"\naccounts = [{ username = "deploy", '
            'vault = { path = "secret/data/bench/jwt", field = "token" }, ttl = 3600 }]\n')
    return b.git_get("", "", text, "vault.example.com", "deploy")


def _minted_google(b: Bench) -> Case:
    """docker get of a Google access token from the engine cache: minted once by a loopback token
    endpoint (tests/support/google_oauth.py, the dev venv's PyJWT checks the assertion)."""
    sys.path.insert(0, str(ROOT))
    from tests.support.google_oauth import GoogleTokenEndpoint, ServiceAccount

    account = ServiceAccount()
    google = GoogleTokenEndpoint(account).__enter__()
    b.cleanup(lambda: google.__exit__())
    key = account.write_key(b.work / "gar-key.json", google.url)
    text = ('[[docker_registry]]\ndomain = "*-docker.pkg.dev"\naccounts = [{ username = "oauth2accesstoken", '
            f'gcp_service_account = {{ key_file = "{key}" }} }}]\n')
    return b.docker("", "", text, "get", b"europe-docker.pkg.dev")  # exit 0 is an answer (not found exits 1)


def _baseline(flags: list[str]) -> Callable[[Bench], Case]:
    return lambda b: b.command("", "", [b.python, *flags, "-c", "pass"])


row("python -I -S -c pass", "", _baseline(["-I", "-S"]))
row(BASELINE, "", _baseline(["-I"]))
row("git credential-store get", "1", _git_store_peer, group="peers")
row("git credential-cache get", "1", _git_cache_peer, group="peers")
row("gatepass get, warm, ./install launcher", "1,000", _accounts(1_000, False), target=0.90)
row("gatepass get, warm, pip/pipx launcher", "1,000", lambda b: b.git_get("", "", *git_toml(100, 10), launcher="pip"),
    target=0.95)
row("gatepass get, warm, pipx launcher (symlink)", "1,000",
    lambda b: b.git_get("", "", *git_toml(100, 10), launcher="pipx", env={"PIPX_HOME": str(b.work / "pipx-home")}),
    target=1.00)
row("gatepass get, warm, console_scripts template", "1,000", _pip_template_launcher)
row("gatepass get, warm, vault-sourced", "1", _vault_warm, target=1.30, group="engines")
row("gatepass get, warm, minted GitHub App token (cached)", "1", _minted_github_app, target=1.30, group="engines")
row("gatepass get, warm, vault jwt login (cached)", "1", _vault_jwt_warm, target=1.30, group="engines")
row("docker-credential-gatepass get, warm, Google access token (cached)", "1", _minted_google, target=1.30,
    group="engines")
for _size in (10, 10_000, 100_000):
    row("gatepass get, warm, ./install launcher", f"{_size:,}", _accounts(_size, False))
for _size in (10, 1_000, 10_000, 100_000):
    row("gatepass get, cold", f"{_size:,}", _accounts(_size, True))
row("gatepass get, cold", "10,000 tables", lambda b: b.git_get("", "", *git_toml(10_000, 1), cold=True, runs=15), target=10)
row("gatepass get, cold", "100,000 tables", lambda b: b.git_get("", "", *git_toml(100_000, 1), cold=True, runs=5),
    target=80)
row("4 x gatepass get at once, cold", "10,000 tables", _four_at_once)
row("docker-credential-gatepass list", "10,000 registries",
    lambda b: b.docker("", "", docker_toml(10_000), "list"), target=1.10)
row("git 2.39 credential fill+approve, no helper", "", _git_op(""), group="gitop")
row("git 2.39 credential fill+approve, helper store", "1", _git_op("store"), group="gitop")
row("git 2.39 credential fill+approve, floor helper", "", _git_op("floor"), group="gitop")
row("git 2.39 credential fill+approve, helper gatepass", "1,000", _git_op("gatepass"), group="gitop")
row("git 2.47 credential fill+approve, no helper", "", _git_op("", "2.47"), group="gitop")
row("git 2.47 credential fill+approve, helper store", "1", _git_op("store", "2.47"), group="gitop")
row("git 2.47 credential fill+approve, floor helper", "", _git_op("floor", "2.47"), group="gitop")
row("git 2.47 credential fill+approve, helper gatepass", "1,000", _git_op("gatepass", "2.47"), group="gitop")
row("stores", "", _store_cases, group="stores")
row("peers", "", _peers, group="peers")


# --- output -----------------------------------------------------------------------------------------

def table(cases: list[Case], markdown: bool) -> list[str]:
    baseline = next(c for c in cases if c.name == BASELINE)
    base, base_cpu = statistics.median(baseline.times), statistics.median(baseline.cpu)
    header = ("case", "accounts", "median ms", "p10-p90 ms", "x python -I", "target", "cpu ms", "cpu x python -I",
              "peak RSS MiB")
    rows = []
    for c in cases:
        deciles = statistics.quantiles(c.times, n=10) if len(c.times) > 1 else [c.times[0]] * 9
        median, cpu = statistics.median(c.times), statistics.median(c.cpu)
        ratio = median / base
        target = "" if c.target is None else f"{c.target:.2f}x {'met' if ratio <= c.target else 'MISSED'}"
        rows.append((c.name, c.accounts, f"{median:.1f}", f"{deciles[0]:.1f}-{deciles[-1]:.1f}", f"{ratio:.2f}",
                     target, f"{cpu:.1f}", f"{cpu / base_cpu:.2f}", f"{c.rss:.1f}"))
    if markdown:
        return ["| " + " | ".join(header) + " |",
                "|" + "|".join(["---", "--:", "--:", "--:", "--:", "--", "--:", "--:", "--:"]) + "|",
                *("| " + " | ".join(r) + " |" for r in rows)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
            for r in [header, *rows]]


def derived(cases: list[Case]) -> list[str]:
    """Figures that compare rows: git operation overhead and the concurrent cold start (wall and CPU)."""
    lines = []
    for label, pick in (("wall", lambda c: c.times), ("cpu", lambda c: c.cpu)):
        by = {(c.name, c.accounts): statistics.median(pick(c)) for c in cases}
        for version, target in (("2.39", 1.10), ("2.47", 0.75)):
            alone = by.get((f"git {version} credential fill+approve, no helper", ""))
            store = by.get((f"git {version} credential fill+approve, helper store", "1"))
            floor = by.get((f"git {version} credential fill+approve, floor helper", ""))
            ours = by.get((f"git {version} credential fill+approve, helper gatepass", "1,000"))
            if alone is None or floor is None or ours is None:
                continue
            ratio = (ours - alone) / max(floor - alone, 0.1)
            lines.append(f"git {version} operation overhead ({label}; fill+approve minus git alone): gatepass "
                         f"+{ours - alone:.1f} ms, a do-nothing `python -I -S` helper +{floor - alone:.1f} ms: "
                         f"{ratio:.2f}x of that floor (target <= {target:.2f}x: {'met' if ratio <= target else 'MISSED'})")
            if store is not None:
                lines.append(f"  git's C credential-store: +{store - alone:.1f} ms")
        ours_ss = by.get(("docker-credential-gatepass get, store: Secret Service", "1"))
        go = by.get(("docker-credential-secretservice get (Go)", "1"))
        if ours_ss is not None and go is not None:
            lines.append(f"Secret Service store path ({label}): docker-credential-gatepass get {ours_ss:.1f} ms, Go's "
                         f"docker-credential-secretservice get {go:.1f} ms on the same keyring: {ours_ss / go:.2f}x "
                         f"(target <= 1.00: {'met' if ours_ss <= go else 'MISSED'})")
        four = by.get(("4 x gatepass get at once, cold", "10,000 tables"))
        one = by.get(("gatepass get, cold", "10,000 tables"))
        if four is not None and one is not None:
            lines.append(f"4 helpers at once on a cold cache ({label}): {four:.0f} ms, {four / one:.2f}x one cold get "
                         "(parse once: three wait for the first parse and read its cache)")
    return lines


def machine(python: str, runs: int) -> str:
    version = subprocess.run([python, "-I", "-S", "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.uname().machine}, {os.cpu_count()} cpus, "
            f"Linux {platform.release()}, Python {version}, {git}; {runs} runs per case (fewer for slow rows), "
            f"round-robin")


def install(prefix: Path, bindir: Path, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "XDG_"))}
    env["HOME"] = str(home)
    done = subprocess.run([str(ROOT / "install"), "--prefix", str(prefix), "--bin-dir", str(bindir), "--no-wire"],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: ./install failed: {done.stderr.strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per row (default 30; slow rows fewer)")
    parser.add_argument("--only", help="rows whose name, accounts or group match this regex (the baselines always run)")
    parser.add_argument("--skip", help="leave out rows matching this regex (e.g. 'peers|stores')")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--prefix", type=Path, help="install into (or reuse) this venv instead of a temporary one")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    work = Path(tempfile.mkdtemp(prefix="gatepass-bench-"))
    bench: Bench | None = None
    try:
        prefix = args.prefix.resolve() if args.prefix else work / "venv"
        install(prefix, work / "bin", work / "home")
        bench = Bench(work, prefix, work / "bin")
        cases: list[Case] = []
        for r in ROWS:
            text = f"{r.name} {r.accounts} {r.group}"
            if r.group != "core" or r.name not in ("python -I -S -c pass", BASELINE):
                if (args.only and not re.search(args.only, text)) or (args.skip and re.search(args.skip, text)):
                    continue
            built = r.build(bench)
            for case in built if isinstance(built, list) else [built]:
                case.name, case.accounts = case.name or r.name, case.accounts or r.accounts
                case.target = case.target if case.target is not None else r.target
                cases.append(case)
        print(f"bench: {len(cases)} rows x {args.runs} runs ...", file=sys.stderr)
        measure(cases, args.runs)
        about = machine(bench.python, args.runs)
    finally:
        for action in reversed(bench.cleanups if bench else []):
            action()
        shutil.rmtree(work, ignore_errors=True)
    print(f"_{about}_\n" if args.markdown else f"# {about}")
    print("\n".join(table(cases, args.markdown)))
    print()
    print("\n".join(derived(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
