"""Host keys for sealed secrets: where the X25519 private keys live, creating one once, loading them.

A key file holds the raw 32-byte X25519 private key, 0600, created once and never replaced
(``gatepass host-key --init``). Two keys are tried when a sealed value is opened, in this order:

* the host key: ``GATEPASS_HOST_KEY`` when set (containers, tests), else ``/etc/gatepass/host.key``
  (root's, for the host and global layers);
* the user key: ``$XDG_CONFIG_HOME/gatepass/host.key`` (one person's, for the user layer).

``--init`` writes the first for root or when ``GATEPASS_HOST_KEY`` is set, else the second.
Public keys travel as ``gatepass-pub:v1:<base64url of the 32 raw bytes>``. ``cryptography`` is
imported only inside the functions that need it, never by the helpers' hot path.
"""

from __future__ import annotations

import base64
import os
import stat

from gatepass.errors import GatepassError, SecretUnavailableError
from gatepass.paths import config_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

PUBLIC_PREFIX = "gatepass-pub:v1:"
SYSTEM_KEY = "/etc/gatepass/host.key"
KEY_BYTES = 32
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class HostKeyError(SecretUnavailableError):
    """A host key that exists but cannot be used: unreadable, too open or damaged."""


def b64encode(data: bytes) -> str:
    """Base64url without padding, as sealed values and public keys are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The inverse of :func:`b64encode`; ValueError on anything but base64url."""
    if not set(text) <= _B64URL:  # urlsafe_b64decode alone would skip stray characters
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def host_key_path(env: Mapping[str, str]) -> str:
    """The host's key: ``GATEPASS_HOST_KEY``, else ``/etc/gatepass/host.key``."""
    return env.get("GATEPASS_HOST_KEY") or SYSTEM_KEY


def user_key_path(env: Mapping[str, str]) -> str:
    """This user's own key, for sealed values in their user layer."""
    return os.path.join(config_dir(env), "host.key")


def key_paths(env: Mapping[str, str]) -> list[str]:
    """Every key a sealed value is tried with: the host key, then the user key."""
    paths = [host_key_path(env), user_key_path(env)]
    return paths if paths[0] != paths[1] else paths[:1]


def default_key_path(env: Mapping[str, str]) -> str:
    """Where ``host-key --init`` writes: GATEPASS_HOST_KEY, the host's key for root, else the user's."""
    if env.get("GATEPASS_HOST_KEY") or os.geteuid() == 0:
        return host_key_path(env)
    return user_key_path(env)


def public_key_text(raw: bytes) -> str:
    """The copy-paste form of a public key."""
    return PUBLIC_PREFIX + b64encode(raw)


def parse_public_key(text: str) -> bytes:
    """The 32 raw bytes of a ``gatepass-pub:v1:...`` public key; GatepassError saying what is wrong."""
    text = text.strip()
    if not text.startswith(PUBLIC_PREFIX):
        raise GatepassError(f"a public key starts with {PUBLIC_PREFIX}; get one with: gatepass host-key")
    try:
        raw = b64decode(text[len(PUBLIC_PREFIX):])
    except ValueError:
        raw = b""
    if len(raw) != KEY_BYTES:
        raise GatepassError("that public key is damaged; copy it again from: gatepass host-key")
    return raw


def key_id(public: bytes) -> bytes:
    """8 bytes naming a public key in a sealed value, so "another host" and "tampered" differ."""
    import hashlib

    return hashlib.sha256(b"gatepass key id\0" + public).digest()[:8]


def create_key(path: str) -> bytes:
    """Create a private key at ``path`` (0600 in a 0700 directory, never replacing one); its public key.

    Written to a temp file, fsynced, then hard-linked into place: the link fails if a key appeared
    meanwhile, and a crash never leaves a half-written key under the real name.
    """
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    directory = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(path):
        raise GatepassError(f"{path} exists already; gatepass never replaces a host key")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise GatepassError(f"cannot create {directory} ({exc.strerror})") from None
    key = X25519PrivateKey.generate()
    from gatepass.stores.files import create_new

    try:
        create_new(path, key.private_bytes_raw())
    except FileExistsError:
        raise GatepassError(f"{path} exists already; gatepass never replaces a host key") from None
    except OSError as exc:
        raise GatepassError(f"cannot write {path} ({exc.strerror})") from None
    _fsync_dir(directory)
    return key.public_key().public_bytes_raw()


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_private(path: str) -> X25519PrivateKey:
    """The private key at ``path``; FileNotFoundError when absent, HostKeyError when unusable.

    Like ssh with a private key, a key file that others may read or write is refused.
    """
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except PermissionError:
        raise HostKeyError(f"host key {path} is not readable by this user; run as its owner") from None
    try:
        st = os.fstat(fd)
        raw = os.read(fd, KEY_BYTES + 1) if stat.S_ISREG(st.st_mode) else b""
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        raise HostKeyError(f"host key {path} is not a regular file")
    if st.st_mode & 0o077:
        raise HostKeyError(f"host key {path} is open to other users; run: chmod 600 {path}")
    if len(raw) != KEY_BYTES:
        raise HostKeyError(f"host key {path} is damaged (not {KEY_BYTES} bytes); restore it from a backup")
    return X25519PrivateKey.from_private_bytes(raw)


def public_of(path: str) -> bytes:
    """The raw public key of the private key at ``path``."""
    return load_private(path).public_key().public_bytes_raw()
