"""A warm minted ``get`` (token cached) imports no JSON, HTTP, botocore or cryptography: the engines stay off the hot path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.e2e.test_github_app import APP_ID, app_key
from tests.support.github_api import GitHubAPI
from tests.support.moto_server import MotoServer, missing
from tests.support.racy import cacheable

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
HEAVY = ("json", "urllib", "urllib.request", "http", "http.client", "email", "ssl", "botocore", "boto3",
         "cryptography", "threading", "datetime", "base64", "click", "keyring", "tomllib", "tomli", "typing")
PROBE = """
import io, os, sys
from gatepass.protocol import {module} as helper
out, err = io.BytesIO(), io.BytesIO()
helper.main(["get"], io.BytesIO({stdin!r}), out, err, os.environ)
assert {expect!r} in out.getvalue(), (out.getvalue()[:9], err.getvalue())
print(" ".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_after_warm_get(module: str, stdin: bytes, expect: bytes, env: dict[str, str]) -> tuple[str, str]:
    code = PROBE.format(module=module, stdin=stdin, expect=expect, heavy=HEAVY)
    runs = [subprocess.run([sys.executable, "-I", "-c", code], env=env, capture_output=True, text=True, timeout=60)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    return runs[0].stdout.strip(), runs[1].stdout.strip()


def test_warm_github_app_get_imports_nothing_heavy(tmp_path: Path, isolated_env: dict[str, str]):
    key = tmp_path / "app.pem"
    with GitHubAPI(APP_ID, app_key(key), {"acme": 7}) as api:
        cacheable(write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[git_provider]]
domain = "git.example"
accounts = [{{ username = "x-access-token", github_app = {{ app_id = {APP_ID}, private_key_file = "{key}", api_url = "{api.url}" }} }}]
"""))  # the second run is warm, whatever the load
        cold, warm = heavy_after_warm_get("git", b"protocol=https\nhost=git.example\npath=acme/r.git\n",
                                          b"username=x-access-token", dict(os.environ))
        assert len(api.calls) == 2, "one mint, then the cache"
    assert "cryptography" in cold and "json" in cold, "the probe sees the cold path's imports"
    assert warm == ""


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_warm_aws_ecr_get_imports_nothing_heavy(tmp_path: Path, isolated_env: dict[str, str]):
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    cacheable(write_config(isolated_env["GATEPASS_USER_CONFIG"],
                           f'[[docker_registry]]\ndomain = "{registry}"\naccounts = [{{ username = "AWS", aws_ecr = {{}} }}]\n'))
    with MotoServer(tmp_path) as moto:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **moto.env}
        cold, warm = heavy_after_warm_get("docker", registry.encode(), b'"Username"', env)
    assert "botocore" in cold
    assert warm == ""
