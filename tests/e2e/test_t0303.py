"""git's own external-helper battery (t0303 + lib-credential.sh) against git-credential-gatepass.

Each suite runs once per store backend: the encrypted file and a real, private Secret Service.
The first run downloads Debian's git source package (and, for 2.47, builds its git binary,
about 90 s); both are cached under ~/.cache/gatepass-t0303.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.secret_service import missing_tools, private_secret_service

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]
SCRIPT = Path(__file__).resolve().parents[1] / "conformance" / "t0303.sh"
EXPECTED = {"2.39": (12, 0), "newlib": (17, 4), "2.47": (21, 0)}


def run_battery(suite: str, backend: str, env: dict[str, str]) -> tuple[str, str]:
    done = subprocess.run(["bash", str(SCRIPT), "--suite", suite, "--backend", backend,
                           "--path", str(Path(sys.executable).parent), "gatepass"],
                          env=env, capture_output=True, text=True, timeout=1100)
    last = done.stdout.strip().split("\n")[-1]
    return last, done.stdout + done.stderr


@pytest.mark.parametrize("backend", ["encrypted-file", "secret-service"])
@pytest.mark.parametrize("suite", ["2.39", "newlib", "2.47"])
def test_t0303_battery(suite, backend, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATEPASS_"))}
    # The real home, not the test's: the git sources and the 2.47 build are kept between runs.
    env["GATEPASS_T0303_CACHE"] = os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".cache", "gatepass-t0303")
    env["TMPDIR"] = str(tmp_path)
    context: contextlib.AbstractContextManager[dict[str, str]] = contextlib.nullcontext({})
    if backend == "secret-service":
        if missing_tools():
            pytest.skip(f"needs {', '.join(missing_tools())}; ./test installs them")
        context = private_secret_service()
    with context as extra:
        last, output = run_battery(suite, backend, dict(env, **extra))
    match = re.fullmatch(r"t0303 \S+ gatepass: (\d+) passed, (\d+) failed, (\d+) skipped", last)
    assert match, output[-3000:]
    passed, failed, skipped = map(int, match.groups())
    assert (passed, failed, skipped) == (*EXPECTED[suite][:1], 0, EXPECTED[suite][1]), output[-3000:]
