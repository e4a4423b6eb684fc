"""End to end: ``docker-credential-gatepass`` answers an ECR registry with a token from a real moto server.

A registry that takes an ECR token as its htpasswd password would prove nothing about AWS, so
the proof is the helper's answer against what boto3 gets from the same server, and the server's
request count for the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.e2e.test_aws_ecr import REGISTRY, boto3_password
from tests.support.as_user import run_as
from tests.support.moto_server import MotoServer, missing

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, pytest.mark.timeout(180),
              pytest.mark.skipif(missing() is not None, reason=str(missing()))]
BIN = Path(sys.executable).parent
OTHER = "210987654321.dkr.ecr.us-west-2.amazonaws.com"


@pytest.fixture
def moto(tmp_path: Path):
    with MotoServer(tmp_path) as server:
        yield server


def docker_helper(args: list[str], stdin: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return run_as([str(BIN / "docker-credential-gatepass"), *args], input=stdin, capture_output=True,
                          timeout=60, env=env)


@pytest.fixture
def env(moto: MotoServer, isolated_env: dict[str, str]) -> dict[str, str]:
    write_config(isolated_env["GATEPASS_USER_CONFIG"], f"""
[[docker_registry]]
domain = "*.dkr.ecr.*.amazonaws.com"
accounts = [{{ username = "AWS", aws_ecr = {{}} }}]
[[docker_registry]]
domain = "{OTHER}"
accounts = [{{ username = "AWS", aws_ecr = {{ region = "us-west-2" }} }}]
""")
    values = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**values, **moto.env}


def test_get_answers_what_boto3_gets_and_a_second_get_makes_no_call(moto, env):
    before = moto.calls()
    done = docker_helper(["get"], REGISTRY.encode(), env)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert moto.calls() - before == 1
    again = docker_helper(["get"], f"https://{REGISTRY}".encode(), env)
    assert json.loads(again.stdout) == {**answer, "ServerURL": f"https://{REGISTRY}"} and moto.calls() - before == 1
    assert answer == {"ServerURL": REGISTRY, "Username": "AWS",
                      "Secret": boto3_password(moto, "123456789012", "eu-west-1")}
    assert answer["Secret"].encode() not in done.stderr + again.stderr


def test_each_registry_under_the_shared_domain_gets_its_own_token(moto, env):
    third = "333333333333.dkr.ecr.ap-south-1.amazonaws.com"
    for registry, account_id, region in ((REGISTRY, "123456789012", "eu-west-1"), (third, "333333333333", "ap-south-1"),
                                         (OTHER, "210987654321", "us-west-2")):
        done = docker_helper(["get"], registry.encode(), env)
        assert json.loads(done.stdout)["Secret"] == boto3_password(moto, account_id, region)


def test_list_shows_a_configured_ecr_registry_without_calling_aws(moto, env):
    before = moto.calls()
    done = docker_helper(["list"], b"", env)
    assert json.loads(done.stdout) == {OTHER: "AWS"} and moto.calls() == before


def test_no_aws_credentials_is_not_found_with_one_line_on_stderr(moto, env):
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    done = docker_helper(["get"], REGISTRY.encode(), env)
    assert done.returncode == 1 and b"credentials not found" in done.stdout
    assert len(done.stderr.decode().splitlines()) == 1 and b"Traceback" not in done.stderr
