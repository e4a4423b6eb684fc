"""The helpers' hot path stays lean: answering ``get`` imports none of click, keyring, cryptography, a TOML parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_config
from tests.support.racy import cacheable

HEAVY = ("click", "keyring", "cryptography", "jeepney", "json", "typing", "dataclasses")
PROBE = """
import io, os, sys
from gatepass.protocol import {module} as helper
out = io.BytesIO()
helper.main(["get"], io.BytesIO({stdin!r}), out, io.BytesIO(), os.environ)
assert out.getvalue(), "no answer"
print(" ".join(sorted(m for m in {heavy!r} if m in sys.modules)))
print(any(m in sys.modules for m in ("tomli", "tomllib", "gatepass.config.toml")))  # a TOML parse ran
"""


def probe(tmp_path, module: str, stdin: bytes) -> tuple[str, str]:
    path = cacheable(write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n'))
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    code = PROBE.format(module=module, stdin=stdin, heavy=HEAVY)
    runs = [subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split("\n") for _ in range(2)]
    assert runs[0][1] == "True", "the first run parses the TOML"
    return runs[1][0], runs[1][1]


def test_git_get_imports_nothing_heavy(tmp_path):
    heavy, toml = probe(tmp_path, "git", b"protocol=https\nhost=github.com\n")
    assert heavy == "" and toml == "False"


def test_docker_get_imports_nothing_heavy(tmp_path):
    path = cacheable(write_config(tmp_path / "c.toml",
                                  '[[docker_registry]]\ndomain = "r.example"\naccounts=[{username="a", token="t"}]\n'))
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    code = PROBE.format(module="docker", stdin=b"r.example", heavy=HEAVY)
    for _ in range(2):
        out = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["", "False"]


def test_store_answer_loads_neither_click_nor_keyring_nor_jeepney(tmp_path):
    env = dict(os.environ, GATEPASS_CONFIG="/dev/null", GATEPASS_STORE_BACKEND="encrypted-file")
    subprocess.run([sys.executable, "-m", "gatepass.protocol.git", "store"], env=env, check=True,
                   input=b"protocol=https\nhost=s.example\nusername=u\npassword=p\n")
    # cryptography's compiled binding is loaded (AES-GCM), never its ciphers package, typing or the rest.
    heavy = ("click", "keyring", "jeepney", "json", "typing", "dataclasses", "cryptography.utils",
             "cryptography.hazmat.primitives.ciphers")
    code = PROBE.format(module="git", stdin=b"protocol=https\nhost=s.example\n", heavy=heavy)
    out = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0] == ""


def test_store_of_what_the_config_gives_touches_nothing_of_the_store(tmp_path):
    """git approves after every operation: when the config answered, store stops before the store (#14)."""
    path = cacheable(write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n'))
    env = dict(os.environ, GATEPASS_CONFIG=str(path), XDG_DATA_HOME=str(tmp_path / "data"))
    code = ("import io, os, sys\nfrom gatepass.protocol import git\n"
            "git.main(['store'], io.BytesIO(b'protocol=https\\nhost=github.com\\nusername=a\\npassword=t\\n'), "
            "io.BytesIO(), io.BytesIO(), os.environ)\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('gatepass.stores') or m in ('json', 're', 'typing'))))")
    # Nothing of the store: with no index, the deferred store (app.DeferredStore) never imports it (#14).
    allowed: set[str] = set()
    for _ in range(2):  # the second is answered from the parse cache
        out = subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) - allowed == set(), out.stdout
    assert not (tmp_path / "data").exists()


# What `python -I -S` (./install's launchers, and the wheel's) loads on a warm get beyond the interpreter's own
# start: none of these. ``os`` alone is ~2.5 ms there (with _collections_abc and posixpath), select ~1 ms, and
# __future__ ~1 ms, against a 1.10x budget over `python -I -c pass`; nor the cold path's writers.
NOT_ON_THE_WARM_PATH = ("os", "stat", "posixpath", "_collections_abc", "select", "__future__", "re", "typing",
                        "gatepass.stores", "gatepass.files", "gatepass.config.cachewrite")
LAUNCH = """
import sys
sys.path.extend({paths!r})
from gatepass.protocol import {module} as helper
code = helper.main()
print("loaded:", " ".join(sorted(m for m in {banned!r} if m in sys.modules)), file=sys.stderr)
sys.exit(code)
"""


def _launch(module: str, stdin: bytes, env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[bytes]:
    import sysconfig

    paths = list(dict.fromkeys([str(Path(__file__).resolve().parents[3] / "src"), sysconfig.get_paths()["purelib"],
                                sysconfig.get_paths()["platlib"]]))
    code = LAUNCH.format(paths=paths, module=module, banned=NOT_ON_THE_WARM_PATH)
    return subprocess.run([sys.executable, "-I", "-S", "-c", code, *args], input=stdin, env=env, capture_output=True,
                          check=True)


def test_a_warm_get_under_python_S_loads_no_os_select_or_future(tmp_path):
    path = cacheable(write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n'))
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    for _ in range(2):  # the second is answered from the parse cache
        out = _launch("git", b"protocol=https\nhost=github.com\n", env, ["get"])
    assert out.stdout == b"username=a\npassword=t\n"
    assert out.stderr.decode().strip() == "loaded:"


def test_a_warm_docker_get_under_python_S_loads_no_os_select_or_future(tmp_path):
    path = cacheable(write_config(tmp_path / "c.toml",
                                  '[[docker_registry]]\ndomain = "r.example"\naccounts=[{username="a", token="t"}]\n'))
    env = dict(os.environ, GATEPASS_CONFIG=str(path))
    for _ in range(2):
        out = _launch("docker", b"r.example", env, ["get"])
    assert b'"Secret"' in out.stdout
    assert out.stderr.decode().strip() == "loaded:"


def test_a_warm_get_in_a_ci_job_loads_nothing_more(tmp_path):
    """GitHub Actions detected (its preset module imported): still none of the above, answered from the config
    file (which wins) and, for ghcr.io, from the preset."""
    path = cacheable(write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts=[{username="a", token="t"}]\n'))
    env = dict(os.environ, GATEPASS_CONFIG=str(path), GITHUB_ACTIONS="true", GITHUB_TOKEN="ghs_job",
               GITHUB_ACTOR="octo")
    for _ in range(2):
        out = _launch("git", b"protocol=https\nhost=github.com\n", env, ["get"])
    assert out.stdout == b"username=a\npassword=t\n"
    assert out.stderr.decode().strip() == "loaded:"
    out = _launch("docker", b"ghcr.io", env, ["get"])
    assert b'"Username":"octo"' in out.stdout.replace(b" ", b"") and out.stderr.decode().strip() == "loaded:"
