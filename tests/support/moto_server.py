"""moto in server mode on a free loopback port: a real HTTP AWS endpoint for ECR and STS tests.

``with MotoServer(tmp) as moto: moto.env`` gives the environment a client needs (endpoint, dummy
credentials, region, no shared config files). ``moto.calls()`` counts the API requests the
server has logged, so a test can prove that a cached answer made none. Started from the venv's
``moto_server``; stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

MOTO_SERVER = str(Path(sys.executable).parent / "moto_server")


def missing() -> str | None:
    """Why moto cannot run here, or None."""
    return None if shutil.which(MOTO_SERVER) else "moto_server is not installed in the venv (pip install 'moto[server]')"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "moto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(root / "aws-config"),
                    "AWS_SHARED_CREDENTIALS_FILE": str(root / "aws-credentials"), "AWS_EC2_METADATA_DISABLED": "true"}

    def __enter__(self) -> MotoServer:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([MOTO_SERVER, "-H", "127.0.0.1", "-p", str(self.port)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, env={**os.environ, "MOTO_CALL_RESET_API": "false"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("moto_server did not start listening within 60 s")

    def calls(self) -> int:
        """API requests served so far (moto logs one line per request)."""
        text = self.log_path.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if '"POST / HTTP' in line)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
