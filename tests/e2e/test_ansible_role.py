"""The Ansible role: the example playbook against localhost, unprivileged under a temporary gatepass_root.

Real ansible-core (the venv's ansible-playbook, -c local), the real gatepass executables, then the
git helper reading the files the role wrote. Proves: no plaintext token in any file or in the
playbook's output, a second run changes nothing, a changed token changes exactly its sealed value.
"""

from __future__ import annotations

import getpass
import grp
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.local_user import local_user, needs_root, shared_dir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "deploy" / "ansible" / "example.yml"
TOKEN = "tok-ansible-canary-0b7e"
REGISTRY_TOKEN = "tok-registry-canary-4c2d"


def play(tmp_path: Path, env: dict[str, str], token: str, root: Path | None = None, **more: object) -> str:
    """Run the example playbook once (extra vars from a 0600 file: no token in argv); its output."""
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({
        "gatepass_root": str(root or tmp_path / "root"), "gatepass_bin": str(BIN),
        "ansible_python_interpreter": sys.executable,
        "gatepass_example_domain": "git.example", "gatepass_example_username": "deploy",
        "gatepass_example_token": token, "gatepass_example_registry_token": REGISTRY_TOKEN,
        "gatepass_example_users": [getpass.getuser()], **more}))
    extra.chmod(0o600)
    done = subprocess.run([str(BIN / "ansible-playbook"), "-c", "local", "-i", "localhost,", str(PLAYBOOK),
                           "-e", f"@{extra}"], env=env, capture_output=True, text=True, timeout=500)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert token not in output and REGISTRY_TOKEN not in output
    return output


def recap(output: str) -> dict[str, int]:
    line = re.search(r"^localhost\s*:(.*)$", output, re.M)
    assert line, output[-2000:]
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(1))}


def helper_get(root: Path, env: dict[str, str], bin_dir: Path = BIN) -> str:
    etc = root / "etc" / "gatepass"
    env = dict(env, GATEPASS_GLOBAL_CONFIG=str(etc / "global.toml"), GATEPASS_HOST_CONFIG=str(etc / "host.toml"),
               GATEPASS_HOST_KEY=str(etc / "host.key"))
    done = subprocess.run([str(bin_dir / "git-credential-gatepass"), "get"], input="protocol=https\nhost=git.example\n",
                          env=env, capture_output=True, text=True, timeout=60)
    return done.stdout


def files_under(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(errors="replace") for p in sorted(root.rglob("*")) if p.is_file()}


def ansible_env(tmp_path: Path, isolated_env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(os.environ, LC_ALL="C.UTF-8", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
                ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                DOCKER_CONFIG=str(Path(isolated_env["HOME"]) / ".docker"))


def test_example_playbook_twice_then_the_helper_answers_and_a_new_token_changes_one_value(tmp_path, isolated_env):
    env = ansible_env(tmp_path, isolated_env)
    root = tmp_path / "root"
    first = play(tmp_path, env, TOKEN)
    assert recap(first)["changed"] > 0 and "gatepass host key of localhost: age1" in first
    etc = root / "etc" / "gatepass"
    written = files_under(root)
    assert set(written) == {"etc/gatepass/global.toml", "etc/gatepass/host.d/50-example.toml",
                            "etc/gatepass/host.key", "etc/gatepass/host.key.pub", "usr/local/bin/gatepass",
                            "usr/local/bin/git-credential-gatepass", "usr/local/bin/docker-credential-gatepass"}
    assert os.readlink(root / "usr/local/bin/git-credential-gatepass") == str(BIN / "git-credential-gatepass")
    for text in written.values():
        assert TOKEN not in text and REGISTRY_TOKEN not in text
    assert (etc / "host.key").stat().st_mode & 0o777 == 0o600
    assert "-----BEGIN AGE ENCRYPTED FILE-----" in written["etc/gatepass/global.toml"]
    assert helper_get(root, env) == f"username=deploy\npassword={TOKEN}\n"
    gitconfig = Path(isolated_env["GIT_CONFIG_GLOBAL"]).read_text()
    assert "git-credential-gatepass" in gitconfig

    second = play(tmp_path, env, TOKEN)
    assert recap(second)["changed"] == 0, second[-3000:]
    assert files_under(root) == written

    third = play(tmp_path, env, TOKEN + "-rotated")
    assert recap(third)["changed"] == 1
    after = files_under(root)
    changed = [name for name in written if written[name] != after[name]]
    assert changed == ["etc/gatepass/global.toml"]
    old_lines, new_lines = written[changed[0]].splitlines(), after[changed[0]].splitlines()
    armor = [i for i, line in enumerate(old_lines) if line.startswith("-----")]
    assert old_lines[:armor[0] + 1] == new_lines[:armor[0] + 1]  # the file around the value is the same
    assert old_lines[armor[1]:] == new_lines[len(new_lines) - (len(old_lines) - armor[1]):]
    assert helper_get(root, env) == f"username=deploy\npassword={TOKEN}-rotated\n"
    for text in after.values():
        assert TOKEN not in text and REGISTRY_TOKEN not in text


def test_the_role_installs_gatepass_with_pip_from_a_wheelhouse(tmp_path, isolated_env):
    """gatepass_bin empty: the role makes its venv and pip-installs gatepass there, here from a wheel of this
    checkout and a wheelhouse (--no-index --find-links, as an air-gapped fleet would); then that venv's
    helper answers from the files the role wrote."""
    wheels = tmp_path / "wheels"
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ there
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], env=clean, check=True,
                   capture_output=True, timeout=300)
    wheel = next(wheels.glob("gatepass-*.whl"))
    fetched = subprocess.run([*pip, "download", "--only-binary=:all:", "-d", str(wheels), str(wheel)], env=clean,
                             capture_output=True, text=True, timeout=300)
    if fetched.returncode != 0:
        pytest.skip(f"the wheelhouse needs gatepass's dependencies from a package index: {fetched.stderr.strip()[-300:]}")
    env = ansible_env(tmp_path, isolated_env)
    venv = tmp_path / "root" / "opt" / "gatepass" / "venv"
    play(tmp_path, env, TOKEN, gatepass_bin="", gatepass_pip_spec=str(wheel), gatepass_python=sys.executable,
         gatepass_pip_extra_args=f"--no-index --find-links {wheels}")
    assert (venv / "bin" / "git-credential-gatepass").read_text().startswith("#!/bin/sh")  # the wheel's launcher
    assert helper_get(tmp_path / "root", env, venv / "bin") == f"username=deploy\npassword={TOKEN}\n"
    again = play(tmp_path, env, TOKEN, gatepass_bin="", gatepass_pip_spec=str(wheel), gatepass_python=sys.executable,
                 gatepass_pip_extra_args=f"--no-index --find-links {wheels}")
    assert recap(again)["changed"] == 0, again[-3000:]


SYSTEM_PYTHON = "/usr/bin/python3"  # a python every user can run (/root, where the test venv's may live, is 0700)


@needs_root
@pytest.mark.root_only(reason="the role run as root: it installs for every user and wires one")
@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason=f"needs {SYSTEM_PYTHON} with its venv module")
def test_as_root_the_role_installs_what_it_ships_links_the_helpers_and_a_wired_user_gets_the_token(tmp_path,
                                                                                                  isolated_env):
    """The role as a fleet runs it: root, become (su: no sudo here) to a real second user, the default install
    (a wheel of this checkout built on the controller, no gatepass from an index), the helpers linked into
    usr/local/bin under gatepass_root, the user made a member of gatepass_group; that user, with only the link
    dir on PATH, gets the sealed token. A second run changes nothing; a host file dropped from
    gatepass_host_files disappears, one the role never wrote stays."""
    group = "gpg" + uuid.uuid4().hex[:8]
    with shared_dir() as shared, local_user() as user:
        root = Path(shared) / "root"
        (root / "etc/gatepass/host.d").mkdir(parents=True)
        foreign = root / "etc/gatepass/host.d/10-local.toml"
        foreign.write_text("# written by hand on this host\n")
        # An operator's shell: nothing pointing the become'd user's git, docker or gatepass at the test's home.
        env = {k: v for k, v in ansible_env(tmp_path, isolated_env).items()
               if not k.startswith(("XDG_", "GIT_CONFIG", "GATEPASS_", "DOCKER_"))}
        host_files = {"50-example.toml": {"docker_registry": [{"domain": "registry.example", "accounts": [
                          {"username": "deploy", "token": REGISTRY_TOKEN}]}]},
                      "60-extra.toml": {"git_provider": [{"domain": "extra.example", "accounts": [
                          {"username": "x", "token": REGISTRY_TOKEN}]}]}}
        more = {"gatepass_bin": "", "gatepass_python": SYSTEM_PYTHON, "ansible_python_interpreter": SYSTEM_PYTHON,
                "gatepass_manage_group": True, "gatepass_group": group, "gatepass_example_users": [user.name],
                "ansible_become_method": "su", "ansible_remote_tmp": f"{shared}/ansible-remote",
                "gatepass_wheel_cache": str(tmp_path / "wheel-cache"), "gatepass_host_files": host_files}
        try:
            first = play(tmp_path, env, TOKEN, root, **more)
            assert recap(first)["changed"] > 0
            venv = root / "opt/gatepass/venv"
            installed = subprocess.run([str(venv / "bin/python"), "-m", "pip", "show", "-f", "gatepass"],
                                       capture_output=True, text=True, check=True).stdout
            assert f"Location: {venv}/lib/" in installed  # not editable: the wheel, installed
            assert [p.name for p in (root / "opt/gatepass/dist").iterdir()][0].startswith("gatepass-")
            links = root / "usr/local/bin"
            assert sorted(p.name for p in links.iterdir()) == ["docker-credential-gatepass", "gatepass",
                                                                "git-credential-gatepass"]
            assert os.readlink(links / "git-credential-gatepass") == str(venv / "bin/git-credential-gatepass")
            key = root / "etc/gatepass/host.key"
            assert (key.stat().st_mode & 0o777, key.stat().st_gid) == (0o640, grp.getgrnam(group).gr_gid)
            assert user.name in grp.getgrnam(group).gr_mem

            etc = root / "etc/gatepass"
            # The link dir is the only place on PATH with gatepass in it (/usr/bin:/bin: sh and readlink for the
            # launcher, as on any user's PATH).
            assert shutil.which("git-credential-gatepass", path="/usr/bin:/bin") is None
            user_env = {"PATH": f"{links}:/usr/bin:/bin", "HOME": user.home, "GATEPASS_GLOBAL_CONFIG": str(etc / "global.toml"),
                        "GATEPASS_HOST_CONFIG": str(etc / "host.toml"), "GATEPASS_HOST_KEY": str(key),
                        "XDG_CACHE_HOME": f"{user.home}/.cache"}
            argv = [shutil.which("setpriv") or "setpriv", f"--reuid={user.uid}", f"--regid={user.gid}",
                    "--init-groups", "--", "git-credential-gatepass", "get"]  # its groups from /etc/group
            done = subprocess.run(argv, env=user_env, input="protocol=https\nhost=git.example\n",
                                  capture_output=True, text=True, timeout=60)
            assert done.stdout == f"username=deploy\npassword={TOKEN}\n", done.stderr
            gitconfig = Path(user.home, ".gitconfig").read_text()
            assert "git-credential-gatepass" in gitconfig  # wired in the user's own home

            second = play(tmp_path, env, TOKEN, root, **more)
            assert recap(second)["changed"] == 0, second[-3000:]

            del host_files["60-extra.toml"]
            third = play(tmp_path, env, TOKEN, root, **more)
            assert recap(third)["changed"] == 1, third[-3000:]
            assert sorted(p.name for p in (etc / "host.d").iterdir()) == ["10-local.toml", "50-example.toml"]
            assert foreign.read_text() == "# written by hand on this host\n"
        finally:
            subprocess.run(["groupdel", group], capture_output=True)


def test_the_shipped_wheel_is_reinstalled_when_its_sources_change_and_only_then(tmp_path, isolated_env):
    """The default install from a checkout (here a copy of this one, gatepass_source): a second run changes
    nothing; an edited source file makes a new wheel (same version), which the role copies and reinstalls."""
    source = tmp_path / "checkout"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    env = ansible_env(tmp_path, isolated_env)
    more = {"gatepass_bin": "", "gatepass_source": str(source), "gatepass_python": sys.executable,
            "gatepass_wheel_cache": str(tmp_path / "wheel-cache")}
    first = play(tmp_path, env, TOKEN, **more)
    venv = tmp_path / "root" / "opt" / "gatepass" / "venv"
    assert helper_get(tmp_path / "root", env, venv / "bin") == f"username=deploy\npassword={TOKEN}\n", first[-3000:]
    assert not (source / "build").exists()  # the wheel is built from a copy: the checkout stays clean
    assert recap(play(tmp_path, env, TOKEN, **more))["changed"] == 0

    marker = "# edited after the first install\n"
    with open(source / "src" / "gatepass" / "__init__.py", "a") as handle:
        handle.write(marker)
    changed = play(tmp_path, env, TOKEN, **more)
    assert recap(changed)["changed"] == 2, changed[-3000:]  # the wheel copied, gatepass reinstalled
    [init] = venv.glob("lib/python*/site-packages/gatepass/__init__.py")
    assert init.read_text().endswith(marker)
    assert [p.name for p in (tmp_path / "root" / "opt" / "gatepass" / "dist").iterdir()] == \
        [f"gatepass-{__import__('gatepass').__version__}-py3-none-any.whl"]
    assert recap(play(tmp_path, env, TOKEN, **more))["changed"] == 0
