"""Every GATEPASS_* variable is named in one module (gatepass.envvars), and the README's table is that module's."""

from __future__ import annotations

import re
from pathlib import Path

from gatepass.envvars import VARIABLES, markdown

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"GATEPASS_[A-Z0-9_]*[A-Z0-9]")


def used_in_src() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for path in sorted((ROOT / "src").rglob("*.py")):
        if path.name == "envvars.py":
            continue
        for name in NAME.findall(path.read_text()):
            used.setdefault(name, []).append(str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "src" / "launchers").glob("*")):
        for name in NAME.findall(path.read_text()):
            used.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return used


def test_every_variable_src_reads_is_named_in_envvars():
    used = used_in_src()
    assert {name: where for name, where in used.items() if name not in VARIABLES} == {}
    assert [name for name in VARIABLES if name not in used] == [], "named but read nowhere: remove it"


def test_the_readme_table_is_the_modules():
    readme = (ROOT / "README.md").read_text()
    assert markdown() in readme, "README's Environment variables table differs: paste gatepass.envvars.markdown()"
    listed = set(re.findall(r"^\| `(GATEPASS_[A-Z0-9_]+)` \|", readme, re.M))
    assert listed == set(VARIABLES)
