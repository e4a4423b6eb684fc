"""git's own external-helper battery (t0303 + lib-credential.sh) against git-credential-gatepass.

tests/conformance/t0303.sh does the work; these tests run it and read its last line,
"t0303 SUITE HELPER: N passed, N failed, N skipped". Each suite runs once per store backend: the
encrypted file and a real Secret Service (a private, headless gnome-keyring per test, never the
developer's). git's own `store` helper runs the same suites as a canary of the harness itself:
it must pass what it passes and fail what it is known to fail.

The first run downloads Debian's git source packages and, for 2.47, builds git 2.47.3's `git`
(about 75 s on 2 cores); both are cached in ~/.cache/gatepass-t0303 (GATEPASS_T0303_CACHE).

The battery, git and the helper run as an ordinary user (``as_user``: tests/support/as_user.py), with a
Secret Service of its own. The cache is prepared by the test process (``t0303.sh --prepare``: the
download and the build, in root's cache) and copied once per module into a directory of the ordinary
user's, without object files (the battery writes into its sources' t/ directory).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.as_user import OrdinaryUser, current, run_as

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(1800)]  # a cold cache: download + the 2.47 build

SCRIPT = Path(__file__).resolve().parents[1] / "conformance" / "t0303.sh"
SUITES = ["2.39", "newlib", "2.47"]
# (passed, failed, skipped). newlib on git 2.39 skips 16, 18, 19, 21: git itself drops what they test.
GATEPASS_EXPECTED = {"2.39": (12, 0, 0), "newlib": (17, 0, 4), "2.47": (21, 0, 0)}
# git's `store`: on 2.39 its erase ignores the password (newlib 13); it keeps neither
# password_expiry_utc nor oauth_refresh_token (2.47: 18, 19, 21).
STORE_EXPECTED = {"2.39": (12, 0, 0), "newlib": (16, 1, 4), "2.47": (18, 3, 0)}
LAST_LINE = re.compile(r"t0303 (\S+) (\S+): (\d+) passed, (\d+) failed, (\d+) skipped")


def _cache() -> str:
    return os.environ.get("GATEPASS_T0303_CACHE") or os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".cache",
                                                                   "gatepass-t0303")


@pytest.fixture(scope="module")
def user_cache(request: pytest.FixtureRequest) -> Iterator[str]:
    """A copy of the prepared cache (git's sources, 2.47.3 built; no object files, no apt state) that
    belongs to the ordinary user; the cache itself when the suite runs as an ordinary user."""
    if os.geteuid() != 0:
        yield _cache()
        return
    ordinary_user_once: OrdinaryUser = request.getfixturevalue("ordinary_user_once")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATEPASS_"))}
    env["GATEPASS_T0303_CACHE"] = _cache()
    done = subprocess.run(["bash", str(SCRIPT), "--prepare"], env=env, capture_output=True, text=True, timeout=1700)
    assert done.returncode == 0, f"t0303.sh --prepare failed:\n{done.stderr[-3000:]}"
    source, copy = done.stdout.strip(), os.path.join(ordinary_user_once.root, "t0303-cache")
    for name in ("git-2.39.5", "git-2.47.3"):
        shutil.copytree(os.path.join(source, name), os.path.join(copy, name), symlinks=True,
                        ignore=shutil.ignore_patterns("*.o", ".depend"))
    uid, gid = ordinary_user_once.user.uid, ordinary_user_once.user.gid
    for top, dirs, files in os.walk(copy):
        for name in [top, *(os.path.join(top, n) for n in dirs + files)]:
            os.lchown(name, uid, gid)
    os.chmod(copy, 0o700)
    try:
        yield copy
    finally:
        shutil.rmtree(copy, ignore_errors=True)


@pytest.fixture(autouse=True)
def _cache_of_the_user(user_cache: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEPASS_T0303_CACHE", user_cache)


def _helper_dir() -> str:
    """The directory holding git-credential-gatepass: the ordinary user's launchers, else this venv's bin,
    else wherever PATH has it."""
    who = current()
    if who is not None:
        return who.who.bindir
    venv_bin = Path(sys.executable).parent
    if (venv_bin / "git-credential-gatepass").exists():
        return str(venv_bin)
    found = shutil.which("git-credential-gatepass")
    if found is None:
        pytest.fail("git-credential-gatepass is not installed (pip install -e .)")
    return str(Path(found).parent)


def run_battery(tmp_path: Path, suite: str, helper: str, *args: str, extra_env: dict[str, str] | None = None,
                test_lib_opts: tuple[str, ...] = ()) -> tuple[tuple[int, int, int], str]:
    """Run t0303.sh; return (passed, failed, skipped) from its last line and its whole output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GATEPASS_"))}
    # The cache outside the test's HOME (the ordinary user's copy in an as_user test): kept between tests.
    env["GATEPASS_T0303_CACHE"] = _cache()
    env["TMPDIR"] = str(tmp_path)  # the trash directories (kept by test-lib when a test fails)
    env.update(extra_env or {})
    done = run_as(["bash", str(SCRIPT), "--suite", suite, *args, helper, "--", *test_lib_opts],
                  env=env, capture_output=True, text=True, timeout=1700)
    output = done.stdout + done.stderr
    match = LAST_LINE.fullmatch(done.stdout.strip().rsplit("\n", 1)[-1])
    assert match, f"no summary line from t0303.sh (exit {done.returncode}):\n{output[-3000:]}"
    assert match.group(1, 2) == (suite, helper)
    passed, failed, skipped = map(int, match.group(3, 4, 5))
    assert (failed == 0) == (done.returncode == 0), output[-3000:]  # the exit status is the test script's
    return (passed, failed, skipped), output


@contextlib.contextmanager
def backend_env(backend: str) -> Iterator[dict[str, str]]:
    """Extra environment for a backend: for secret-service, a private gnome-keyring on its own bus."""
    if backend != "secret-service":
        yield {}
        return
    from tests.support.secret_service import private_secret_service  # lazily: only these tests need it

    missing = [t for t in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: dbus, gnome-keyring); ./test installs them")
    with private_secret_service() as env:
        yield env


def _store_files(tmp_path: Path) -> set[str]:
    """Names of the gatepass store files left in the trash directories under tmp_path."""
    return {p.name for p in tmp_path.glob("gatepass-t0303.*/trash directory.*/.local/share/gatepass/*")}


@pytest.mark.parametrize("backend", ["encrypted-file", "secret-service"])
@pytest.mark.parametrize("suite", SUITES)
def test_gatepass_passes_t0303(suite: str, backend: str, tmp_path: Path) -> None:
    with backend_env(backend) as extra:
        # -d keeps the trash directory, to check where the secrets went
        counts, output = run_battery(tmp_path, suite, "gatepass", "--backend", backend,
                                     "--path", _helper_dir(), extra_env=extra, test_lib_opts=("-d",))
    assert counts == GATEPASS_EXPECTED[suite], output[-4000:]
    files = _store_files(tmp_path)
    assert "index" in files, (files, output[-2000:])  # the store lived in the trash directory
    # the secrets went to the backend under test: the encrypted file exists only for encrypted-file
    assert ("secrets.enc" in files) == (backend == "encrypted-file"), files


def test_secret_service_without_a_service_fails_the_battery(tmp_path: Path) -> None:
    """The backend under test is really the one in use: with no Secret Service behind the bus, gatepass
    fails the tests that store (it does not fall back to the encrypted file)."""
    counts, output = run_battery(tmp_path, "2.39", "gatepass", "--backend", "secret-service",
                                 "--path", _helper_dir(),
                                 extra_env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"})
    passed, failed, _ = counts
    assert failed > 0 and passed + failed == 12, output[-3000:]
    assert "secrets.enc" not in _store_files(tmp_path)


@pytest.mark.parametrize("suite", SUITES)
def test_harness_canary_git_store(suite: str, tmp_path: Path) -> None:
    """git's own `store` gets exactly its known result: the harness passes what passes and counts failures."""
    counts, output = run_battery(tmp_path, suite, "store")
    assert counts == STORE_EXPECTED[suite], output[-4000:]


def test_newlib_prints_why_it_skips(tmp_path: Path) -> None:
    _, output = run_battery(tmp_path, "newlib", "store")
    assert "# skipping t0303.16 18 19 21: they need git >= 2.41" in output
    for number in (16, 18, 19, 21):
        assert re.search(rf"^ok {number} # skip .*\(GIT_SKIP_TESTS\)$", output, re.M), number
