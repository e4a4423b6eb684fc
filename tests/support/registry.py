"""Debian's docker-registry (distribution 2.8) on 127.0.0.1 with htpasswd (bcrypt) auth, for tests.

Started and stopped by the tests; storage, config and htpasswd live in a temp dir. Passwords
reach ``htpasswd -B`` on stdin, never in argv.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

REGISTRY = "/usr/bin/docker-registry"


def missing_tools() -> list[str]:
    return [t for t in (REGISTRY, "htpasswd", "skopeo") if shutil.which(t) is None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Registry:
    """``with Registry({"alice": "pw"}) as reg: reg.host -> "127.0.0.1:PORT"``."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = dict(users)
        self.dir = tempfile.mkdtemp(prefix="gatepass-registry-")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _htpasswd(self) -> str:
        path = os.path.join(self.dir, "htpasswd")
        for number, (user, password) in enumerate(self.users.items()):
            flags = "-Bic" if number == 0 else "-Bi"
            subprocess.run(["htpasswd", flags, path, user], input=password.encode(), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return path

    def __enter__(self) -> Registry:
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as handle:
            handle.write(f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {self.dir}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{self.port}
  secret: {base64.b16encode(os.urandom(16)).decode()}
auth:
  htpasswd:
    realm: gatepass-test
    path: {self._htpasswd()}
""")
        self.proc = subprocess.Popen([REGISTRY, "serve", config], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "registry.log"), "wb"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited: " + open(os.path.join(self.dir, "registry.log")).read())
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("docker-registry did not answer within 15 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def get(self, path: str, user: str | None = None, password: str | None = None) -> int:
        """Status of a GET with Basic auth (or none)."""
        request = urllib.request.Request(self.url + path)
        request.add_header("Accept", ", ".join([
            "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json"]))
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
