"""./install on a clean HOME: venv, lean launchers, git wiring, idempotence, uninstall.

One real install per module (pip fetches the dependencies once); the tests then run in file
order against it, and the last one uninstalls it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.support.git_server import GIT_ENV, GitServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
NAMES = ("git-credential-gatepass", "docker-credential-gatepass", "gatepass")
GET = b"protocol=https\nhost=github.com\n"
# What a `get` answered from a warm parsed-config cache must not import (issue 8 / docs/design.md §9).
HEAVY = ("click", "keyring", "cryptography", "jeepney", "tomllib", "tomli", "importlib.metadata", "site")


class Setup:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.script = str(ROOT / "install")
        self.home = root / "home"
        self.bin = root / "bin"
        self.venv = self.home / ".local" / "share" / "gatepass" / "venv"
        self.gitconfig = self.home / ".gitconfig"
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("GATEPASS_", "XDG_", "GIT_", "PYTHON"))}
        self.env = dict(keep, HOME=str(self.home), GIT_CONFIG_GLOBAL=str(self.gitconfig), GIT_CONFIG_NOSYSTEM="1",
                        XDG_DATA_HOME=str(self.home / ".local" / "share"), XDG_CONFIG_HOME=str(self.home / ".config"),
                        XDG_CACHE_HOME=str(self.home / ".cache"))

    def install(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([self.script, "--bin-dir", str(self.bin), *args], env=env or self.env,
                              capture_output=True, text=True)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def helpers(self, gitconfig: Path | None = None) -> list[str]:
        env = dict(self.env, GIT_CONFIG_GLOBAL=str(gitconfig or self.gitconfig))
        out = subprocess.run(["git", "config", "--global", "-z", "--get-all", "credential.helper"], env=env,
                             capture_output=True, check=False).stdout
        return out.decode().split("\0")[:-1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Setup, subprocess.CompletedProcess]:
    s = Setup(tmp_path_factory.mktemp("install"))
    s.home.mkdir()
    # A frozen copy: the checkout may change while the module runs, and "a second run changes
    # nothing" is about ./install, not about edits made meanwhile.
    checkout = s.root / "checkout"
    shutil.copytree(ROOT / "src", checkout / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("install", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, checkout / name)
    s.script = str(checkout / "install")
    subprocess.run(["git", "config", "--global", "--add", "credential.helper", "store"], env=s.env, check=True)
    return s, s.install()


def test_install_writes_executable_launchers_with_lean_shebangs(setup):
    s, first = setup
    for name in NAMES:
        assert os.access(s.bin / name, os.X_OK), name
        assert f"wrote {s.bin / name}" in first.stdout
    for name in NAMES[:2]:
        assert "importlib.metadata" not in (s.bin / name).read_text()  # no entry-point lookup
    # git's helper is a shell script (it ends a config-answered store without Python); docker's is python itself
    git_lines = (s.bin / NAMES[0]).read_text().splitlines()
    assert git_lines[0] == "#!/bin/sh" and f"here='{s.venv}/bin'" in git_lines
    assert '\texec "$here/python3" -I -S -c \'' in git_lines
    assert (s.bin / NAMES[1]).read_text().splitlines()[0] == f"#!{s.venv}/bin/python -IS"
    assert (s.bin / "gatepass").read_text().splitlines()[0] == f"#!{s.venv}/bin/python -I"
    assert f"{s.bin} is not on your PATH" in first.stdout


def test_install_makes_gatepass_the_only_helper_by_absolute_path(setup):
    s, first = setup
    assert s.helpers() == ["", str(s.bin / "git-credential-gatepass")]
    assert "git no longer asks store" in first.stdout


def test_a_clone_leaves_no_token_in_git_credentials(setup, tmp_path):
    """With `credential.helper store` set before ./install, git would hand the token gatepass answered
    to store, which writes it to ~/.git-credentials in plaintext (issue 11 item 2)."""
    s, _ = setup
    with GitServer(str(tmp_path / "srv"), {"deploy-bot": "tok-install-1"}, repos=("repo.git",)) as srv:
        config = write_config(tmp_path / "c.toml", f'[[git_provider]]\ndomain = "127.0.0.1:{srv.port}"\nhttps = false\n'
                              'accounts = [{ username = "deploy-bot", token = "tok-install-1" }]\n')
        env = dict(s.env, **GIT_ENV, GATEPASS_CONFIG=str(config), GIT_TERMINAL_PROMPT="0", PATH="/usr/bin:/bin")
        subprocess.run(["git", "clone", "-q", srv.url + "repo.git", str(tmp_path / "repo")], env=env, check=True,
                       capture_output=True, timeout=60)
        assert srv.users_seen() == {"deploy-bot"}  # gatepass answered, found by its absolute path without PATH
    stored = s.home / ".git-credentials"
    assert not stored.exists() or "tok-install-1" not in stored.read_text()


def test_install_makes_the_data_directory_0700(setup):
    s, _ = setup
    assert (s.home / ".local" / "share" / "gatepass").stat().st_mode & 0o777 == 0o700


def test_install_compiles_bytecode(setup):
    s, _ = setup
    package = next(s.venv.glob("lib/python3.*/site-packages/gatepass"))
    assert list((package / "protocol" / "__pycache__").glob("git.cpython-*.pyc"))
    assert not (package / "__init__.py").is_symlink() and not list(package.parent.glob("__editable__*"))


def test_installed_git_helper_answers_get_without_heavy_imports(setup, tmp_path):
    s, _ = setup
    config = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="bot", token="tok-1"}]\n')
    env = dict(s.env, GATEPASS_CONFIG=str(config))
    helper = str(s.bin / "git-credential-gatepass")
    for _ in range(2):  # the first run fills the parsed-config cache, the second is answered from it
        done = subprocess.run([helper, "get"], input=GET, env=env, capture_output=True, check=True)
        assert done.stdout == b"username=bot\npassword=tok-1\n"
    # The launcher's own interpreter and flags, plus -X importtime (-I ignores PYTHONPROFILEIMPORTTIME): a copy
    # of the launcher whose python3 is one that adds it.
    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "python3").write_text(f'#!/bin/sh\nexec {s.venv}/bin/python3 -X importtime "$@"\n')
    (spy / "python3").chmod(0o755)
    text = (s.bin / "git-credential-gatepass").read_text().replace(f"here='{s.venv}/bin'", f"here='{spy}'")
    (spy / "copied").write_text(text)
    (spy / "copied").chmod(0o755)
    done = subprocess.run([str(spy / "copied"), "get"], input=GET, env=env, capture_output=True, check=True)
    assert done.stdout == b"username=bot\npassword=tok-1\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.decode().splitlines()[1:]}
    assert "gatepass.protocol.git" in imported
    assert sorted(m for m in imported if m.split(".")[0] in HEAVY or m in HEAVY) == []


def test_shebang_flags_reach_python(setup, tmp_path):
    """-IS in the #! line: no .pth file runs (no site) and PYTHONPATH is ignored (isolated)."""
    s, _ = setup
    site = next(s.venv.glob("lib/python3.*/site-packages"))
    probe, marker = site / "zz_gatepass_probe.pth", tmp_path / "pth-ran"
    shadow = tmp_path / "shadow" / "gatepass"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise SystemExit('shadowed')\n")
    probe.write_text("import os; open(os.environ['GP_PTH_PROBE'], 'a').close()\n")
    env = dict(s.env, GP_PTH_PROBE=str(marker), PYTHONPATH=str(shadow.parent), GATEPASS_CONFIG=str(tmp_path / "none"))
    try:
        for name in NAMES[:2]:
            done = subprocess.run([str(s.bin / name), "version" if "docker" in name else "get"], input=GET, env=env,
                                  capture_output=True)
            assert b"shadowed" not in done.stderr + done.stdout, name
            assert not marker.exists(), f"{name} ran a .pth file: site was imported"
        subprocess.run([str(s.bin / "gatepass"), "--help"], env=env, capture_output=True, check=True)
        assert marker.exists()  # the probe works: the gatepass CLI launcher keeps the normal site
    finally:
        probe.unlink()


def test_installed_cli_and_docker_helper_run(setup):
    s, _ = setup
    done = subprocess.run([str(s.bin / "gatepass"), "--help"], env=s.env, capture_output=True, text=True, check=True)
    assert "Usage" in done.stdout
    done = subprocess.run([str(s.bin / "docker-credential-gatepass"), "version"], env=s.env, capture_output=True,
                          text=True, check=True)
    assert done.stdout.startswith("docker-credential-gatepass (gatepass) ")


def snapshot(s: Setup) -> list[tuple[str, int, bytes]]:
    files = [s.bin / n for n in NAMES] + [s.gitconfig, s.venv / ".gatepass-source"]
    files += sorted(next(s.venv.glob("lib/python3.*/site-packages/gatepass")).rglob("*.py"))
    return [(str(f), f.stat().st_mtime_ns, f.read_bytes()) for f in files] + [(str(s.bin), 0, b" ".join(
        p.name.encode() for p in sorted(s.bin.iterdir())))]


def test_second_run_changes_nothing_and_says_so(setup):
    s, _ = setup
    before = snapshot(s)
    again = s.install()
    assert snapshot(s) == before
    assert "is up to date" in again.stdout
    assert "launchers in" in again.stdout and "are up to date" in again.stdout
    assert "already wired; nothing changed" in again.stdout
    assert "nothing to do" in again.stdout
    assert "wrote" not in again.stdout and "installing" not in again.stdout


def test_help_says_what_it_does(setup):
    done = subprocess.run([setup[0].script, "--help"], capture_output=True, text=True, check=True)
    for word in ("--prefix", "--bin-dir", "--no-wire", "--keep-helpers", "--uninstall", "--force", "credential.helper", "venv"):
        assert word in done.stdout, word


def test_wiring_goes_after_a_reset_and_keeps_order(setup, tmp_path):
    """An empty credential.helper resets the list: gatepass must come after it to be asked at all."""
    s, _ = setup
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text('[credential]\n\thelper = osxkeychain\n\thelper =\n\thelper = store\n\thelper = cache\n')
    env = dict(s.env, GIT_CONFIG_GLOBAL=str(gitconfig))
    helper = str(s.bin / "git-credential-gatepass")
    done = s.install("--keep-helpers", env=env)
    assert s.helpers(gitconfig) == ["osxkeychain", "", helper, "store", "cache"]
    assert "credential.helper store stays after gatepass and stores every token gatepass answers in plaintext" in done.stdout
    s.install(env=env)
    assert s.helpers(gitconfig) == ["", helper]
    gitconfig.write_text('[credential]\n\thelper = store\n')
    done = s.install("--no-wire", env=env)
    assert "nothing to do" in done.stdout
    assert s.helpers(gitconfig) == ["store"]


def test_missing_venv_module_names_the_debian_package(setup, tmp_path):
    s, _ = setup
    fake = tmp_path / "fake"
    fake.mkdir()
    # Debian's python3 without python3-venv has no ensurepip module at all.
    (fake / "ensurepip.py").write_text("raise ModuleNotFoundError(\"No module named 'ensurepip'\")\n")
    done = s.install("--prefix", str(tmp_path / "venv"), env=dict(s.env, PYTHONPATH=str(fake)), check=False)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "apt-get install python3-venv" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_failures_exit_1_with_one_line(setup, tmp_path):
    s, _ = setup
    for args in (["--bogus"], ["--prefix", str(tmp_path / "a b")], ["--prefix"]):
        done = s.install(*args, check=False)
        assert done.returncode == 1, args
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("install: "), args


def test_uninstall_removes_only_what_install_made(setup):
    s, _ = setup
    config = write_config(s.home / ".config" / "gatepass" / "config.toml", "[[git_provider]]\naccounts=[]\n")
    (s.bin / "other-tool").write_text("#!/bin/sh\n")
    docker = s.home / ".docker" / "config.json"
    write_config(s.home / ".config" / "gatepass" / "config.toml",
                 '[[git_provider]]\naccounts=[]\n[[docker_registry]]\ndomain = "ghcr.io"\naccounts = [{ username = "u" }]\n')
    on_path = dict(s.env, PATH=f"{s.bin}:{s.env.get('PATH', '/usr/bin:/bin')}")  # setup docker names no helper off PATH
    subprocess.run([str(s.bin / "gatepass"), "setup", "docker"], env=on_path, check=True, capture_output=True)
    assert json.loads(docker.read_text())["credHelpers"] == {"ghcr.io": "gatepass"}
    # Wiring setup did not record (an old install, a hand edit) is listed, and nothing is removed.
    subprocess.run(["git", "config", "--global", "credential.https://example.com.helper", "gatepass"], env=s.env, check=True)
    refused = s.install("--uninstall", check=False)
    assert refused.returncode == 1 and "credential.https://example.com.helper gatepass" in refused.stderr
    assert "--force" in refused.stderr
    assert all((s.bin / n).exists() for n in NAMES) and s.venv.exists()
    assert not docker.exists()  # what setup did is undone all the same: setup had created the file
    done = s.install("--uninstall", "--force")
    assert not any((s.bin / n).exists() for n in NAMES)
    assert (s.bin / "other-tool").exists()
    assert not s.venv.exists()
    assert not (s.home / ".cache" / "gatepass").exists()
    assert s.helpers() == ["store"]  # as it was before ./install
    listed = subprocess.run(["git", "config", "--global", "--list"], env=s.env, capture_output=True, text=True).stdout
    assert "gatepass" not in listed
    assert config.exists() and str(config.parent) in done.stdout
    if not os.path.exists("/etc/gatepass"):  # "kept" names only what is there
        assert "/etc/gatepass" not in done.stdout + done.stderr
    again = s.install("--uninstall")
    assert "no gatepass in" in again.stdout
