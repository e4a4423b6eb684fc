"""An encrypted-file secret backend for hosts without a desktop keyring (AES-256-GCM, ``cryptography``).

File ``$XDG_DATA_HOME/gatepass/secrets.enc`` (0600 in a 0700 directory)::

    b"GPEF" | version 1 | kdf (0 machine key, 1 scrypt) | salt (16) | nonce (12) | AES-256-GCM ciphertext

The first 34 bytes are the GCM associated data, so the header is authenticated with the content.
The plaintext is one ``records`` line per secret: service, username, secret. The key is either
a random 32-byte machine key, ``$XDG_CONFIG_HOME/gatepass/machine.key`` (0600, created on first
use, kept apart from the file it opens), or scrypt (n=2**14, r=8, p=1, once per process, not
cached) over a passphrase from ``GATEPASS_STORE_PASSPHRASE``, ``[store] passphrase_env`` or
``[store] passphrase_file`` (0600), or a 32-byte key the caller passes. A wrong passphrase or a
tampered file is a clear error and the file is left as it was. Every write is a locked
read-modify-write, fsynced and renamed.

Cost: scrypt at n=2**14 takes CPU time (the README's Speed table) and 16 MiB each time a process opens a
passphrase file (derived once per backend object, then cached in it); a machine key costs one
32-byte read. That is the price of a passphrase on every helper call; n=2**15 doubles it.

What the machine key protects against: backups, copies and disk images of the data directory
taken without the config directory, and other users (both files are 0600). What it does not:
anyone who can read your files as you (or root) has both the key and the file, exactly as with
git's own ``store`` helper; use a passphrase or the desktop keyring against that.
"""

from __future__ import annotations

import os
import stat

from gatepass.errors import StoreUnavailableError
from gatepass.files import Lock, create_new, private_dir, remove_stale_temps, write_atomic
from gatepass.ownership import file_problem
from gatepass.paths import config_dir, data_dir
from gatepass.readback import read_private
from gatepass.stores import Backend, records

MAGIC, VERSION = b"GPEF", 1
MAX_FILE_BYTES = 256 * 1024 * 1024
KDF_MACHINE, KDF_SCRYPT = 0, 1
HEADER_LEN = 4 + 1 + 1 + 16 + 12

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


class EncryptedFileBackend(Backend):
    name = "encrypted-file"

    def __init__(self, path: str, *, key_file: str | None = None, passphrase: str | None = None,
                 key: bytes | None = None) -> None:
        """Exactly one of ``key_file`` (a machine key, created on first write), ``passphrase`` or ``key`` (32 bytes)."""
        if sum(x is not None for x in (key_file, passphrase, key)) != 1:
            raise ValueError("give exactly one of key_file, passphrase, key")
        if key is not None and len(key) != 32:
            raise ValueError("key must be 32 bytes")
        self.path, self.key_file, self.passphrase, self.key = path, key_file, passphrase, key
        self._derived: dict[bytes, bytes] = {}  # salt -> scrypt key: one derivation per process

    # -- keys --------------------------------------------------------------------------------
    @staticmethod
    def _machine_key(key_file: str, create: bool) -> bytes | None:
        """The 32-byte key in ``key_file`` (None if absent and not ``create``); checked on the descriptor:
        a regular 0600 file (a FIFO there is refused before any read, not waited on)."""
        try:
            fd = os.open(key_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        except FileNotFoundError:
            if not create:
                return None
            return EncryptedFileBackend._create_machine_key(key_file)
        except OSError as exc:
            raise StoreUnavailableError(f"cannot read machine key {key_file} ({exc.strerror})") from None
        try:
            st = os.fstat(fd)
            why = file_problem(st, 64)  # a FIFO, another user's file, one others can write
            if why:
                raise StoreUnavailableError(f"machine key {key_file} {why}; restore it from backup")
            if stat.S_IMODE(st.st_mode) & 0o077:
                raise StoreUnavailableError(f"machine key {key_file} is readable by others; "
                                            f"run: chmod 600 {key_file}")
            key = os.read(fd, 64)
        finally:
            os.close(fd)
        if len(key) != 32:
            raise StoreUnavailableError(f"machine key {key_file} is not 32 bytes; restore it from backup")
        return key

    @staticmethod
    def _create_machine_key(key_file: str) -> bytes:
        """Write a new key beside its final name, then link it there: a crash leaves no key or a whole one,
        and of two racing first writers exactly one key wins (the loser reads it)."""
        private_dir(os.path.dirname(key_file), StoreUnavailableError)
        key = os.urandom(32)
        try:
            create_new(key_file, key)
        except FileExistsError:
            existing = EncryptedFileBackend._machine_key(key_file, create=False)
            if existing is None:
                raise StoreUnavailableError(f"machine key {key_file} vanished while it was created; try again") from None
            key = existing
        except OSError as exc:
            raise StoreUnavailableError(f"cannot create machine key {key_file} ({exc.strerror})") from None
        return key

    def _key(self, kdf: int, salt: bytes, create: bool) -> bytes:
        if kdf == KDF_SCRYPT:
            if self.passphrase is None:
                raise StoreUnavailableError(f"{self.path} is passphrase-protected; set GATEPASS_STORE_PASSPHRASE "
                                            "or [store] passphrase_file")
            if salt not in self._derived:
                from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

                self._derived[salt] = Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(
                    self.passphrase.encode("utf-8"))
            return self._derived[salt]
        if self.key is not None:
            return self.key
        if self.key_file is None:
            raise StoreUnavailableError(f"{self.path} was written with a machine key, but a passphrase is configured")
        key = self._machine_key(self.key_file, create)
        if key is None:
            raise StoreUnavailableError(f"machine key {self.key_file} is missing, so {self.path} cannot be opened")
        return key

    # -- the file ----------------------------------------------------------------------------
    def _load(self) -> tuple[dict[tuple[str, str], str], int, bytes]:
        """(secrets, kdf, salt); an absent file is empty."""
        blob = read_private(self.path, MAX_FILE_BYTES, StoreUnavailableError)  # a FIFO never blocks
        if blob is None:
            return {}, (KDF_SCRYPT if self.passphrase is not None else KDF_MACHINE), os.urandom(16)
        if len(blob) < HEADER_LEN + 16 or blob[:4] != MAGIC:
            raise StoreUnavailableError(f"{self.path} is not a gatepass encrypted file; move it aside")
        if blob[4] != VERSION:
            raise StoreUnavailableError(f"{self.path} has format version {blob[4]}; upgrade gatepass")
        kdf, salt, nonce = blob[5], blob[6:22], blob[22:HEADER_LEN]
        if kdf not in (KDF_MACHINE, KDF_SCRYPT):
            raise StoreUnavailableError(f"{self.path} is damaged (unknown key type); it was left untouched")
        key = self._key(kdf, salt, create=False)
        from gatepass.stores.aead import aesgcm, is_invalid_tag

        try:
            plain = aesgcm()(key).decrypt(nonce, blob[HEADER_LEN:], blob[:HEADER_LEN])
        except Exception as exc:
            if not is_invalid_tag(exc):
                raise
            raise StoreUnavailableError(f"{self.path} cannot be decrypted: wrong passphrase or key, or the file "
                                        "was tampered with; it was left untouched") from None
        secrets: dict[tuple[str, str], str] = {}
        for line in plain.decode("utf-8", "surrogatepass").split("\n"):
            if line:
                service, username, secret = records.split(line)
                secrets[(service, username)] = secret
        return secrets, kdf, salt

    def _save(self, secrets: dict[tuple[str, str], str], kdf: int, salt: bytes) -> None:
        from gatepass.stores.aead import aesgcm

        key = self._key(kdf, salt, create=True)
        remove_stale_temps(self.path)  # callers hold the lock
        header = MAGIC + bytes([VERSION, kdf]) + salt + os.urandom(12)
        # surrogatepass: any Python str round-trips, even a lone surrogate from docker's JSON.
        plain = "".join(records.join([s, u, v]) + "\n" for (s, u), v in secrets.items()).encode("utf-8", "surrogatepass")
        write_atomic(self.path, header + aesgcm()(key).encrypt(header[-12:], plain, header),
                     error=StoreUnavailableError)

    # -- Backend -----------------------------------------------------------------------------
    def get(self, service: str, username: str) -> str | None:
        return self._load()[0].get((service, username))

    def _warm(self) -> None:
        """Pay the CPU a write needs before taking the lock: the AES-GCM import and a passphrase's
        scrypt (once per process, and slower under load). Inside the lock that time
        would hold back every parallel writer. A file replaced meanwhile with a new salt is derived
        again under the lock, as before."""
        from gatepass.stores.aead import aesgcm

        aesgcm()
        if self.passphrase is None:
            return
        blob = read_private(self.path, MAX_FILE_BYTES, StoreUnavailableError)
        if blob is not None and len(blob) >= HEADER_LEN and blob[:4] == MAGIC and blob[5] == KDF_SCRYPT:
            self._key(KDF_SCRYPT, blob[6:22], create=False)

    def set(self, service: str, username: str, secret: str) -> None:
        self._warm()
        with Lock(self.path + ".lock", error=StoreUnavailableError, guards=self.path):
            secrets, kdf, salt = self._load()
            secrets[(service, username)] = secret
            self._save(secrets, kdf, salt)

    def delete(self, service: str, username: str) -> bool:
        self._warm()
        with Lock(self.path + ".lock", error=StoreUnavailableError, guards=self.path):
            secrets, kdf, salt = self._load()
            if secrets.pop((service, username), None) is None:
                return False
            self._save(secrets, kdf, salt)
            return True

    def items(self) -> list[tuple[str, str]]:
        """(service, username) of every secret, for keyring's credential listing; never the secrets."""
        return list(self._load()[0])


def _passphrase(env: Mapping[str, str], settings: Mapping[str, object]) -> str | None:
    if env.get("GATEPASS_STORE_PASSPHRASE"):
        return env["GATEPASS_STORE_PASSPHRASE"]
    if settings.get("passphrase_env"):
        value = env.get(str(settings["passphrase_env"]))
        if not value:
            raise StoreUnavailableError("the variable [store] passphrase_env names is not set; export it")
        return value
    if settings.get("passphrase_file"):
        return _read_passphrase_file(str(settings["passphrase_file"]))
    return None


def _read_passphrase_file(path: str) -> str:
    """The first line of ``path``, which must be a regular file nobody else can read. Opened
    non-blocking and checked on the descriptor before any read: a FIFO (or a device) there is
    refused at once instead of hanging the helper until someone writes to it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        # Not named: a passphrase pasted into passphrase_file by mistake must not be echoed.
        raise StoreUnavailableError(f"cannot read the [store] passphrase_file ({exc.strerror}); check its path") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise StoreUnavailableError(f"passphrase file {path} is not a regular file (a FIFO or device?); "
                                        "point [store] passphrase_file at a 0600 file")
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise StoreUnavailableError(f"passphrase file {path} is readable by others; run: chmod 600 {path}")
        data = os.read(fd, 4096)
    except OSError as exc:
        raise StoreUnavailableError(f"cannot read passphrase file {path} ({exc.strerror})") from None
    finally:
        os.close(fd)
    try:
        return data.split(b"\n", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        raise StoreUnavailableError(f"passphrase file {path} is not UTF-8 text") from None


def from_settings(env: Mapping[str, str], settings: Mapping[str, object]) -> EncryptedFileBackend:
    path = os.path.join(data_dir(env), "secrets.enc")
    passphrase = _passphrase(env, settings)
    key_file = None if passphrase is not None else os.path.join(config_dir(env), "machine.key")
    return EncryptedFileBackend(path, key_file=key_file, passphrase=passphrase)
