"""`gatepass login` at a real terminal (pexpect): hidden, asked twice, and then good for a real git clone."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import default_sigint
from tests.e2e.test_git import git
from tests.support.as_user import command
from tests.support.git_server import GitServer

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(120)]
GATEPASS = str(Path(sys.executable).parent / "gatepass")


def spawn(*args: str) -> pexpect.spawn:
    argv, env = command([GATEPASS, *args])
    return pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", timeout=30,
                         preexec_fn=default_sigint)  # Ctrl-C must work even if pytest runs with SIGINT ignored


def test_login_prompt_hides_the_token_refuses_a_mismatch_and_the_token_clones(tmp_path):
    with GitServer(str(tmp_path / "srv"), {"dev": "s3cret-token"}) as server:
        domain = f"http://127.0.0.1:{server.port}"
        child = spawn("login", "git", domain, "--username", "dev")
        child.logfile_read = seen = io.StringIO()  # everything the terminal showed
        child.expect("Token: ")
        child.sendline("s3cret-token")
        child.expect("Repeat the token: ")
        child.sendline("different")
        child.expect("do not match")
        child.expect("Token: ")
        child.sendline("s3cret-token")
        child.expect("Repeat the token: ")
        child.sendline("s3cret-token")
        child.expect(pexpect.EOF)
        child.close()
        transcript = seen.getvalue()
        assert child.exitstatus == 0, transcript
        assert "s3cret-token" not in transcript  # the terminal never echoed it
        assert "saved git token for dev" in transcript
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "clone"))
        assert server.users_seen() == {"dev"}


def test_ctrl_c_at_the_prompt_writes_nothing(isolated_env):
    child = spawn("login", "docker", "ghcr.io", "--username", "ci")
    child.expect("Token: ")
    child.sendline("half-typed")
    child.expect("Repeat the token: ")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0 or child.signalstatus is not None
    data = Path(isolated_env["XDG_DATA_HOME"]) / "gatepass"
    assert not (data / "index").exists() and not (data / "secrets.enc").exists()
