"""Sealed secrets: a token encrypted to one or more hosts' X25519 keys, bound to its account.

A per-host config can then carry ``token = "gatepass:sealed:v1:..."`` that only a host holding a
matching private key can open. Format (base64url, no padding, after the prefix)::

    count (1 byte) | count x [ephemeral public key (32) | wrapped content key (32 + 16)] |
    nonce (12) | ChaCha20-Poly1305 ciphertext of the token (+16)

Each recipient gets its own ephemeral X25519 exchange; HKDF-SHA256 over the shared secret (salt:
ephemeral and recipient public keys) gives the key that wraps the random content key. The token
is authenticated together with kind, host[:port] and username, so a sealed value copied onto
another account does not open. Host keys: ``GATEPASS_HOST_KEY`` names the private key file; else
``/etc/gatepass/host.key`` (the host's, for root-provisioned layers) and
``$XDG_CONFIG_HOME/gatepass/host.key`` (the user's) are both tried. ``cryptography`` is imported
only here, only when a sealed value is opened or made.
"""

from __future__ import annotations

import base64
import os

from gatepass.errors import GatepassError
from gatepass.paths import config_dir

PREFIX = "gatepass:sealed:v1:"
PUBLIC_PREFIX = "gatepass-pub:v1:"
SYSTEM_KEY = "/etc/gatepass/host.key"
_INFO = b"gatepass sealed v1 key wrap"
_ENTRY = 32 + 48


class SealError(GatepassError):
    """A sealed value that cannot be opened here; the message says why, never the value."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def binding(kind: str, host: str, port: int | None, username: str) -> bytes:
    """What a sealed token is authenticated with: the account it is meant for."""
    where = host if port is None else f"{host}:{port}"
    return f"gatepass:sealed:v1\0{kind}\0{where}\0{username}".encode()


def key_paths(env) -> list[str]:  # type: ignore[no-untyped-def]
    if env.get("GATEPASS_HOST_KEY"):
        return [env["GATEPASS_HOST_KEY"]]
    return [SYSTEM_KEY, os.path.join(config_dir(env), "host.key")]


def default_key_path(env) -> str:  # type: ignore[no-untyped-def]
    """Where ``host-key --init`` writes: GATEPASS_HOST_KEY, the host's key for root, else the user's."""
    paths = key_paths(env)
    return paths[0] if env.get("GATEPASS_HOST_KEY") or os.geteuid() == 0 else paths[-1]


def public_key_text(raw: bytes) -> str:
    return PUBLIC_PREFIX + _b64encode(raw)


def parse_public_key(text: str) -> bytes:
    if not text.startswith(PUBLIC_PREFIX):
        raise GatepassError(f"a public key starts with {PUBLIC_PREFIX}; get one with: gatepass host-key")
    try:
        raw = _b64decode(text[len(PUBLIC_PREFIX):])
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise GatepassError("that public key is damaged; copy it again from: gatepass host-key")
    return raw


def create_key(path: str) -> bytes:
    """Create a private key at ``path`` (0600, never overwriting); returns its public key."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    key = X25519PrivateKey.generate()
    raw = key.private_bytes_raw()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise GatepassError(f"{path} exists already; gatepass never replaces a host key") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    return key.public_key().public_bytes_raw()


def load_private(path: str):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    with open(path, "rb") as handle:
        raw = handle.read(64)
    if len(raw) != 32:
        raise SealError(f"host key {path} is damaged (not 32 bytes)")
    return X25519PrivateKey.from_private_bytes(raw)


def _kek(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=_INFO).derive(shared)


def seal(token: str, recipients: list[bytes], aad: bytes) -> str:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if not recipients or len(recipients) > 255:
        raise GatepassError("seal to between 1 and 255 host keys")
    content_key = ChaCha20Poly1305.generate_key()
    out = bytearray([len(recipients)])
    for recipient in recipients:
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes_raw()
        kek = _kek(eph.exchange(X25519PublicKey.from_public_bytes(recipient)), eph_pub, recipient)
        out += eph_pub + ChaCha20Poly1305(kek).encrypt(b"\0" * 12, content_key, recipient)
    nonce = os.urandom(12)
    out += nonce + ChaCha20Poly1305(content_key).encrypt(nonce, token.encode("utf-8"), aad)
    return PREFIX + _b64encode(bytes(out))


def open_sealed(value: str, aad: bytes, paths: list[str]) -> str:
    """The token, or a SealError: no host key, sealed for another host, another account, or damaged."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    try:
        blob = _b64decode(value[len(PREFIX):])
        count = blob[0]
        entries = [blob[1 + i * _ENTRY: 1 + (i + 1) * _ENTRY] for i in range(count)]
        rest = blob[1 + count * _ENTRY:]
        if not count or len(entries[-1]) != _ENTRY or len(rest) < 12 + 16:
            raise ValueError
    except (ValueError, IndexError):
        raise SealError("the sealed value is damaged or truncated; seal the token again") from None
    keys = []
    for path in paths:
        try:
            keys.append(load_private(path))
        except (FileNotFoundError, PermissionError):
            continue
    if not keys:
        raise SealError("no host key to open a sealed token; run: gatepass host-key --init")
    content_key = None
    for key in keys:
        mine = key.public_key().public_bytes_raw()
        for entry in entries:
            eph_pub, wrapped = entry[:32], entry[32:]
            kek = _kek(key.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, mine)
            try:
                content_key = ChaCha20Poly1305(kek).decrypt(b"\0" * 12, wrapped, mine)
                break
            except InvalidTag:
                continue
        if content_key is not None:
            break
    if content_key is None:
        raise SealError("sealed for another host: no local host key opens it")
    try:
        return ChaCha20Poly1305(content_key).decrypt(rest[:12], rest[12:], aad).decode("utf-8")
    except InvalidTag:
        raise SealError("sealed for a different account (domain or username), or tampered with") from None
