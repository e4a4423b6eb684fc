"""Amazon ECR tokens from a real moto server: gatepass's engine against what boto3 gets itself."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import boto3
import pytest

from gatepass.engines import aws_ecr
from gatepass.errors import SecretUnavailableError
from gatepass.model import Account, Request
from tests.support.moto_server import MotoServer, missing

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180),
              pytest.mark.skipif(missing() is not None, reason=str(missing()))]
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory):
    with MotoServer(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def aws_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # botocore reads the credential chain from the process environment, as the helpers do.
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in moto.env.items():
        monkeypatch.setenv(name, value)
    return dict(moto.env)


def account(username: str = "AWS", **spec: object) -> Account:
    return Account(kind="docker", domain="*.dkr.ecr.*.amazonaws.com", host="*.dkr.ecr.*.amazonaws.com", port=None,
                   secure=True, username=username, secret_kind="aws_ecr", secret_ref=spec, layer="user", rank=2,
                   file="/cfg.toml", line=2)


def docker_request(host: str = REGISTRY) -> Request:
    return Request("docker", "https", host, None)


def boto3_password(moto: MotoServer, registry_id: str, region: str) -> str:
    client = boto3.client("ecr", region_name=region, endpoint_url=moto.url, aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    data = client.get_authorization_token(registryIds=[registry_id])["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS"
    return password


def test_the_password_is_what_boto3_gets_from_the_same_server(moto, aws_env):
    value, expiry = aws_ecr.fetch(account(), docker_request(), aws_env)
    assert value == boto3_password(moto, "123456789012", "eu-west-1")
    # moto's expiresAt is in 2015: a past expiry is cached for one hour at most
    assert time.time() + 3500 < expiry <= time.time() + 3600


def test_role_arn_is_assumed_through_sts_first(moto, aws_env):
    before = moto.calls()
    value, _ = aws_ecr.fetch(account(role_arn="arn:aws:iam::210987654321:role/puller", region="eu-west-1"),
                             docker_request(), aws_env)
    assert value == boto3_password(moto, "123456789012", "eu-west-1")
    assert moto.calls() - before == 3  # AssumeRole, GetAuthorizationToken, and boto3's own call


def test_profile_from_the_shared_files_is_used(moto, aws_env, tmp_path: Path):
    Path(aws_env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[ci]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = secret\n")
    try:
        value, _ = aws_ecr.fetch(account(profile="ci"), docker_request(), aws_env)
        assert value == boto3_password(moto, "123456789012", "eu-west-1")
        with pytest.raises(SecretUnavailableError, match="profile"):
            aws_ecr.fetch(account(profile="absent"), docker_request(), aws_env)
    finally:
        Path(aws_env["AWS_SHARED_CREDENTIALS_FILE"]).unlink()


def test_no_credentials_is_one_line_without_a_traceback(moto, aws_env, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    with pytest.raises(SecretUnavailableError) as caught:
        aws_ecr.fetch(account(), docker_request(), aws_env)
    assert "credentials" in str(caught.value).lower() and "\n" not in str(caught.value)


def test_cache_key_separates_registries_and_identities():
    one = aws_ecr.cache_key(account(), docker_request())
    assert one != aws_ecr.cache_key(account(), docker_request("210987654321.dkr.ecr.eu-west-1.amazonaws.com"))
    assert one != aws_ecr.cache_key(account(profile="ci"), docker_request())
    assert one != aws_ecr.cache_key(account(role_arn="arn:aws:iam::1:role/r"), docker_request())
    assert one == aws_ecr.cache_key(account(), docker_request())


@pytest.mark.parametrize(("expires_at", "expected"), [(None, 3600), ("past", 3600), ("soon", 600), ("far", 3600)])
def test_expiry_is_expires_at_only_when_it_is_plausible(expires_at, expected):
    import datetime

    now = time.time()
    stamps = {None: None, "past": datetime.datetime(2015, 1, 1, tzinfo=datetime.timezone.utc),
              "soon": datetime.datetime.fromtimestamp(now + 600, datetime.timezone.utc),
              "far": datetime.datetime.fromtimestamp(now + 86400 * 30, datetime.timezone.utc)}
    assert aws_ecr.expiry_of(stamps[expires_at], now) == int(now) + expected


def test_an_account_whose_username_is_not_aws_is_told_to_use_it(moto, aws_env):
    with pytest.raises(SecretUnavailableError, match='set username = "AWS"'):
        aws_ecr.fetch(account(username="deploy"), docker_request(), aws_env)


def test_without_botocore_the_error_says_which_extra_to_install(monkeypatch):
    import sys

    for name in ("botocore", "botocore.config", "botocore.exceptions", "botocore.session"):
        monkeypatch.setitem(sys.modules, name, None)  # what an install without gatepass[aws] looks like
    with pytest.raises(SecretUnavailableError, match=r"pip install 'gatepass\[aws\]'"):
        aws_ecr.fetch(account(), docker_request(), {})
