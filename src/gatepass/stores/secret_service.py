"""The Secret Service (freedesktop.org) over D-Bus, writing ordinary keyring items.

Items are the ones keyring's own ``keyring.backends.SecretService.Keyring`` writes: in the
collection behind the ``default`` alias, attributes ``service``, ``username`` and ``application
= "Python keyring library"``, label ``Password for 'USER' on 'SERVICE'``, content type
``text/plain``; lookups search that collection by ``service`` and ``username`` as keyring does.
So ``keyring get SERVICE USER`` and ``secret-tool lookup service S username U`` see what
gatepass stored, and the other way round.

keyring's backend opens a new connection and a DH session on every call (~190 ms per fresh
process) and jeepney alone costs ~20 ms to import; this speaks D-Bus through ``stores/dbus.py``
(the socket module only), one connection per backend, and a ``plain`` session. secretstorage and
libsecret negotiate ``dh-ietf1024-sha256-aes128-cbc-pkcs7`` first; that encryption only hides
the secret from processes that can already read the session bus, and the default bus policy
admits only the same user, who can ask the Secret Service for the secret anyway.

Every call has a timeout. The default collection is checked for ``Locked`` before any search,
so a locked keyring (or a missing one, or no bus, or no service, or a timeout) is a
``StoreUnavailableError`` naming the fix, never a hang and never "not found". Helpers never
prompt to unlock.
"""

from __future__ import annotations

import os

from gatepass.errors import InvalidRequestError, StoreUnavailableError
from gatepass.stores import Backend

BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE_IFACE = "org.freedesktop.Secret.Service"
COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
ITEM_IFACE = "org.freedesktop.Secret.Item"
APPLICATION = "Python keyring library"  # keyring.backends.SecretService.Keyring.appid
CONTENT_TYPE = "text/plain"  # secretstorage's default, which keyring uses
PROBE_TIMEOUT = 0.5
USE_FILE = 'or use [store] backend = "encrypted-file"'

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def _fail(why: str) -> StoreUnavailableError:
    return StoreUnavailableError(f"Secret Service: {why}")


def _user(uid: int) -> str:
    """``uid 1001 (alice)``, for messages about another user's bus or service."""
    import pwd

    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def probe(env: Mapping[str, str], timeout: float = PROBE_TIMEOUT) -> SecretServiceBackend | None:
    """A connected backend when a Secret Service is usable now, else None: a session bus answers within
    ``timeout`` per call, ``org.freedesktop.secrets`` runs (or is D-Bus-activatable and starts in time),
    and its default collection exists and is unlocked. This is ``auto``'s test: a desktop keyring that is
    locked (an ssh session, an auto-login desktop) or has no default collection (a server where
    gnome-keyring is merely installed) sends ``store`` to the encrypted file instead of failing.
    The caller sets ``timeout`` back to its own for real calls."""
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return None
    try:
        backend = SecretServiceBackend(env, timeout)
    except StoreUnavailableError:
        return None
    try:
        if backend.has_service():
            backend.check()
            return backend
    except StoreUnavailableError:
        pass
    backend.close()
    return None


def available(env: Mapping[str, str], timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether ``probe`` finds a usable Secret Service (``auto`` would pick it)."""
    backend = probe(env, timeout)
    if backend is None:
        return False
    backend.close()
    return True


class SecretServiceBackend(Backend):
    name = "secret-service"

    def __init__(self, env: Mapping[str, str], timeout: float = 5.0) -> None:
        address = env.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            raise _fail(f"no session bus (DBUS_SESSION_BUS_ADDRESS is unset); start one, {USE_FILE} on a headless host")
        from gatepass.stores.dbus import Connection, ForeignBusError

        try:
            self.conn = Connection(address, timeout)
        except ForeignBusError as exc:
            raise _fail(f"the session bus at {address} is run by {_user(exc.uid)}, not by you; refusing to send it "
                        f"secrets (is DBUS_SESSION_BUS_ADDRESS from another login?); {USE_FILE}") from None
        except TimeoutError:
            raise _fail(f"the session bus did not complete the handshake within {timeout:g}s; {USE_FILE}") from None
        except Exception as exc:  # socket errors, a refused or garbled bus: all "cannot connect"
            raise _fail(f"cannot connect to the session bus ({type(exc).__name__}); is dbus running? {USE_FILE}") from None
        self._session: str | None = None
        self._collection_path: str | None = None

    @property
    def timeout(self) -> float:
        return self.conn.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.conn.timeout = seconds

    def close(self) -> None:
        self.conn.close()

    # -- plumbing ----------------------------------------------------------------------------
    def _call(self, path: str, iface: str, method: str, signature: str = "", body: tuple[Any, ...] = (),
              dest: str = BUS_NAME) -> tuple[Any, ...]:
        from gatepass.stores.dbus import PROTOCOL_ERROR, DBusError

        try:
            return self.conn.call(dest, path, iface, method, signature, body)
        except UnicodeEncodeError:  # raised while marshaling, before anything was sent
            raise InvalidRequestError("the Secret Service stores only valid Unicode text; a name or secret "
                                      "holds a lone surrogate") from None
        except TimeoutError:
            raise _fail(f"{method} did not answer within {self.timeout:g}s; is the keyring daemon hung? "
                        f"{USE_FILE}") from None
        except DBusError as exc:
            if exc.name == PROTOCOL_ERROR:
                raise _fail(f"the bus sent a malformed reply to {method} ({exc}); {USE_FILE}") from None
            if exc.name == "org.freedesktop.Secret.Error.IsLocked":
                raise _fail(f"the keyring is locked; unlock it (log in to the desktop), {USE_FILE}") from None
            raise _fail(f"{method} failed ({exc.name}); is a keyring daemon (e.g. gnome-keyring) running? "
                        f"{USE_FILE}") from None
        except OSError as exc:
            raise _fail(f"the bus connection failed during {method} ({exc.strerror or type(exc).__name__})") from None

    def has_service(self) -> bool:
        names = self._call("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s", (BUS_NAME,),
                           dest="org.freedesktop.DBus")
        if names[0]:
            return True
        activatable = self._call("/org/freedesktop/DBus", "org.freedesktop.DBus", "ListActivatableNames",
                                 dest="org.freedesktop.DBus")
        return BUS_NAME in activatable[0]

    def check(self) -> None:
        """Raise StoreUnavailableError (naming the fix) unless the default collection exists and is unlocked."""
        self._collection()

    def _check_owner(self) -> None:
        """The process owning ``org.freedesktop.secrets`` must be ours or root's, like the bus itself: a
        permissive bus (a system bus named as the session bus) could let another user own the name."""
        uid = self._call("/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser", "s", (BUS_NAME,),
                         dest="org.freedesktop.DBus")[0]
        if uid not in (os.geteuid(), 0):
            raise _fail(f"{BUS_NAME} on this bus is run by {_user(uid)}, not by you; refusing to send it secrets, "
                        + USE_FILE)

    def _session_path(self) -> str:
        if self._session is None:
            self._session = str(self._call(SERVICE_PATH, SERVICE_IFACE, "OpenSession", "sv", ("plain", ("s", "")))[1])
        return self._session

    def _collection(self) -> str:
        """The default collection, checked unlocked on every call (a screen lock may come at any time)."""
        if self._collection_path is None:
            path = str(self._call(SERVICE_PATH, SERVICE_IFACE, "ReadAlias", "s", ("default",))[0])
            if path == "/":
                raise _fail("there is no default keyring collection; create one with your desktop's keyring "
                            f"tool (seahorse), {USE_FILE}")
            self._check_owner()
            self._collection_path = path
        locked = self._call(self._collection_path, "org.freedesktop.DBus.Properties", "Get", "ss",
                            (COLLECTION_IFACE, "Locked"))[0][1]
        if locked:
            raise _fail("the default keyring is locked; unlock it (log in to the desktop, or "
                        f"gnome-keyring-daemon --unlock), {USE_FILE}")
        return self._collection_path

    def _search(self, service: str, username: str) -> list[str]:
        collection = self._collection()
        found = self._call(collection, COLLECTION_IFACE, "SearchItems", "a{ss}",
                           ({"service": service, "username": username},))[0]
        return [str(item) for item in found]

    # -- Backend -----------------------------------------------------------------------------
    def get(self, service: str, username: str) -> str | None:
        items = self._search(service, username)
        if not items:
            return None
        secrets = self._call(SERVICE_PATH, SERVICE_IFACE, "GetSecrets", "aoo", (items[:1], self._session_path()))[0]
        if not secrets:
            raise _fail("the keyring item is locked; unlock the keyring, " + USE_FILE)
        value: bytes = next(iter(secrets.values()))[2]
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(f"the item for {service!r} is not UTF-8 text; another program wrote it") from None

    def set(self, service: str, username: str, secret: str) -> None:
        collection = self._collection()
        attributes = {"service": service, "username": username, "application": APPLICATION}
        properties = {f"{ITEM_IFACE}.Label": ("s", f"Password for '{username}' on '{service}'"),
                      f"{ITEM_IFACE}.Attributes": ("a{ss}", attributes)}
        try:
            encoded = secret.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequestError("the Secret Service stores only valid Unicode text; the secret holds a "
                                      "lone surrogate") from None
        value = (self._session_path(), b"", encoded, CONTENT_TYPE)
        item, _prompt = self._call(collection, COLLECTION_IFACE, "CreateItem", "a{sv}(oayays)b",
                                   (properties, value, True))
        if item == "/":
            raise _fail("the keyring asked for a prompt to store the item; unlock it first, " + USE_FILE)

    def delete(self, service: str, username: str) -> bool:
        """Delete every matching item (keyring deletes the first; duplicates from other tools go too)."""
        items = self._search(service, username)
        for item in items:
            prompt = self._call(item, ITEM_IFACE, "Delete")[0]
            if prompt != "/":
                raise _fail("the keyring asked for a prompt to delete the item; unlock it first, " + USE_FILE)
        return bool(items)
