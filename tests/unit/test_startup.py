"""The helpers' hot path stays lean: answering ``get`` imports none of click, keyring, cryptography, tomllib."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import write_config

HEAVY = ("click", "keyring", "cryptography", "jeepney", "json", "typing", "dataclasses")
PROBE = """
import io, os, sys
from gatepass.protocol import {module} as helper
out = io.BytesIO()
helper.main(["get"], io.BytesIO({stdin!r}), out, io.BytesIO(), os.environ)
assert out.getvalue(), "no answer"
print(" ".join(sorted(m for m in {heavy!r} if m in sys.modules)))
print("tomllib" in sys.modules)
"""


def probe(tmp_path, module: str, stdin: bytes) -> tuple[str, str]:
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n')
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    code = PROBE.format(module=module, stdin=stdin, heavy=HEAVY)
    runs = [subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split("\n") for _ in range(2)]
    assert runs[0][1] == "True", "the first run parses the TOML"
    return runs[1][0], runs[1][1]


def test_git_get_imports_nothing_heavy(tmp_path):
    heavy, toml = probe(tmp_path, "git", b"protocol=https\nhost=github.com\n")
    assert heavy == "" and toml == "False"
