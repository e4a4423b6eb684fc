"""Issue #19 rules: GATEPASS_ACCOUNT in both helpers, list and explain; gatepass exec; GATEPASS_TRACE's file rules."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gatepass.cli.cmd_exec import command_environment
from gatepass.cli.main import cli
from gatepass.protocol import docker, git
from tests.conftest import write_config

CONFIG = """
[[git_provider]]
domain = "git.example"
accounts = [{ username = "one", token = "tok-one-5e1f" }, { username = "two", token = "tok-two-9a7c" }]
[[docker_registry]]
domain = "registry.example"
accounts = [{ username = "robot-one", token = "tok-r1-3b3b" }, { username = "robot-two", token = "tok-r2-4c4c" }]
"""
GATEPASS = os.path.join(os.path.dirname(sys.executable), "gatepass")
TOKENS = ("tok-one-5e1f", "tok-two-9a7c", "tok-r1-3b3b", "tok-r2-4c4c")


@pytest.fixture(autouse=True)
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEPASS_CONFIG", str(write_config(tmp_path / "c.toml", CONFIG)))


def run_git(stdin: bytes, **env: str) -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    code = git.main(["get"], io.BytesIO(stdin), out, err, dict(os.environ, **env))
    return code, out.getvalue(), err.getvalue()


def run_docker(action: str, stdin: bytes, **env: str) -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    code = docker.main([action], io.BytesIO(stdin), out, err, dict(os.environ, **env))
    return code, out.getvalue(), err.getvalue()


GIT_GET = b"protocol=https\nhost=git.example\n"


def test_the_variable_picks_the_second_account_in_both_helpers():
    assert run_git(GIT_GET)[1] == b"username=one\npassword=tok-one-5e1f\n"
    assert run_git(GIT_GET, GATEPASS_ACCOUNT="two") == (0, b"username=two\npassword=tok-two-9a7c\n", b"")
    code, out, err = run_docker("get", b"registry.example", GATEPASS_ACCOUNT="robot-two")
    assert (code, json.loads(out)["Username"], err) == (0, "robot-two", b"")
    assert run_git(GIT_GET, GATEPASS_ACCOUNT="")[1].startswith(b"username=one")  # empty is unset


def test_gits_own_username_still_applies_on_top():
    assert run_git(GIT_GET + b"username=one\n", GATEPASS_ACCOUNT="two")[1] == b""


def test_no_match_is_not_found_and_one_line_naming_the_variable():
    code, out, err = run_git(GIT_GET, GATEPASS_ACCOUNT="three")
    assert (code, out) == (0, b"") and err.count(b"\n") == 1 and b"GATEPASS_ACCOUNT=three" in err
    code, out, err = run_docker("get", b"registry.example", GATEPASS_ACCOUNT="three")
    assert (code, out) == (1, b"credentials not found in native keychain\n")
    assert err.count(b"\n") == 1 and b"GATEPASS_ACCOUNT=three" in err


def test_docker_list_shows_only_that_users_keys():
    assert json.loads(run_docker("list", b"", GATEPASS_ACCOUNT="robot-two")[1]) == {"registry.example": "robot-two"}
    assert json.loads(run_docker("list", b"", GATEPASS_ACCOUNT="nobody")[1]) == {}


def test_list_and_explain_honour_the_variable(monkeypatch):
    monkeypatch.setenv("GATEPASS_ACCOUNT", "two")
    listed = CliRunner().invoke(cli, ["list", "--json"])
    assert {row["username"] for row in json.loads(listed.stdout)} == {"two"}
    assert "GATEPASS_ACCOUNT=two" in listed.stderr
    explained = json.loads(CliRunner().invoke(cli, ["explain", "https://git.example/x/y.git", "--json"]).stdout)
    assert explained["chosen"]["username"] == "two" and explained["request"]["account"] == "two"
    assert {c["username"]: c["verdict"] for c in explained["candidates"]} == {"two": "chosen", "one": "account"}


def test_exec_changes_only_the_variable_and_keeps_status_stdin_and_stdout():
    env = {"A": "1", "GATEPASS_ACCOUNT": "old"}
    assert command_environment(env, "new") == {"A": "1", "GATEPASS_ACCOUNT": "new"}
    assert command_environment(env, None) == {"A": "1"}
    script = "import os, sys; sys.stdout.write(os.environ['GATEPASS_ACCOUNT'] + sys.stdin.read()); sys.exit(7)"
    done = subprocess.run([GATEPASS, "exec", "-a", "two", "--", sys.executable, "-c", script], input="|piped",
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (7, "two|piped")
    missing = subprocess.run([GATEPASS, "exec", "--", "no-such-command-gp"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 127 and "no-such-command-gp" in missing.stderr


def read_trace(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_trace_line_names_every_candidate_and_the_winner_and_never_a_token(tmp_path):
    trace = tmp_path / "t.jsonl"
    run_git(GIT_GET + b"path=acme/app.git\n", GATEPASS_TRACE=str(trace), GATEPASS_ACCOUNT="two")
    run_docker("get", b"registry.example", GATEPASS_TRACE=str(trace))
    run_docker("get", b"other.example", GATEPASS_TRACE=str(trace))
    first, second, third = read_trace(trace)
    assert (first["helper"], first["operation"], first["protocol"], first["host"], first["path"]) == \
        ("git", "get", "https", "git.example", "acme/app.git")
    assert first["winner"] == "two" and first["username"] is None and first["duration_ms"] >= 0
    assert [(c["username"], c["result"], c["rule"]) for c in first["candidates"]] == \
        [("two", "chosen", "match"), ("one", "ruled out", "account")]
    assert first["candidates"][0]["where"].endswith("c.toml:4")
    assert (second["helper"], second["winner"], third["winner"], third["outcome"]) == \
        ("docker", "robot-one", None, "not found")
    text = trace.read_text()
    assert not any(token in text or token[:6] in text.replace("tok-", "") for token in TOKENS)
    assert os.stat(trace).st_mode & 0o777 == 0o600


def test_an_unreadable_secret_is_named_in_the_trace(tmp_path, monkeypatch):
    path = write_config(tmp_path / "u.toml", '[[git_provider]]\ndomain = "git.example"\n'
                        'accounts = [{ username = "env", token_env = "GP_UNSET_X" }, { username = "ok", token = "t" }]\n')
    monkeypatch.setenv("GATEPASS_CONFIG", str(path))
    trace = tmp_path / "t.jsonl"
    run_git(GIT_GET, GATEPASS_TRACE=str(trace))
    (line,) = read_trace(trace)
    assert [(c["username"], c["result"]) for c in line["candidates"]] == [("env", "unreadable"), ("ok", "chosen")]
    assert "token_env" in line["candidates"][0]["error"]


def test_a_trace_that_cannot_be_written_never_fails_the_helper(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    shared = tmp_path / "shared.jsonl"
    shared.write_text("")
    shared.chmod(0o666)
    for bad in (str(tmp_path), str(link), str(shared), str(tmp_path / "no" / "dir" / "t.jsonl")):
        code, out, err = run_git(GIT_GET, GATEPASS_TRACE=bad)
        assert (code, out) == (0, b"username=one\npassword=tok-one-5e1f\n"), bad
        assert err.count(b"\n") == 1 and err.startswith(b"gatepass: GATEPASS_TRACE: not written"), (bad, err)
    assert target.read_text() == "" and shared.read_text() == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
def test_a_trace_file_owned_by_someone_else_is_not_appended_to(tmp_path):
    trace = tmp_path / "t.jsonl"
    trace.write_text("")
    trace.chmod(0o600)
    os.chown(trace, 65534, 65534)
    code, out, err = run_git(GIT_GET, GATEPASS_TRACE=str(trace))
    assert out.startswith(b"username=one") and b"belongs to uid 65534" in err
    assert trace.read_text() == ""


def test_tracing_off_imports_neither_json_nor_the_trace_module(tmp_path):
    code = ("import io, os, sys\nfrom gatepass.protocol import git\nout = io.BytesIO()\n"
            f"git.main(['get'], io.BytesIO({GIT_GET!r}), out, io.BytesIO(), os.environ)\n"
            "assert out.getvalue()\nprint('json' in sys.modules, 'gatepass.trace' in sys.modules)")
    env = dict(os.environ)
    env.pop("GATEPASS_TRACE", None)
    for _ in range(2):  # the second run is the warm one (parsed config cached)
        done = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("value", ["1", "2", "true", "TRUE"])
def test_trace_to_stderr_as_git_trace_does(tmp_path, monkeypatch, value):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    code, out, err = run_git(GIT_GET, GATEPASS_TRACE=value)
    assert (code, out) == (0, b"username=one\npassword=tok-one-5e1f\n")
    (line,) = err.decode().splitlines()
    assert line.startswith("gatepass: trace {") and json.loads(line[len("gatepass: trace "):])["winner"] == "one"
    assert "tok-" not in line and os.listdir() == []


@pytest.mark.parametrize("value", ["0", "false"])
def test_trace_off_values_trace_nothing(tmp_path, monkeypatch, value):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert run_git(GIT_GET, GATEPASS_TRACE=value)[2] == b""
    assert os.listdir() == []


def test_a_relative_trace_name_is_refused_and_writes_nothing_in_the_work_tree(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    code, out, err = run_git(GIT_GET, GATEPASS_TRACE="trace.log")
    assert (code, out) == (0, b"username=one\npassword=tok-one-5e1f\n")
    assert err == b"gatepass: GATEPASS_TRACE=trace.log: not 1, 2, true or an absolute path; nothing traced\n"
    assert os.listdir() == []


def test_a_trace_under_a_symlinked_or_shared_directory_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    if os.geteuid() == 0:
        os.lchown(tmp_path / "link", 65534, 65534)  # another user's link (one's own, or root's, is fine)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone could swap the file for a link
    cases = [(shared / "t.jsonl", f"{shared} is writable by other users")]
    if os.geteuid() == 0:
        cases.append((tmp_path / "link" / "t.jsonl", f"{tmp_path}/link is a symlink of uid 65534"))
    for bad, why in cases:
        code, out, err = run_git(GIT_GET, GATEPASS_TRACE=str(bad))
        assert out.startswith(b"username=one")
        assert err == f"gatepass: GATEPASS_TRACE: not written to {bad} ({why})\n".encode(), err
    assert os.listdir(real) == [] and os.listdir(shared) == []


def test_a_query_string_in_the_path_is_redacted(tmp_path):
    trace = tmp_path / "t.jsonl"
    run_git(GIT_GET + b"path=acme/app.git?access_token=sekrit-55\n", GATEPASS_TRACE=str(trace))
    (line,) = read_trace(trace)
    assert line["path"] == "acme/app.git?<redacted>" and "sekrit" not in trace.read_text()


def test_root_does_not_trace_through_another_users_symlink():
    """A real second user plants /shared/x -> a root-only directory; root's trace to /shared/x/gp is refused."""
    from tests.support.local_user import local_user, shared_dir

    with local_user() as attacker, shared_dir(0o1777) as shared, shared_dir(0o700) as rootonly:
        attacker.run(["ln", "-s", rootonly, os.path.join(shared, "x")])
        target = os.path.join(shared, "x", "gp")
        code, out, err = run_git(GIT_GET, GATEPASS_TRACE=target)
        assert out.startswith(b"username=one") and f"{shared}/x is a symlink of uid {attacker.uid}".encode() in err
        assert os.listdir(rootonly) == []


def test_gatepass_account_with_no_answer_names_the_port_asked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("GATEPASS_CONFIG", str(write_config(tmp_path / "p.toml", '[[docker_registry]]\n'
                       'domain = "http://127.0.0.1:5000"\naccounts = [{ username = "ci", token = "tok-r1-3b3b" }]\n')))
    code, out, err = run_docker("get", b"127.0.0.1:5000", GATEPASS_ACCOUNT="nobody")
    assert code == 1 and b"no account of that username answers 127.0.0.1:5000;" in err, err


def test_a_trace_through_ones_own_symlinked_directory_is_written(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "logs").symlink_to(real)
    run_git(GIT_GET, GATEPASS_TRACE=str(tmp_path / "logs" / "t.jsonl"))
    assert len(read_trace(real / "t.jsonl")) == 1
