"""The real clients as an ordinary user drives them: a user created here, who installed gatepass with
the README's `./install` (Debian's python3, a venv and launchers in their own home, git wired in their
~/.gitconfig), runs git, the docker CLI, skopeo and a Secret Service of their own. Root hides
ownership, group and permission problems; nothing here runs gatepass as root.

The servers (git http-backend, the htpasswd registry) are started by the test as root and reached on
127.0.0.1, as a user reaches a remote server. Rootless podman and buildah as a user are in
test_rootless_containers.py; the attacks between two users in the test_*_users and trust tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.git_server import GitServer
from tests.support.registry import Registry, missing_tools
from tests.support.secret_service import BUS_CONFIG, stop
from tests.support.user_install import InstalledUser, installed_user

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
TOKEN = "tok-user-1"


@pytest.fixture(scope="module")
def who() -> Iterator[InstalledUser]:
    with installed_user() as user:
        yield user


@pytest.fixture(scope="module")
def git_server(tmp_path_factory) -> Iterator[GitServer]:
    with GitServer(str(tmp_path_factory.mktemp("git-srv")), {"deploy-bot": TOKEN, "typist": "pw-typed"},
                   repos=("repo.git", "typed.git")) as server:
        yield server


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def test_install_as_a_user_wires_git_to_the_launcher_in_their_home(who):
    helpers = _ok(who.run("git", "config", "--global", "--get-all", "credential.helper")).stdout.splitlines()
    assert helpers == ["", str(who.bin / "git-credential-gatepass")]
    for name in ("gatepass", "git-credential-gatepass", "docker-credential-gatepass"):
        assert os.stat(who.bin / name).st_uid == who.user.uid
    _ok(who.run("gatepass", "--version"))


def test_git_clone_and_push_with_the_users_config(who, git_server):
    who.write(".config/gatepass/config.toml", f'[[git_provider]]\ndomain = "127.0.0.1:{git_server.port}"\n'
              f'https = false\naccounts = [{{ username = "deploy-bot", token = "{TOKEN}" }}]\n')
    _ok(who.run("git", "clone", "-q", git_server.url + "repo.git", "work"))
    work = str(who.home / "work")
    _ok(who.run("git", "-c", "user.name=u", "-c", "user.email=u@example.com", "commit", "-q", "--allow-empty",
                "-m", "from a user", cwd=work))
    _ok(who.run("git", "push", "-q", "origin", "HEAD", cwd=work))
    assert git_server.users_seen() >= {"deploy-bot"}
    leaked = who.run("grep", "-rl", TOKEN, ".git", str(who.home / ".gitconfig"), cwd=work)
    assert leaked.stdout == ""  # no token in .git/config or the global config
    assert not (who.home / ".git-credentials").exists()
    explained = _ok(who.run("gatepass", "explain", f"{git_server.url}repo.git"))
    assert "deploy-bot" in explained.stdout and TOKEN not in explained.stdout + explained.stderr


def test_a_typed_password_is_stored_for_the_user_alone(who, git_server):
    """No config account: git asks (GIT_ASKPASS), gatepass stores what git approved into the user's own
    store (the encrypted file: no Secret Service in this session), and the next clone asks nobody."""
    askpass = who.write("bin/askpass", "#!/bin/sh\ncase $1 in Username*) echo typist ;; *) echo pw-typed ;; esac\n",
                        mode=0o700)
    url = f"http://localhost:{git_server.port}/typed.git"  # not the configured 127.0.0.1: no account answers
    _ok(who.run("git", "clone", "-q", url, "typed-1", env={"GIT_ASKPASS": str(askpass)}))
    _ok(who.run("git", "clone", "-q", url, "typed-2"))  # no askpass: from the store
    data = who.home / ".local" / "share" / "gatepass"
    stored = [path for path in [data, *data.rglob("*")] if "venv" not in path.relative_to(data).parts]
    assert len(stored) > 2  # the index and the secrets, at least
    for path in stored:  # ./install's venv lives beside them: it is software, readable by all
        info = path.lstat()
        assert info.st_uid == who.user.uid, path
        assert info.st_mode & 0o077 == 0, f"{path} is {oct(info.st_mode)}"
    listed = _ok(who.run("gatepass", "list"))
    assert "typist" in listed.stdout and "pw-typed" not in listed.stdout + listed.stderr


@pytest.fixture(scope="module")
def registry() -> Iterator[Registry]:
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (Debian: docker-registry apache2-utils skopeo); "
                    "./test installs them")
    with Registry({"bob": "pw-bob"}) as reg:
        yield reg


def test_docker_login_stores_through_gatepass_and_skopeo_reads_it(who, registry):
    if shutil.which("docker") is None:
        pytest.skip("needs the docker CLI")
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "DOCKER_CLI_HINTS": "false"}
    _ok(who.run("gatepass", "setup", "docker"))
    login = _ok(who.run("docker", "login", registry.host, "-u", "bob", "--password-stdin", stdin="pw-bob\n", env=env))
    assert "Login Succeeded" in login.stdout
    config = json.loads((who.home / ".docker" / "config.json").read_text())
    assert config.get("credsStore") == "gatepass"
    assert not any(entry.get("auth") for entry in config.get("auths", {}).values())  # no base64 password
    got = _ok(who.run("docker-credential-gatepass", "get", stdin=registry.host))
    assert json.loads(got.stdout)["Username"] == "bob"
    # skopeo (containers/image) asks gatepass once `setup containers` named it in registries.conf
    _ok(who.run("gatepass", "setup", "containers"))
    inspect = who.run("skopeo", "inspect", "--tls-verify=false", f"docker://{registry.host}/nothing/here:latest")
    assert "unauthorized" not in inspect.stderr.lower() and "authentication required" not in inspect.stderr.lower()
    assert "manifest unknown" in inspect.stderr.lower()  # authenticated as bob: the image is just not there
    _ok(who.run("docker", "logout", registry.host, env=env))
    gone = who.run("docker-credential-gatepass", "get", stdin=registry.host)
    assert gone.returncode == 1 and "credentials not found" in gone.stdout


def _as_user(who: InstalledUser, argv: list[str], env: dict[str, str], **kw) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    environment = [f"{k}={v}" for k, v in {**who.env, **env}.items()]
    return subprocess.Popen(who.user.argv(["env", "-i", *environment, *argv]), cwd=who.user.home, **kw)


def test_the_users_own_secret_service_holds_what_git_approved(who, git_server):
    """The user's own session bus and gnome-keyring (both run as the user, nothing activatable): the
    store's `auto` backend picks it, and `secret-tool` run by the user sees the item."""
    missing = [t for t in ("dbus-daemon", "gnome-keyring-daemon", "secret-tool") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: dbus gnome-keyring libsecret-tools); ./test installs them")
    socket = f"{who.runtime}/bus"
    config = who.write(".cache/test-bus.conf", BUS_CONFIG.format(socket=socket))
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={socket}"}
    bus = _as_user(who, ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"], env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    keyring = None
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(socket) or who.run("dbus-send", "--session", "--dest=org.freedesktop.DBus",
                                                    "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames",
                                                    env=env).returncode != 0:
            assert bus.poll() is None and time.monotonic() < deadline, "the user's dbus-daemon did not start"
            time.sleep(0.05)
        keyring = _as_user(who, ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"], env,
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert keyring.stdin is not None
        keyring.stdin.write(b"user-keyring-password")
        keyring.stdin.close()
        while "org.freedesktop.secrets" not in who.run("dbus-send", "--session", "--print-reply",
                                                      "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                      "org.freedesktop.DBus.ListNames", env=env).stdout:
            assert keyring.poll() is None and time.monotonic() < deadline, "gnome-keyring-daemon did not start"
            time.sleep(0.05)
        request = f"protocol=http\nhost=127.0.0.1:{git_server.port}\nusername=ss-user\npassword=pw-ss\n"
        _ok(who.run("git", "credential", "approve", stdin=request, env=env))
        filled = _ok(who.run("git", "credential", "fill", env=env,
                             stdin=f"protocol=http\nhost=127.0.0.1:{git_server.port}\nusername=ss-user\n"))
        assert "password=pw-ss\n" in filled.stdout
        backends = _ok(who.run("gatepass", "list", env=env)).stdout
        assert "ss-user" in backends
        seen = _ok(who.run("secret-tool", "search", "--all", "username", "ss-user", env=env))
        assert "ss-user" in seen.stdout + seen.stderr
    finally:
        for proc in (keyring, bus):
            if proc is not None:
                stop(proc)
