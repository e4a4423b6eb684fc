#!/usr/bin/env python3
"""Start-up cost of `git-credential-gatepass get` beside python itself and git's own helpers.

Run by hand (not part of the test suite), with the dev venv's python:
    .venv/bin/python benchmarks/bench_get.py [--runs 30] [--full] [--markdown] [--prefix DIR]

It installs gatepass with `./install --no-wire` into a temporary venv (or into --prefix DIR, kept
and reused: ./install skips pip when the source is unchanged), so the helper runs through the same
`python -I -S` launcher users get. Configs hold 10 / 1,000 / 10,000 (/ 100,000 with --full)
accounts, ten per [[git_provider]], and the request names the last provider's host. Every command
runs as a new process, as git runs it, round-robin across the cases so that a slow patch on a
shared machine hits all of them alike. Ratios against `python -I -c pass` are the figures that
count; absolute times are noise on shared machines.

With --stores it adds `get` answered from the store (the encrypted file with a machine key and with
a passphrase, and a real Secret Service on a private bus), `docker-credential-gatepass list` over
10,000 accounts, and `keyring get` beside them; with --peers also Debian's docker-credential-pass
and docker-credential-secretservice (package golang-docker-credential-helpers, plus pass and gpg),
which --install-peers installs for the run and removes afterwards: their mere presence changes the
docker CLI's default credential store.

Peak RSS comes from wait4() in GNU time (/usr/bin/time, Debian package "time"): wait4() called
from this script would report at least this script's own RSS, because Linux carries the parent's
high-water mark across fork/vfork + exec into the child's ru_maxrss.
"""

from __future__ import annotations

import argparse
import os
import platform
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


@dataclass
class Case:
    name: str
    accounts: str
    argv: list[str]
    stdin: bytes
    env: dict[str, str]
    before: Callable[[], None] | None = None
    expect: bytes | None = None  # a line the answer must hold (checked once, never printed)
    times: list[float] = field(default_factory=list)
    rss: float = float("nan")


def run_once(case: Case) -> float:
    """Wall milliseconds from spawn to reaped, stdin fed through a pipe, output discarded."""
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.posix_spawn(case.argv[0], case.argv, case.env, file_actions=[
        (os.POSIX_SPAWN_DUP2, read_end, 0), (os.POSIX_SPAWN_CLOSE, write_end),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    os.close(read_end)
    os.write(write_end, case.stdin)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {case.name} ({case.accounts}) exited {os.waitstatus_to_exitcode(status)}")
    return elapsed


def check(case: Case) -> None:
    """Run once with output captured: a benchmark of a helper that answers nothing measures nothing."""
    if case.before:
        case.before()
    done = subprocess.run(case.argv, input=case.stdin, env=case.env, capture_output=True)
    if done.returncode != 0 or (case.expect is not None and case.expect not in done.stdout.splitlines()):
        raise SystemExit(f"bench: {case.name} ({case.accounts}) did not answer as expected "
                         f"(exit {done.returncode}; stderr: {done.stderr.decode(errors='replace').strip()[:300]})")


def peak_rss(case: Case, runs: int = 3) -> float:
    """Largest peak RSS in MiB over a few runs, from GNU time's wait4()."""
    if not os.access(GNU_TIME, os.X_OK):
        return float("nan")
    peaks = []
    with tempfile.NamedTemporaryFile("r") as out:
        for _ in range(runs):
            if case.before:
                case.before()
            subprocess.run([GNU_TIME, "-f", "%M", "-o", out.name, *case.argv], input=case.stdin, env=case.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            out.seek(0)
            peaks.append(int(out.read().split()[-1]) / 1024)
    return max(peaks)


def measure(cases: list[Case], runs: int, warmup: int = 3) -> None:
    for case in cases:
        check(case)
        for _ in range(warmup):
            if case.before:
                case.before()
            run_once(case)
    for _ in range(runs):
        for case in cases:
            if case.before:
                case.before()
            case.times.append(run_once(case))
    for case in cases:
        case.rss = peak_rss(case)


def write_config(path: Path, accounts: int) -> str:
    """Ten accounts per provider; returns the host of the last provider (the one the request names)."""
    providers = max(1, accounts // 10)
    with path.open("w") as out:
        for p in range(providers):
            out.write(f'[[git_provider]]\ndomain = "host-{p}.example.com"\naccounts = [\n')
            for a in range(min(10, accounts)):
                out.write(f'  {{ username = "user-{p}-{a}", token = "token-{p}-{a}" }},\n')
            out.write("]\n")
    path.chmod(0o600)
    return f"host-{providers - 1}.example.com"


def install(prefix: Path, bindir: Path, home: Path) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "XDG_"))}
    env["HOME"] = str(home)
    done = subprocess.run([str(ROOT / "install"), "--prefix", str(prefix), "--bin-dir", str(bindir), "--no-wire"],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: ./install failed: {done.stderr.strip()}")
    return bindir / "git-credential-gatepass"


def build_cases(work: Path, helper: Path, python: str, sizes: list[int]) -> tuple[list[Case], Callable[[], None]]:
    home = work / "home"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}
    git = shutil.which("git") or "/usr/bin/git"
    cases = [Case("python -I -S -c pass", "", [python, "-I", "-S", "-c", "pass"], b"", env),
             Case("python -I -c pass", "", [python, "-I", "-c", "pass"], b"", env)]
    request = b"protocol=https\nhost=host-0.example.com\n\n"
    store = work / "git-credentials"
    store.write_text("https://user:secret@host-0.example.com\n")
    store.chmod(0o600)
    cases.append(Case("git credential-store get", "1", [git, "credential-store", f"--file={store}", "get"], request,
                      env, expect=b"username=user"))
    sockets = work / "cache"
    sockets.mkdir(mode=0o700)
    socket = sockets / "socket"
    subprocess.run([git, "credential-cache", f"--socket={socket}", "--timeout=3600", "store"], env=env, check=True,
                   input=request.rstrip(b"\n") + b"\nusername=user\npassword=secret\n\n")

    def stop_cache() -> None:
        subprocess.run([git, "credential-cache", f"--socket={socket}", "exit"], env=env, check=False,
                       capture_output=True)

    cases.append(Case("git credential-cache get", "1", [git, "credential-cache", f"--socket={socket}", "get"],
                      request, env, expect=b"username=user"))
    for size in sizes:
        config = work / f"config-{size}.toml"
        host = write_config(config, size)
        # One cache home per size: emptying it for a cold run leaves the other sizes' caches warm.
        genv = dict(env, GATEPASS_CONFIG=str(config), XDG_CACHE_HOME=str(work / f"cache-{size}"))
        cache_dir = work / f"cache-{size}" / "gatepass"
        stdin = f"protocol=https\nhost={host}\n\n".encode()
        user = f"username=user-{host.split('.')[0][5:]}-0".encode()
        cases.append(Case("gatepass get, warm cache", f"{size:,}", [str(helper), "get"], stdin, genv, expect=user))
        cases.append(Case("gatepass get, cold cache", f"{size:,}", [str(helper), "get"], stdin, genv, expect=user,
                          before=lambda d=cache_dir: shutil.rmtree(d, ignore_errors=True)))
    # Round-robin puts a cold run of the same size between two warm runs: refill before each warm run.
    for case in cases:
        if case.name.endswith("warm cache"):
            case.before = _refill(case)
    return cases, stop_cache


def _refill(case: Case) -> Callable[[], None]:
    """Before a warm run: fill the parsed-config cache if the cold case emptied it (not timed)."""
    cache_dir = Path(case.env["XDG_CACHE_HOME"]) / "gatepass"

    def refill() -> None:
        if not any(cache_dir.glob("config-*.cache")):
            subprocess.run(case.argv, input=case.stdin, env=case.env, capture_output=True, check=True)
    return refill


def write_docker_config(path: Path, accounts: int) -> None:
    with path.open("w") as out:
        for p in range(max(1, accounts // 10)):
            out.write(f'[[docker_registry]]\ndomain = "reg-{p}.example.com"\naccounts = [\n')
            for a in range(10):
                out.write(f'  {{ username = "u-{p}-{a}", token = "t-{p}-{a}" }},\n')
            out.write("]\n")
    path.chmod(0o600)


def store_cases(work: Path, bindir: Path, prefix: Path, base_env: dict[str, str], ss_env: dict[str, str]) -> list[Case]:
    """get from the store on each backend, docker list over 10,000 accounts, and keyring's own CLI."""
    cases = []
    request = b"protocol=https\nhost=stored.example.com\n\n"
    approve = b"protocol=https\nhost=stored.example.com\nusername=stored\npassword=stored-secret\n\n"
    helper = str(bindir / "git-credential-gatepass")
    variants = [("encrypted file, machine key", {"GATEPASS_STORE_BACKEND": "encrypted-file"}),
                ("encrypted file, passphrase", {"GATEPASS_STORE_BACKEND": "encrypted-file",
                                                "GATEPASS_STORE_PASSPHRASE": "bench-passphrase"}),
                ("Secret Service", {"GATEPASS_STORE_BACKEND": "secret-service", **ss_env})]
    for number, (label, extra) in enumerate(variants):
        home = work / f"store-home-{number}"
        env = dict(base_env, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_DATA_HOME=str(home / ".local" / "share"), GATEPASS_CONFIG="/dev/null", **extra)
        subprocess.run([helper, "store"], input=approve, env=env, check=True, capture_output=True)
        cases.append(Case(f"gatepass get, store: {label}", "1", [helper, "get"], request, env,
                          expect=b"username=stored"))
    docker_config = work / "docker-10000.toml"
    write_docker_config(docker_config, 10_000)
    denv = dict(base_env, GATEPASS_CONFIG=str(docker_config), XDG_CACHE_HOME=str(work / "cache-docker"),
                XDG_DATA_HOME=str(work / "docker-data"))
    cases.append(Case("docker-credential-gatepass list", "10,000", [str(bindir / "docker-credential-gatepass"), "list"],
                      b"", denv))
    keyring_cli = prefix / "bin" / "keyring"
    kenv = dict(base_env, **ss_env)
    subprocess.run([str(keyring_cli), "set", "bench-service", "bench-user"], input=b"kr-secret\n", env=kenv, check=True)
    cases.append(Case("keyring get (Secret Service)", "1", [str(keyring_cli), "get", "bench-service", "bench-user"],
                      b"", kenv, expect=b"kr-secret"))
    return cases


def peer_cases(work: Path, base_env: dict[str, str], ss_env: dict[str, str]) -> tuple[list[Case], Callable[[], None]]:
    """Debian's Go helpers from docker-credential-helpers, when installed."""
    cases: list[Case] = []
    payload = b'{"ServerURL":"registry.example.com","Username":"u","Secret":"go-secret"}'
    secretservice = shutil.which("docker-credential-secretservice")
    if secretservice:
        env = dict(base_env, **ss_env)
        subprocess.run([secretservice, "store"], input=payload, env=env, check=True)
        cases.append(Case("docker-credential-secretservice get (Go)", "1", [secretservice, "get"],
                          b"registry.example.com", env, expect=b'{"ServerURL":"registry.example.com","Username":"u",'
                                                                b'"Secret":"go-secret"}'))
    gnupg = work / "gnupg"
    penv = dict(base_env, GNUPGHOME=str(gnupg), PASSWORD_STORE_DIR=str(work / "password-store"))

    def stop_agent() -> None:
        if shutil.which("gpgconf"):
            subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=penv, capture_output=True, check=False)

    passhelper = shutil.which("docker-credential-pass")
    if passhelper and shutil.which("pass") and shutil.which("gpg"):
        gnupg.mkdir(mode=0o700)
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "bench@example.invalid", "default",
                        "default", "never"], env=penv, check=True, capture_output=True)
        subprocess.run(["pass", "init", "bench@example.invalid"], env=penv, check=True, capture_output=True)
        subprocess.run([passhelper, "store"], input=payload, env=penv, check=True)
        cases.append(Case("docker-credential-pass get (Go)", "1", [passhelper, "get"], b"registry.example.com", penv,
                          expect=b'{"ServerURL":"registry.example.com","Username":"u","Secret":"go-secret"}'))
    return cases, stop_agent


def table(cases: list[Case], markdown: bool) -> list[str]:
    base = statistics.median(next(c for c in cases if c.name == "python -I -c pass").times)
    header = ("case", "accounts", "median ms", "p10-p90 ms", "x python -I", "peak RSS MiB")
    rows = []
    for c in cases:
        deciles = statistics.quantiles(c.times, n=10)
        median = statistics.median(c.times)
        rows.append((c.name, c.accounts, f"{median:.1f}", f"{deciles[0]:.1f}-{deciles[-1]:.1f}",
                     f"{median / base:.2f}", f"{c.rss:.1f}"))
    if markdown:
        return ["| " + " | ".join(header) + " |", "|" + "|".join(["---", "--:", "--:", "--:", "--:", "--:"]) + "|",
                *("| " + " | ".join(r) + " |" for r in rows)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
            for r in [header, *rows]]


def machine(python: str, runs: int) -> str:
    version = subprocess.run([python, "-I", "-S", "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.uname().machine}, {os.cpu_count()} cpus, "
            f"Linux {platform.release()}, Python {version}, {git}; {runs} runs per case, round-robin")


def extra_cases(args: argparse.Namespace, work: Path, prefix: Path, env: dict[str, str],
                cleanups: list[Callable[[], None]]) -> list[Case]:
    """Store, docker list, keyring and peer cases, with a private Secret Service for the run."""
    import contextlib

    sys.path.insert(0, str(ROOT))
    from tests.support.secret_service import private_secret_service

    if args.install_peers:
        wanted = ["golang-docker-credential-helpers", "pass"]
        absent = [p for p in wanted if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                                                      text=True).stdout != "install ok installed"]
        if absent:
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *absent], check=True,
                           capture_output=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
            cleanups.append(lambda: subprocess.run(["apt-get", "remove", "-y", "-qq", *absent], check=False,
                                                   capture_output=True))
    stack = contextlib.ExitStack()
    cleanups.append(stack.close)
    ss_env = stack.enter_context(private_secret_service())
    cases = store_cases(work, work / "bin", prefix, env, ss_env)
    if args.peers:
        peers, stop_agent = peer_cases(work, env, ss_env)
        cleanups.append(stop_agent)
        if not peers:
            print("bench: no Go helpers found; add --install-peers", file=sys.stderr)
        cases += peers
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per case (default 30)")
    parser.add_argument("--full", action="store_true", help="also 100,000 accounts")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--prefix", type=Path, help="install into (or reuse) this venv instead of a temporary one")
    parser.add_argument("--stores", action="store_true", help="also the store backends, docker list and keyring get")
    parser.add_argument("--peers", action="store_true", help="also Debian's Go docker credential helpers (implies --stores)")
    parser.add_argument("--install-peers", action="store_true",
                        help="apt-get install golang-docker-credential-helpers pass for this run, remove them after")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2")
    work = Path(tempfile.mkdtemp(prefix="gatepass-bench-"))
    stop: Callable[[], None] = lambda: None  # noqa: E731
    cleanups: list[Callable[[], None]] = []
    args.peers = args.peers or args.install_peers
    args.stores = args.stores or args.peers
    try:
        prefix = args.prefix.resolve() if args.prefix else work / "venv"
        helper = install(prefix, work / "bin", work / "home")
        python = str(prefix / "bin" / "python")  # the interpreter the launchers run, not a pyenv shim
        sizes = [10, 1_000, 10_000] + ([100_000] if args.full else [])
        cases, stop = build_cases(work, helper, python, sizes)
        if args.stores:
            cases += extra_cases(args, work, prefix, cases[0].env, cleanups)
        print(f"bench: {len(cases)} cases x {args.runs} runs ...", file=sys.stderr)
        measure(cases, args.runs)
        about = machine(python, args.runs)
    finally:
        stop()
        for cleanup in reversed(cleanups):
            cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(f"_{about}_" if args.markdown else f"# {about}")
    if args.markdown:
        print()
    print("\n".join(table(cases, args.markdown)))
    if not os.access(GNU_TIME, os.X_OK):
        print("(peak RSS needs GNU time: apt-get install time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
