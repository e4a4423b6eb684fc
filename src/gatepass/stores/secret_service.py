"""The Secret Service (freedesktop.org) over D-Bus, writing ordinary keyring items.

Items carry exactly the attributes keyring's own SecretService backend uses (``service``,
``username``, ``application = "Python keyring library"``) in the default collection, with its
label, so ``keyring get SERVICE USER`` and ``secret-tool lookup service S username U`` see
what gatepass stored and the other way round. keyring's backend opens a new connection and an
encrypted session on every call (~190 ms per fresh process), and jeepney alone costs ~20 ms to
import; this speaks D-Bus through ``stores/dbus.py`` (the socket module only), one connection per
process and a ``plain`` session: the secret crosses only the local bus socket, as with
secret-tool. Every call has a timeout. A locked collection, no bus or no service is a
``StoreUnavailableError`` naming the fix, never a hang and never "not found"; helpers never
prompt to unlock.
"""

from __future__ import annotations

from gatepass.errors import StoreUnavailableError
from gatepass.stores import Backend

BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE_IFACE = "org.freedesktop.Secret.Service"
COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
ITEM_IFACE = "org.freedesktop.Secret.Item"
APPLICATION = "Python keyring library"  # keyring.backends.SecretService.Keyring.appid

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def _fail(why: str) -> StoreUnavailableError:
    return StoreUnavailableError(f"Secret Service: {why}")


def available(env: Mapping[str, str], timeout: float) -> bool:
    """Whether a session bus answers within ``timeout`` and has (or can start) a Secret Service."""
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    try:
        backend = SecretServiceBackend(env, timeout)
        try:
            return backend.has_service()
        finally:
            backend.close()
    except StoreUnavailableError:
        return False


class SecretServiceBackend(Backend):
    name = "secret-service"

    def __init__(self, env: Mapping[str, str], timeout: float = 5.0) -> None:
        address = env.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            raise _fail("no session bus (DBUS_SESSION_BUS_ADDRESS is unset); use [store] backend = "
                        "\"encrypted-file\" on a headless host")
        from gatepass.stores.dbus import Connection

        self.timeout = timeout
        try:
            self.conn = Connection(address, timeout)
        except Exception as exc:  # socket errors, a refused or silent bus: all "cannot connect"
            raise _fail(f"cannot connect to the session bus ({type(exc).__name__}); is dbus running?") from None
        self._session: str | None = None

    def close(self) -> None:
        self.conn.close()

    # -- plumbing ----------------------------------------------------------------------------
    def _call(self, path: str, iface: str, method: str, signature: str = "", body: tuple = (),  # type: ignore[type-arg]
              dest: str = BUS_NAME) -> tuple:  # type: ignore[type-arg]
        from gatepass.stores.dbus import DBusError

        try:
            return self.conn.call(dest, path, iface, method, signature, body)
        except TimeoutError:
            raise _fail(f"{method} did not answer within {self.timeout:g}s; is the keyring daemon hung?") from None
        except DBusError as exc:
            raise _fail(f"{method} failed ({exc.name}); is a keyring daemon (e.g. gnome-keyring) running?") from None
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

    def _session_path(self) -> str:
        if self._session is None:
            self._session = self._call(SERVICE_PATH, SERVICE_IFACE, "OpenSession", "sv", ("plain", ("s", "")))[1]
        return self._session

    def _collection(self) -> str:
        path = self._call(SERVICE_PATH, SERVICE_IFACE, "ReadAlias", "s", ("default",))[0]
        if path == "/":
            raise _fail("there is no default keyring collection; create one with your desktop's keyring tool")
        locked = self._call(path, "org.freedesktop.DBus.Properties", "Get", "ss", (COLLECTION_IFACE, "Locked"))[0][1]
        if locked:
            raise _fail("the default keyring is locked; unlock it (log in to the desktop, or "
                        "gnome-keyring-daemon --unlock) or use [store] backend = \"encrypted-file\"")
        return path  # type: ignore[no-any-return]

    def _search(self, service: str, username: str) -> list[str]:
        unlocked, locked = self._call(SERVICE_PATH, SERVICE_IFACE, "SearchItems", "a{ss}",
                                      ({"service": service, "username": username},))
        if locked and not unlocked:
            raise _fail("the keyring item is locked; unlock the keyring or use [store] backend = \"encrypted-file\"")
        return list(unlocked)

    # -- Backend -----------------------------------------------------------------------------
    def get(self, service: str, username: str) -> str | None:
        items = self._search(service, username)
        if not items:
            return None
        secrets = self._call(SERVICE_PATH, SERVICE_IFACE, "GetSecrets", "aoo", (items[:1], self._session_path()))[0]
        if not secrets:
            return None
        value: bytes = next(iter(secrets.values()))[2]
        return value.decode("utf-8")

    def set(self, service: str, username: str, secret: str) -> None:
        collection = self._collection()
        attributes = {"service": service, "username": username, "application": APPLICATION}
        properties = {f"{ITEM_IFACE}.Label": ("s", f"Password for '{username}' on '{service}'"),
                      f"{ITEM_IFACE}.Attributes": ("a{ss}", attributes)}
        value = (self._session_path(), b"", secret.encode("utf-8"), "text/plain; charset=utf8")
        item, prompt = self._call(collection, COLLECTION_IFACE, "CreateItem", "a{sv}(oayays)b",
                                  (properties, value, True))
        if item == "/":
            raise _fail("the keyring asked for a prompt to store the item; unlock it first")

    def delete(self, service: str, username: str) -> bool:
        items = self._search(service, username)
        for item in items:
            self._call(item, ITEM_IFACE, "Delete")
        return bool(items)
