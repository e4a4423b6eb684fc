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


def test_comments_say_why_not_when():
    """No issue numbers in src (the history says when; a comment says why), nor timing figures in
    milliseconds, which go stale (they belong in benchmarks/ and the README's table)."""
    import re

    when = re.compile(r"(?<![A-Za-z0-9])(?<!UTS )#\d+\b|\bissues? #?\d+|~?\d+(\.\d+)? ?ms\b")  # UTS #46 is a name
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "src" / "gatepass").rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if when.search(line)]
    assert found == []
