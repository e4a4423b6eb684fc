"""./test as an ordinary user without sudo: it names the missing Debian packages and runs what it can
(the tests that need them skip, saying why), instead of stopping at once."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fake(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_without_root_or_sudo_missing_packages_are_named_and_the_suite_still_runs(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "test", checkout / "test")
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    stamp = subprocess.run("cat pyproject.toml | cksum", shell=True, cwd=checkout, capture_output=True, text=True)
    (checkout / ".venv" / ".gatepass-test-deps").write_text(stamp.stdout)  # deps "installed": no pip run
    _fake(checkout / ".venv" / "bin", "python", 'echo "pytest ran: $*"\n')
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    _fake(fakes, "dpkg-query", "exit 1\n")  # nothing installed
    _fake(fakes, "id", 'echo 1000\n')  # an ordinary user...
    _fake(fakes, "sudo", "exit 1\n")  # ...without sudo
    _fake(fakes, "apt-get", 'echo "apt-get must not run" >&2; exit 3\n')
    done = subprocess.run([str(checkout / "test"), "tests/unit", "-q"], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PATH=f"{fakes}:/usr/bin:/bin"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "pytest ran: -m pytest tests/unit -q\n"
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("test: missing Debian packages: docker-registry ")
    assert "the tests that need them will be skipped; to run them too: sudo apt-get install -y" in done.stderr


CHILD = "GATEPASS_TEST_MISSING_TOOL_CHILD"


def test_child_running_a_program_that_is_not_installed():
    """Run only by the test below."""
    import pytest

    if not os.environ.get(CHILD):
        pytest.skip("the child of test_a_test_needing_a_program_not_installed_is_a_skip_naming_it; runs only there")
    subprocess.run(["gp-no-such-tool-7f3a", "--version"], check=True)


def test_a_test_needing_a_program_not_installed_is_a_skip_naming_it():
    import sys

    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           f"{__file__}::test_child_running_a_program_that_is_not_installed"],
                          env=dict(os.environ, **{CHILD: "1"}), capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout
    assert "needs gp-no-such-tool-7f3a, which is not installed" in done.stdout
