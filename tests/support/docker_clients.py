"""Run the real registry clients (docker CLI, skopeo, docker-py, oras-py) with an isolated config.

Each client runs in its own process with HOME, DOCKER_CONFIG and auth files under a test's temp
dir and no docker engine (DOCKER_HOST points nowhere); in an ``as_user`` test, as the test's ordinary
user (tests/support/as_user.py). Every call returns a ``Result``. Passwords go
on stdin or into 0600 files, never into argv.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

from tests.support.as_user import python_argv, run_as

NO_ENGINE: Final = "unix:///nonexistent/docker.sock"
# Variables that would point a client at the developer's own config, engine or auth files.
_DROPPED: Final = ("DOCKER_", "REGISTRY_AUTH_FILE", "CONTAINERS_", "REGISTRIES_CONFIG_PATH", "ORAS_")


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def json(self) -> Any:
        return json.loads(self.stdout)


def client_env(home: Path, path_prefix: Sequence[Path | str] = (), **extra: str) -> dict[str, str]:
    """The caller's env without docker/containers pointers, HOME=home, ``path_prefix`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    env["HOME"] = str(home)
    env["XDG_RUNTIME_DIR"] = str(home / ".run")  # skopeo's default auth.json lives there
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["PATH"] = os.pathsep.join([*map(str, path_prefix), env.get("PATH", "/usr/bin:/bin")])
    env.update(extra)
    return env


def run(cmd: Sequence[str], env: Mapping[str, str], stdin: str | None = None, timeout: float = 60,
        cwd: Path | str | None = None) -> Result:
    done = run_as(list(cmd), env=dict(env), input=stdin if stdin is not None else "", capture_output=True, text=True,
                  timeout=timeout, cwd=cwd)
    return Result(done.returncode, done.stdout, done.stderr)


def _write_private(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    return path


def auths_entry(user: str, password: str) -> dict[str, str]:
    """A config.json/auth.json ``auths`` value: base64 ``user:password``."""
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


class DockerCLI:
    """The docker CLI with ``DOCKER_CONFIG=config_dir`` and no engine (login falls back client-side)."""

    def __init__(self, config_dir: Path, home: Path | None = None, path_prefix: Sequence[Path | str] = ()) -> None:
        self.config_dir = config_dir
        config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.env = client_env(home or config_dir.parent, path_prefix, DOCKER_CONFIG=str(config_dir),
                              DOCKER_HOST=NO_ENGINE, DOCKER_CLI_HINTS="false")

    @property
    def config_path(self) -> Path:
        return self.config_dir / "config.json"

    def write_config(self, data: Mapping[str, Any]) -> Path:
        return _write_private(self.config_path, dict(data))

    def read_config(self) -> dict[str, Any]:
        return dict(json.loads(self.config_path.read_text())) if self.config_path.exists() else {}

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> Result:
        return run(["docker", *args], self.env, stdin, timeout)

    def login(self, host: str, user: str, password: str) -> Result:
        return self.run("login", host, "--username", user, "--password-stdin", stdin=password + "\n")

    def logout(self, host: str) -> Result:
        return self.run("logout", host)

    def manifest_inspect(self, ref: str) -> Result:
        return self.run("manifest", "inspect", "--insecure", ref)

    def manifest_create(self, list_ref: str, *refs: str) -> Result:
        return self.run("manifest", "create", "--insecure", "--amend", list_ref, *refs)

    def manifest_push(self, list_ref: str) -> Result:
        return self.run("manifest", "push", "--insecure", list_ref)


class Skopeo:
    """skopeo with one auth file (``--authfile`` and ``REGISTRY_AUTH_FILE``), an accept-all policy, no TLS."""

    def __init__(self, home: Path, path_prefix: Sequence[Path | str] = ()) -> None:
        self.home = home
        self.authfile = home / "containers-auth.json"
        self.policy = home / "policy.json"
        self.policy.parent.mkdir(parents=True, exist_ok=True)
        self.policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.env = client_env(home, path_prefix, REGISTRY_AUTH_FILE=str(self.authfile))
        self.write_authfile({})

    def write_authfile(self, data: Mapping[str, Any]) -> Path:
        """``{"auths": {...}}`` and/or ``{"credHelpers": {host: name}}``, as containers-auth.json(5)."""
        return _write_private(self.authfile, dict(data))

    def login_file(self, host: str, user: str, password: str) -> None:
        """Put ``user:password`` for ``host`` into the auth file (instead of --creds in argv)."""
        self.write_authfile({"auths": {host: auths_entry(user, password)}})

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120) -> Result:
        return run(["skopeo", "--policy", str(self.policy), *args], self.env, stdin, timeout)

    def copy(self, src: str, dest: str) -> Result:
        return self.run("copy", "--authfile", str(self.authfile), "--src-tls-verify=false",
                        "--dest-tls-verify=false", src, dest)

    def inspect(self, ref: str) -> Result:
        return self.run("inspect", "--authfile", str(self.authfile), "--tls-verify=false", ref)


_DOCKER_PY: Final = """
import json, sys, docker.auth
config_path, registry = sys.argv[1], sys.argv[2]
config = docker.auth.load_config(config_path=config_path)
print(json.dumps(docker.auth.resolve_authconfig(config, registry)))
"""


def docker_py_resolve(config_path: Path, registry: str, env: Mapping[str, str]) -> Result:
    """docker-py's ``resolve_authconfig(load_config(config_path=...), registry)``; stdout is its JSON (or null)."""
    return run([*python_argv(_DOCKER_PY), str(config_path), registry], env)


_ORAS: Final = """
import json, os, sys, types, oras.client, oras.decorator
args = json.loads(sys.stdin.read())
# oras-py retries any exception (e.g. no credentials at all) 5 times, sleeping 2+3**n s (~131 s);
# against a loopback registry that is only waiting, so the retries run without the sleep.
oras.decorator.time = types.SimpleNamespace(sleep=lambda seconds: None)
client = oras.client.OrasClient(hostname=args["host"], insecure=True, auth_backend="basic")
if args.get("user"):
    client.auth.set_basic_auth(args["user"], args["password"])
os.chdir(args["workdir"])
done = {}
try:
    if args["push"]:
        done["push"] = client.push(files=[args["file"]], target=args["target"]).status_code
    pulled = client.pull(target=args["target"], outdir="pulled")
    done["pulled"] = [open(p).read() for p in pulled]
except Exception as exc:
    done["error"] = type(exc).__name__ + ": " + str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
print(json.dumps(done))
sys.exit(3 if "error" in done else 0)
"""


def oras_push_pull(host: str, target: str, workdir: Path, env: Mapping[str, str], *, push: bool = True,
                   content: str = "payload\n", user: str | None = None, password: str | None = None) -> Result:
    """oras-py push (optional) then pull of ``target`` with ``auth_backend="basic"``.

    Without ``user`` oras-py takes credentials from ``$HOME/.docker/config.json`` only (``auths``,
    then ``credHelpers[host]``, then ``credsStore``); it ignores DOCKER_CONFIG. stdout is JSON:
    ``{"push": status, "pulled": [contents]}`` or ``{"error": ...}`` with exit 3.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "artifact.txt").write_text(content)
    args = {"host": host, "target": target, "workdir": str(workdir), "push": push, "file": "artifact.txt",
            "user": user, "password": password}
    return run(python_argv(_ORAS), env, json.dumps(args), timeout=120)
