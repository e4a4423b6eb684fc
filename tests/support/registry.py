"""Debian's docker-registry (distribution 2.8) on 127.0.0.1 with htpasswd (bcrypt) auth, for tests.

Started and stopped by the tests, by PID; config, htpasswd, storage and log live in a private temp
dir. Passwords reach ``htpasswd -B -i`` on stdin, never argv. Plain HTTP: clients use --insecure,
--tls-verify=false or insecure=True (docker treats 127.0.0.0/8 and localhost as insecure anyway).
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
from collections.abc import Mapping
from typing import Final

REGISTRY: Final = "/usr/bin/docker-registry"
TOOLS: Final = (REGISTRY, "htpasswd", "skopeo")
HOSTNAMES: Final = ("127.0.0.1", "localhost")
MANIFEST_TYPES: Final = (
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json")
# urllib honours http_proxy; a loopback registry must never be reached through a proxy.
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def missing_tools(*extra: str) -> list[str]:
    """Tools these tests need that are not installed (Debian: docker-registry apache2-utils skopeo)."""
    return [tool for tool in (*TOOLS, *extra) if shutil.which(tool) is None]


def skip_without_tools(*extra: str) -> None:
    """pytest.skip, naming the missing tools and the Debian packages that ship them."""
    missing = missing_tools(*extra)
    if missing:
        import pytest

        pytest.skip(f"needs {', '.join(missing)} (Debian: docker-registry apache2-utils skopeo); ./test installs them")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def basic_auth(user: str, password: str) -> str:
    """The value of an ``Authorization`` header for Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _config(root: str, port: int, htpasswd: str, auth: str | None = None) -> str:
    # http.secret set: otherwise 2.8 warns "No HTTP secret provided". Upload purging off: no
    # background goroutine walking storage while a test runs. Access log off: the log stays small.
    return f"""version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: {base64.b16encode(os.urandom(16)).decode()}
auth:
{auth or _htpasswd_block(htpasswd)}
"""


def _htpasswd_block(htpasswd: str) -> str:
    return f"  htpasswd:\n    realm: gatepass-test\n    path: {htpasswd}"


class Registry:
    """``with Registry({"alice": "pw"}) as reg: reg.host -> "127.0.0.1:PORT"``.

    ``hostname="localhost"`` makes ``host``/``url`` say ``localhost:PORT``; it still listens on
    127.0.0.1 only. ``reg.aliases`` names both spellings, which docker keys apart.
    """

    def __init__(self, users: Mapping[str, str], *, hostname: str = "127.0.0.1", auth: str | None = None) -> None:
        if hostname not in HOSTNAMES:
            raise ValueError(f"hostname must be one of {HOSTNAMES}")
        for user, password in users.items():
            if ":" in user or any(c in user + password for c in "\r\n\0"):
                raise ValueError(f"htpasswd cannot hold user {user!r} or its password")
        self.users = dict(users)
        self.hostname = hostname
        self.auth = auth  # another ``auth:`` block (indented two spaces), e.g. token auth; else htpasswd
        self.dir = ""  # a private (0700) temp dir from start() until stop()
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"{self.hostname}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def aliases(self) -> tuple[str, str]:
        return f"127.0.0.1:{self.port}", f"localhost:{self.port}"

    @property
    def log_path(self) -> str:
        return os.path.join(self.dir, "registry.log")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _write_htpasswd(self) -> str:
        path = os.path.join(self.dir, "htpasswd")
        open(path, "w").close()
        os.chmod(path, 0o600)
        for user, password in self.users.items():
            subprocess.run(["htpasswd", "-B", "-i", path, user], input=password.encode(), check=True,
                           capture_output=True, timeout=30)
        return path

    def start(self, timeout: float = 15) -> Registry:
        """Start and wait until ``/v2/`` answers 401; retries on a lost port race."""
        self.dir = tempfile.mkdtemp(prefix="gatepass-registry-")
        htpasswd = self._write_htpasswd()
        for _attempt in range(3):
            self.port = free_port()
            config = os.path.join(self.dir, "config.yml")
            with open(config, "w") as handle:
                handle.write(_config(self.dir, self.port, htpasswd, self.auth))
            # A minimal env: distribution reads REGISTRY_* as config overrides, and the
            # REGISTRY_AUTH_FILE that skopeo/podman users export makes it refuse to start.
            env = {"PATH": "/usr/bin:/bin", "HOME": self.dir, "TMPDIR": self.dir}
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([REGISTRY, "serve", config], stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log, env=env, cwd=self.dir)
            if self._wait_ready(timeout):
                return self
            self._terminate()
            if "address already in use" not in self.log_text():
                break
        text = self.log_text()
        self.stop()
        raise RuntimeError(f"docker-registry did not start:\n{text[-2000:]}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if self.get("/v2/") == 401:
                return True
            time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stop(self) -> None:
        """Stop the process we started (by its PID) and remove the temp dir; idempotent."""
        self._terminate()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        if not self.dir:
            return ""
        try:
            with open(self.log_path, errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            return ""

    def get(self, path: str, user: str | None = None, password: str | None = None,
            method: str = "GET") -> int:
        """Status of a request to ``path`` with Basic auth (or none); manifests in any format."""
        request = urllib.request.Request(self.url + path, method=method)
        request.add_header("Accept", ", ".join(MANIFEST_TYPES))
        if user is not None:
            request.add_header("Authorization", basic_auth(user, password or ""))
        try:
            with _OPENER.open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return 0
