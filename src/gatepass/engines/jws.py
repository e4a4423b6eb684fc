"""RS256 JSON Web Tokens that engines sign (RFC 7515 compact serialization, RFC 7518 ``RS256``).

``cryptography`` signs (RSASSA-PKCS1-v1_5 with SHA-256); ``json`` writes the header and claims.
Imported only on a cache miss. Nothing here reads a JWT: gatepass signs its own and lets the
server that receives one (GitHub, Google, Vault) judge any other.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2).

    >>> b64url(b"\\xfb\\xff")
    '-_8'
    """
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rsa_private_key(pem: bytes) -> object | None:
    """The RSA private key of an unencrypted PEM (PKCS#1 or PKCS#8), or None when it holds none."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


def sign_rs256(claims: Mapping[str, object], key: object, header: Mapping[str, object] | None = None) -> str:
    """``header.claims.signature`` with ``alg`` RS256 and ``typ`` JWT (plus ``header``'s entries)."""
    import json

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    assert isinstance(key, rsa.RSAPrivateKey)
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", **(header or {})}, separators=(",", ":")).encode())
    body = b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64url(key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))}"
