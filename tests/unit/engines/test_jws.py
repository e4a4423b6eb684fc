"""Known answers for the JWTs gatepass signs (tests/fixtures/jws), checked again with PyJWT.

RSASSA-PKCS1-v1_5 is deterministic, so the same key, claims and time give the same bytes: a change
to the header, the claims' order or the encoding breaks these tests before it reaches a server.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization

from gatepass.engines import gcp_service_account, github_app, jws

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jws"
NOW = 1_800_000_000


def fixture_key(tmp_path: Path) -> Path:
    path = tmp_path / "service-account.json"
    shutil.copy(FIXTURES / "service-account.json", path)
    path.chmod(0o600)  # a key file must be private; git keeps no modes
    return path


def public_pem() -> bytes:
    private = json.loads((FIXTURES / "service-account.json").read_text())["private_key"].encode()
    key = serialization.load_pem_private_key(private, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_the_service_account_assertion_is_the_known_answer_and_pyjwt_reads_it(tmp_path):
    key = gcp_service_account.read_key(str(fixture_key(tmp_path)))
    signed = gcp_service_account.assertion(key, NOW)
    assert signed == (FIXTURES / "service-account.assertion").read_text().strip()
    header = pyjwt.get_unverified_header(signed)
    claims = pyjwt.decode(signed, public_pem(), algorithms=["RS256"], audience="https://oauth2.googleapis.com/token",
                          options={"verify_exp": False, "verify_iat": False})
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "0123456789abcdef0123456789abcdef01234567"}
    assert claims == {"iss": "fixture@gatepass-fixture.iam.gserviceaccount.com",
                      "scope": "https://www.googleapis.com/auth/cloud-platform",
                      "aud": "https://oauth2.googleapis.com/token", "iat": NOW, "exp": NOW + 3600}


def test_the_github_app_jwt_is_the_known_answer_and_pyjwt_reads_it():
    pem = json.loads((FIXTURES / "service-account.json").read_text())["private_key"].encode()
    signed = github_app.app_jwt("123456", pem, "app.pem", NOW)
    assert signed == (FIXTURES / "app.jwt").read_text().strip()
    claims = pyjwt.decode(signed, public_pem(), algorithms=["RS256"], issuer="123456",
                          options={"verify_exp": False, "verify_iat": False})
    assert claims == {"iat": NOW - 60, "exp": NOW + 540, "iss": "123456"}


def test_b64url_has_no_padding_and_the_url_alphabet():
    assert [jws.b64url(data) for data in (b"", b"f", b"fo", b"foo", b"\xfb\xff")] == ["", "Zg", "Zm8", "Zm9v", "-_8"]
