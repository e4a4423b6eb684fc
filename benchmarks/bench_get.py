#!/usr/bin/env python3
"""Start-up cost of `git-credential-gatepass get` beside python itself and git's own helpers.

Run by hand (not part of the test suite):
    .venv/bin/python benchmarks/bench_get.py [--runs 30] [--full] [--markdown]

Installs gatepass with ./install into a temp prefix (launchers with python -I -S), writes configs
of 10 / 1,000 / 10,000 (/ 100,000 with --full) accounts (ten per [[git_provider]], the answering
account last), and times each command as a new process, as git runs it. Ratios against
`python -I -c pass` are the figures that count; absolute times are noise on shared machines.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUEST = b"protocol=https\nhost=host-{last}.example.com\n\n"


def peak_rss(argv: list[str], stdin: bytes, env: dict[str, str]) -> float:
    """Peak RSS in MiB through GNU time: wait4 from this process would count the parent's pages,
    since Linux keeps the high-water mark across the exec that follows a fork."""
    if not os.path.exists("/usr/bin/time"):
        return float("nan")
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], input=stdin, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return int(out.read().split()[-1]) / 1024


def run_once(argv: list[str], stdin: bytes, env: dict[str, str]) -> float:
    """Wall seconds of one run, from spawn to reaped."""
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, read_end, 0), (os.POSIX_SPAWN_CLOSE, write_end),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    os.close(read_end)
    os.write(write_end, stdin)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed")
    return elapsed


def measure(argv, stdin, env, runs, before=None):  # type: ignore[no-untyped-def]
    times = []
    for _ in range(3):
        if before:
            before()
        run_once(argv, stdin, env)
    for _ in range(runs):
        if before:
            before()
        times.append(run_once(argv, stdin, env) * 1000)
    if before:
        before()
    rss = peak_rss(argv, stdin, env)
    times.sort()
    p10, p90 = times[len(times) // 10], times[(len(times) * 9) // 10 - 1]
    return statistics.median(times), p10, p90, rss


def write_config(path: Path, accounts: int) -> None:
    providers = max(1, accounts // 10)
    with path.open("w") as out:
        for p in range(providers):
            out.write(f'[[git_provider]]\ndomain = "host-{p}.example.com"\naccounts = [\n')
            for a in range(min(10, accounts)):
                out.write(f'  {{ username = "user-{p}-{a}", token = "token-{p}-{a}" }},\n')
            out.write("]\n")
    path.chmod(0o600)


def install(work: Path) -> tuple[Path, Path]:
    env = dict(os.environ, HOME=str(work / "home"))
    subprocess.run([str(ROOT / "install"), "--prefix", str(work / "venv"), "--bin-dir", str(work / "bin"),
                    "--no-wire"], env=env, check=True, stdout=subprocess.DEVNULL)
    return work / "venv" / "bin" / "python", work / "bin" / "git-credential-gatepass"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--full", action="store_true", help="also 100,000 accounts")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gatepass-bench-"))
    rows: list[tuple[str, str, tuple[float, float, float, float]]] = []
    try:
        python, helper = install(work)
        real_python = str(python)  # the venv's python: its site is what `python -I` costs here
        home = work / "home"
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
        rows.append(("python -I -S -c pass", "", measure([real_python, "-I", "-S", "-c", "pass"], b"", env, args.runs)))
        rows.append(("python -I -c pass", "", measure([real_python, "-I", "-c", "pass"], b"", env, args.runs)))
        git = shutil.which("git") or "/usr/bin/git"
        store = work / "git-credentials"
        store.write_text("https://user:secret@host-0.example.com\n")
        store.chmod(0o600)
        rows.append(("git credential-store get", "1", measure(
            [git, "credential-store", f"--file={store}", "get"], b"protocol=https\nhost=host-0.example.com\n\n",
            env, args.runs)))
        socket = work / "cache-sock"
        cache_env = dict(env, HOME=str(home))
        subprocess.run([git, "credential-cache", f"--socket={socket}", "store"], env=cache_env, check=True,
                       input=b"protocol=https\nhost=host-0.example.com\nusername=u\npassword=p\n\n")
        rows.append(("git credential-cache get", "1", measure(
            [git, "credential-cache", f"--socket={socket}", "get"], b"protocol=https\nhost=host-0.example.com\n\n",
            env, args.runs)))
        subprocess.run([git, "credential-cache", f"--socket={socket}", "exit"], env=cache_env, check=False)
        sizes = [10, 1_000, 10_000] + ([100_000] if args.full else [])
        for size in sizes:
            config = work / f"config-{size}.toml"
            write_config(config, size)
            stdin = REQUEST.replace(b"{last}", str(max(1, size // 10) - 1).encode())
            genv = dict(env, GATEPASS_CONFIG=str(config))
            rows.append(("gatepass get, config, warm cache", f"{size:,}",
                         measure([str(helper), "get"], stdin, genv, args.runs)))
            cache_dir = home / ".cache" / "gatepass"
            rows.append(("gatepass get, config, cold cache", f"{size:,}", measure(
                [str(helper), "get"], stdin, genv, max(5, args.runs // 3),
                before=lambda: shutil.rmtree(cache_dir, ignore_errors=True))))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rows[1][2][0]
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cpus, "
          f"Python {platform.python_version()}, {args.runs} runs per case")
    header = ("case", "accounts", "median ms", "p10-p90 ms", "x python -I", "peak RSS MiB")
    lines = [(name, n, f"{m:.1f}", f"{lo:.1f}-{hi:.1f}", f"{m / base:.2f}", f"{r:.1f}")
             for name, n, (m, lo, hi, r) in rows]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]
        for line in [header, *lines]:
            print("  ".join(str(v).ljust(w) for v, w in zip(line, widths)))


if __name__ == "__main__":
    sys.exit(main())
