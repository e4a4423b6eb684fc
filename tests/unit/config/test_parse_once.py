"""Helpers started together on a cold cache parse the config once: the others wait for that parse (#14)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import write_config

PROBE = """
import io, os, sys, time
gate = sys.argv[1]
while not os.path.exists(gate):  # all four start parsing together
    time.sleep(0.001)
from gatepass.protocol import git
out = io.BytesIO()
git.main(["get"], io.BytesIO(b"protocol=https\\nhost=host-0.example.com\\n"), out, io.BytesIO(), os.environ)
print(out.getvalue().decode().split("\\n")[0], "gatepass.config.schema" in sys.modules)
"""


def test_four_helpers_on_a_cold_cache_parse_once(tmp_path):
    tables = "".join(f'[[git_provider]]\ndomain = "host-{p}.example.com"\naccounts = [{{ username = "u{p}", token = "t" }}]\n'
                     for p in range(3000))  # a parse long enough for all four to miss the cache
    env = dict(os.environ, GATEPASS_CONFIG=str(write_config(tmp_path / "c.toml", tables)),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    gate = tmp_path / "go"
    helpers = [subprocess.Popen([sys.executable, "-I", "-c", PROBE, str(gate)], env=env, stdout=subprocess.PIPE,
                                text=True) for _ in range(4)]
    time.sleep(0.5)  # let them import and reach the gate (a late one finds the cache: still one parse)
    gate.touch()
    results = [helper.communicate(timeout=120)[0].split() for helper in helpers]
    assert [answer for answer, _ in results] == ["username=u0"] * 4
    assert sorted(parsed for _, parsed in results) == ["False", "False", "False", "True"]
