"""A SIGTERM to the suite leaves no daemon behind: the tests' servers are stopped by their fixtures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.registry import Registry, missing_tools

CHILD = "GATEPASS_TEST_SIGTERM_CHILD"


@pytest.fixture
def child_registry():
    with Registry({"u": "pw"}) as registry:
        yield registry


def test_child_holding_a_registry(request):
    """Run only by the test below, as the pytest it kills."""
    if not os.environ.get(CHILD):
        pytest.skip("the child of test_a_sigterm_to_the_suite_stops_its_servers; runs only there")
    registry = request.getfixturevalue("child_registry")
    Path(os.environ[CHILD]).write_text(str(registry.pid))
    time.sleep(120)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_a_sigterm_to_the_suite_stops_its_servers(tmp_path):
    if missing_tools():
        pytest.skip(f"needs {', '.join(missing_tools())} (Debian: docker-registry apache2-utils skopeo)")
    pidfile = tmp_path / "registry.pid"
    suite = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              f"{__file__}::test_child_holding_a_registry"],
                             env=dict(os.environ, **{CHILD: str(pidfile)}), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
    pid = None
    try:
        for _ in range(600):
            if pidfile.exists() and pidfile.read_text():
                pid = int(pidfile.read_text())
                break
            assert suite.poll() is None, suite.stdout.read() if suite.stdout else ""
            time.sleep(0.05)
        assert pid is not None and _alive(pid)
        suite.send_signal(signal.SIGTERM)
        suite.wait(60)
        for _ in range(100):  # the registry is the child's child: gone once its fixture stopped it
            if not _alive(pid):
                break
            time.sleep(0.05)
        assert not _alive(pid), "the registry outlived the suite"
    finally:
        if suite.poll() is None:
            suite.kill()
            suite.wait()
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGKILL)  # the server our child started, by its PID
