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


def read_key_file(path: str, limit: int, setting: str, holds: str) -> bytes:
    """The bytes of the signing key ``path`` names (``setting``: the config key that names it), refused
    unless it is a private regular file of root's or the user's, with one line saying which rule broke.
    ``holds`` says what the file should hold (for the size rule)."""
    from gatepass.errors import SecretUnavailableError
    from gatepass.readback import UnreadableFile, read_user_file

    try:
        return read_user_file(path, limit, private=True)
    except UnreadableFile as exc:
        why = {"open": f"cannot be opened ({exc.strerror})", "type": "is not a regular file",
               "owner": f"belongs to another user (uid {exc.uid}); it must belong to root or to you",
               "mode": f"is open to other users; run: chmod 600 {path}",
               "size": f"is larger than {limit // 1024} KiB; it should hold {holds}",
               "read": f"cannot be read ({exc.strerror})"}[exc.rule]
        raise SecretUnavailableError(f"{setting} {path} {why}") from None


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
