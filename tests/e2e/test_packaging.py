"""The sdist is what a downstream packager expects (issue 13 item 10): the LICENSE the metadata names,
classifiers, and the tests to check the build with. Built with setuptools' own PEP 517 backend in a
fresh venv (the pyproject needs setuptools>=77 for `license = "MIT"`), from a clean copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
BUILD = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"


def test_sdist_carries_license_metadata_and_tests(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "setuptools>=77"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip(f"setuptools>=77 could not be installed from the package index: {done.stderr.strip()[-200:]}")
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", ".git", "*.pyc")
    for name in ("src", "tests", "docs", "benchmarks", "bin"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, checkout / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "install", "test"):
        shutil.copy2(ROOT / name, checkout / name)
    built = subprocess.run([str(venv / "bin" / "python"), "-c", BUILD, str(tmp_path / "dist")], cwd=checkout,
                           capture_output=True, text=True, timeout=300, check=True).stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / "dist" / built) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
        top = sdist.getnames()[0].split("/")[0]
        info = sdist.extractfile(f"{top}/PKG-INFO").read().decode()  # type: ignore[union-attr]
    assert {"LICENSE", "README.md", "install", "test", "tests/conftest.py", "tests/unit/cli/test_cli.py",
            "tests/support/git_server.py", "tests/e2e/test_packaging.py"} <= names
    assert not any("__pycache__" in name for name in names)
    assert "License-Expression: MIT" in info and "License-File: LICENSE" in info
    assert "Classifier: Programming Language :: Python :: 3.11" in info and "Classifier: Typing :: Typed" in info
    assert "MIT License" in (ROOT / "LICENSE").read_text()
