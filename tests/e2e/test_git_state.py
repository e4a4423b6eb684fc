"""git 2.46+'s ``state[]``: a get answered from a config layer hands git ``state[]=gatepass:config``,
and the store git then sends back with it ends in the launcher's shell, starting no interpreter.

Every other store (a typed password, no state, another helper's state, GATEPASS_TRACE set) still
reaches Python with the request byte for byte. The real git 2.47.3 (built once by
tests/conformance/t0303.sh into its cache) drives ``git credential fill`` and ``approve``.
"""

from __future__ import annotations

import io
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatepass.protocol import git
from tests.conftest import write_config

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]  # a cold t0303 cache builds git 2.47.3 first
ROOT = Path(__file__).resolve().parents[2]
CONFIG = '[[git_provider]]\ndomain = "example.com"\naccounts = [{ username = "bot", token = "tok-config" }]\n'
ASK = b"capability[]=state\nprotocol=https\nhost=example.com\n"


def _get(env: dict[str, str], stdin: bytes) -> bytes:
    out = io.BytesIO()
    assert git.main(["get"], io.BytesIO(stdin), out, io.BytesIO(), env) == 0
    return out.getvalue()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = write_config(tmp_path / "c.toml", CONFIG)
    home = tmp_path / "user-home"
    home.mkdir()
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "GATEPASS_CONFIG": str(config),
            "XDG_DATA_HOME": str(home / "data"), "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"), "GATEPASS_STORE_BACKEND": "encrypted-file",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_TERMINAL_PROMPT": "0"}


def test_config_answer_carries_state_only_when_git_announced_it(env):
    assert _get(env, ASK) == b"username=bot\npassword=tok-config\ncapability[]=state\nstate[]=gatepass:config\n"
    assert _get(env, b"protocol=https\nhost=example.com\n") == b"username=bot\npassword=tok-config\n"
    assert _get(env, b"capability[]=authtype\nprotocol=https\nhost=example.com\n") == \
        b"username=bot\npassword=tok-config\n"


def test_an_answer_about_to_expire_carries_no_state(env, monkeypatch):
    # git drops an expired answer and asks the next helper; that helper's credential must not reach
    # store carrying gatepass's state, so a credential expiring within the margin gets none.
    from gatepass import app

    real = app.answer
    now = int(time.time())
    for expiry, stated in ((now + git.STATE_MARGIN // 2, False), (now + git.STATE_MARGIN * 4, True), (None, True)):
        def answer(request, env_, report, trace=None, _expiry=expiry):
            account, secret = real(request, env_, report, trace=trace)
            return account, type(secret)("tok-config", _expiry)
        monkeypatch.setattr(app, "answer", answer)
        out = _get(env, ASK)
        assert out.startswith(b"username=bot\npassword=tok-config\n")
        assert out.endswith(b"state[]=gatepass:config\n") is stated, (expiry, out)


def test_a_stored_answer_carries_no_state(env):
    env = {**env, "GATEPASS_CONFIG": "/dev/null"}
    stored = b"protocol=https\nhost=example.com\nusername=typed\npassword=pw-typed\n"
    assert git.main(["store"], io.BytesIO(stored), io.BytesIO(), io.BytesIO(), env) == 0
    assert _get(env, ASK) == b"username=typed\npassword=pw-typed\n"


# --- the launcher ----------------------------------------------------------------------------------

@pytest.fixture
def launcher(tmp_path: Path) -> tuple[Path, Path]:
    """The wheel's git launcher beside a ``python3`` that logs each start, then runs this venv's python
    (which finds gatepass through site when the launcher's site-packages guess does not)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shutil.copy2(ROOT / "src" / "launchers" / "git-credential-gatepass", bindir / "git-credential-gatepass")
    starts = tmp_path / "starts.log"
    spy = bindir / "python3"
    spy.write_text(f"#!/bin/sh\necho started >>'{starts}'\nexec '{sys.executable}' \"$@\"\n")
    spy.chmod(0o755)
    return bindir / "git-credential-gatepass", starts


def _starts(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _helper(launcher_path: Path, action: str, stdin: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(launcher_path), action], input=stdin, env=env, capture_output=True, timeout=60)


def test_launcher_ends_a_config_answered_store_in_the_shell(launcher, env):
    path, starts = launcher
    answered = _helper(path, "get", ASK, env)
    assert answered.stdout.endswith(b"state[]=gatepass:config\n") and _starts(starts) == 1
    done = _helper(path, "store", ASK + b"username=bot\npassword=tok-config\nstate[]=gatepass:config\n", env)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert _starts(starts) == 1  # no interpreter for that store


@pytest.mark.parametrize("state", [b"", b"state[]=other-helper:x\n", b"state[]=gatepass:config-not\n",
                                   b"state[]= gatepass:config\n"])
def test_launcher_hands_every_other_store_to_python_intact(launcher, env, state):
    path, starts = launcher
    env = {**env, "GATEPASS_CONFIG": "/dev/null"}
    # leading and trailing blanks, a backslash and a final line without a newline survive the shell
    password = b"  pw \\n typed\t "
    stored = ASK + b"username=typed\npassword=" + password + b"\n" + state + b"path=repo.git"
    done = _helper(path, "store", stored, env)
    assert (done.returncode, done.stderr) == (0, b"")
    assert _starts(starts) == 1
    got = _helper(path, "get", b"protocol=https\nhost=example.com\npath=repo.git\n", env)
    assert got.stdout == b"username=typed\npassword=" + password + b"\n"


def test_launcher_with_a_trace_hands_the_store_to_python(launcher, env, tmp_path):
    path, starts = launcher
    trace = tmp_path / "trace.log"
    done = _helper(path, "store", ASK + b"username=bot\npassword=tok-config\nstate[]=gatepass:config\n",
                   {**env, "GATEPASS_TRACE": str(trace)})
    assert done.returncode == 0 and _starts(starts) == 1 and trace.exists()


@pytest.mark.parametrize("off", ["0", "false", "FALSE"])
def test_launcher_with_tracing_turned_off_still_ends_the_store_in_the_shell(launcher, env, off):
    path, starts = launcher
    done = _helper(path, "store", ASK + b"username=bot\npassword=tok-config\nstate[]=gatepass:config\n",
                   {**env, "GATEPASS_TRACE": off})
    assert (done.returncode, done.stderr) == (0, b"") and _starts(starts) == 0


def test_launcher_refuses_an_endless_request_like_python(launcher, env):
    path, starts = launcher
    done = _helper(path, "store", b"x=y\n" * 5000 + b"state[]=gatepass:config\n", env)
    assert done.returncode == 0 and b"4096 lines" in done.stderr and _starts(starts) == 0


# --- with the real git 2.47 ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def git_247() -> str:
    env = dict(os.environ)
    env["GATEPASS_T0303_CACHE"] = os.environ.get("GATEPASS_T0303_CACHE") or os.path.join(
        pwd.getpwuid(os.getuid()).pw_dir, ".cache", "gatepass-t0303")
    done = subprocess.run(["bash", str(ROOT / "tests" / "conformance" / "t0303.sh"), "--git-2.47"], env=env,
                          capture_output=True, text=True, timeout=1700)
    if done.returncode != 0:
        pytest.skip(f"git 2.47.3 could not be built from Debian's source package: {done.stderr.strip()[-300:]}")
    return done.stdout.strip().splitlines()[-1]


def test_git_247_fill_then_approve_starts_one_interpreter(git_247, launcher, env):
    path, starts = launcher
    config = ["-c", "credential.helper=", "-c", f"credential.helper={path}"]
    fill = subprocess.run([git_247, *config, "credential", "fill"], input=ASK, env=env, capture_output=True,
                          timeout=60)
    assert fill.returncode == 0, fill.stderr
    assert b"password=tok-config\n" in fill.stdout and b"state[]=gatepass:config\n" in fill.stdout
    approve = subprocess.run([git_247, *config, "credential", "approve"], input=fill.stdout, env=env,
                             capture_output=True, timeout=60)
    assert approve.returncode == 0, approve.stderr
    assert _starts(starts) == 1  # the get; git's store came back with our state and ended in the shell


def test_git_247_approve_of_a_typed_password_is_stored(git_247, launcher, env):
    path, starts = launcher
    env = {**env, "GATEPASS_CONFIG": "/dev/null"}
    config = ["-c", "credential.helper=", "-c", f"credential.helper={path}"]
    typed = b"capability[]=state\nprotocol=https\nhost=example.com\nusername=typed\npassword=pw-typed\n"
    approve = subprocess.run([git_247, *config, "credential", "approve"], input=typed, env=env, capture_output=True,
                             timeout=60)
    assert approve.returncode == 0, approve.stderr
    fill = subprocess.run([git_247, *config, "credential", "fill"], input=ASK, env=env, capture_output=True,
                          timeout=60)
    assert b"username=typed\npassword=pw-typed\n" in fill.stdout
    assert b"state[]" not in fill.stdout  # a stored answer: its store must reach Python
    assert _starts(starts) == 2
