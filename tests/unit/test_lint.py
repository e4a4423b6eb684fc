"""The source stays typed (mypy --strict) and lint-clean (ruff), as the pyproject configures them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("tool", [["mypy"], ["ruff", "check", "src", "tests"]], ids=["mypy", "ruff"])
def test_tool_is_clean(tool):
    done = subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
