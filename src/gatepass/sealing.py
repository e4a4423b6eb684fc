"""Sealed secrets: a token encrypted to one or more hosts' X25519 keys and bound to one account.

A config in any layer may carry ``token = "gatepass:sealed:v1:<base64url>"``; only a host holding
one of the recipients' private keys (``gatepass.hostkey``) opens it, and only for the account it
was sealed for. The base64url text (no padding) decodes to::

    account length (2, big endian) | account: "kind NUL host[:port] NUL username" (UTF-8) |
    count (1, 1..255) | count x [key id (8) | ephemeral public key (32) | wrapped key (32 + 16)] |
    nonce (12) | ChaCha20-Poly1305 ciphertext of the token (+ 16-byte tag)

Everything before the nonce is the header. A random 32-byte content key encrypts the token, with
the prefix ``gatepass:sealed:v1:`` and the header as associated data, so no byte of the value
(account, recipients, key ids) can change unnoticed. For each recipient a fresh ephemeral X25519
key agrees a secret with the recipient's public key; HKDF-SHA256 (salt: ephemeral then recipient
public key, info ``gatepass sealed v1 key wrap``) turns it into the key that wraps the content
key (ChaCha20-Poly1305, zero nonce: every wrapping key is used once, recipient public key as
associated data). The key id (``hostkey.key_id``) only tells "sealed for another host" from
"tampered"; every entry is tried whatever its id says. The account is written in clear (it sits
beside the value in the config anyway) and compared after decryption, so a value copied onto
another account fails, saying which account it belongs to. The host is normalised as the config
normalises ``domain`` (``gatepass.hosts``). A new format gets a new prefix (``v2``).

``cryptography`` is imported inside the functions only, when a value is made or opened.
"""

from __future__ import annotations

import os

from gatepass.errors import GatepassError, SecretUnavailableError
from gatepass.hostkey import (  # re-exported: the seal command and tests take them from here
    HostKeyError,
    b64decode,
    b64encode,
    create_key,
    default_key_path,
    key_id,
    key_paths,
    parse_public_key,
    public_key_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

__all__ = ["PREFIX", "SealError", "binding", "create_key", "default_key_path", "key_paths", "open_sealed",
           "parse_public_key", "public_key_text", "seal"]

PREFIX = "gatepass:sealed:v1:"
_INFO = b"gatepass sealed v1 key wrap"
_ZERO_NONCE = b"\0" * 12
_ENTRY = 8 + 32 + 48
_MAX_RECIPIENTS = 255

ANOTHER_HOST = "sealed for another host"
ANOTHER_ACCOUNT = "sealed for a different account"
TAMPERED = "tampered or corrupt sealed value; seal the token again"
NO_KEY = "no host key: run gatepass host-key --init"


class SealError(SecretUnavailableError):
    """A sealed value that cannot be opened here; the message says why, never the value."""


def binding(kind: str, host: str, port: int | None, username: str) -> bytes:
    """The account a value is sealed for, as the header carries it (host and port normalised)."""
    where = host if port is None else f"{host}:{port}"
    return f"{kind}\0{where}\0{username}".encode()


def _describe(account: bytes) -> str:
    kind, _, rest = account.decode("utf-8", "replace").partition("\0")
    where, _, username = rest.partition("\0")
    text = f"{kind} {where} user {username}"
    return "".join(c if c.isprintable() else "?" for c in text)


def _kek(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=_INFO).derive(shared)


def seal(token: str, recipients: list[bytes], account: bytes) -> str:
    """``token`` sealed to each raw X25519 public key in ``recipients``, for ``account`` (see :func:`binding`)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    unique = list(dict.fromkeys(recipients))
    if not 0 < len(unique) <= _MAX_RECIPIENTS:
        raise GatepassError(f"seal to between 1 and {_MAX_RECIPIENTS} host keys")
    if len(account) > 0xFFFF:
        raise GatepassError("the domain and username are too long to seal for")
    content_key = ChaCha20Poly1305.generate_key()
    header = bytearray(len(account).to_bytes(2, "big") + account + bytes([len(unique)]))
    for recipient in unique:
        eph = X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes_raw()
        try:
            shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient))
        except ValueError:  # a low-order point: no key agreement is possible with it
            raise GatepassError("a public key given with --to is not usable; copy it again from: gatepass host-key") from None
        wrapped = ChaCha20Poly1305(_kek(shared, eph_pub, recipient)).encrypt(_ZERO_NONCE, content_key, recipient)
        header += key_id(recipient) + eph_pub + wrapped
    nonce = os.urandom(12)
    body = ChaCha20Poly1305(content_key).encrypt(nonce, token.encode("utf-8"), PREFIX.encode() + bytes(header))
    return PREFIX + b64encode(bytes(header) + nonce + body)


def _parse(value: str) -> tuple[bytes, bytes, list[bytes], bytes, bytes]:
    """(header, account, entries, nonce, ciphertext); SealError when it does not parse."""
    try:
        if not value.startswith(PREFIX):
            raise ValueError
        blob = b64decode(value[len(PREFIX):])
        size = int.from_bytes(blob[:2], "big")
        account, count = blob[2:2 + size], blob[2 + size]
        start = 3 + size
        entries = [blob[start + i * _ENTRY: start + (i + 1) * _ENTRY] for i in range(count)]
        end = start + count * _ENTRY
        if len(account) != size or not count or len(blob) < end + 12 + 16:
            raise ValueError
    except (ValueError, IndexError):
        raise SealError(TAMPERED) from None
    return blob[:end], account, entries, blob[end:end + 12], blob[end + 12:]


def _load_keys(paths: list[str]) -> tuple[list[X25519PrivateKey], list[str]]:
    from gatepass.hostkey import load_private

    keys: list[X25519PrivateKey] = []
    problems: list[str] = []
    for path in paths:
        try:
            keys.append(load_private(path))
        except FileNotFoundError:
            continue
        except HostKeyError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"host key {path} cannot be read ({exc.strerror})")
    return keys, problems


def _unwrap(keys: list[X25519PrivateKey], entries: list[bytes]) -> tuple[bytes | None, bool]:
    """(content key or None, whether any entry names one of ``keys``)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    named = False
    for key in keys:
        mine = key.public_key().public_bytes_raw()
        mine_id = key_id(mine)
        for entry in entries:
            named = named or entry[:8] == mine_id
            eph_pub, wrapped = entry[8:40], entry[40:]
            try:
                kek = _kek(key.exchange(X25519PublicKey.from_public_bytes(eph_pub)), eph_pub, mine)
                return ChaCha20Poly1305(kek).decrypt(_ZERO_NONCE, wrapped, mine), True
            except (InvalidTag, ValueError):  # not ours, damaged, or a low-order point
                continue
    return None, named


def open_sealed(value: str, kind: str, host: str, port: int | None, username: str, paths: list[str]) -> str:
    """The token sealed in ``value`` for this account, opened with the first of ``paths`` that can.

    SealError otherwise: no host key, sealed for another host, sealed for a different account,
    or tampered/corrupt. The message never carries the value or the token.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    header, account, entries, nonce, body = _parse(value)
    keys, problems = _load_keys(paths)
    also = "".join(f"; {problem}" for problem in problems)
    if not keys:
        raise SealError(problems[0] if problems else f"{NO_KEY} (looked for {', '.join(paths)})")
    content_key, named = _unwrap(keys, entries)
    if content_key is None:
        if named:  # an entry names a key of ours, yet it does not open: changed since it was sealed
            raise SealError(TAMPERED)
        theirs = ", ".join(entry[:8].hex() for entry in entries)
        ours = ", ".join(key_id(key.public_key().public_bytes_raw()).hex() for key in keys)
        raise SealError(f"{ANOTHER_HOST}: it opens only with key id {theirs}; this host has {ours}{also}")
    try:
        token = ChaCha20Poly1305(content_key).decrypt(nonce, body, PREFIX.encode() + header).decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise SealError(TAMPERED) from None
    if account != binding(kind, host, port, username):
        raise SealError(f"{ANOTHER_ACCOUNT}: it is for {_describe(account)}; seal the token for this account")
    return token
