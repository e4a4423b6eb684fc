"""The Secret Service (freedesktop.org) over D-Bus, writing ordinary keyring items.

Items are the ones keyring's own ``keyring.backends.SecretService.Keyring`` writes: in the
collection behind the ``default`` alias, attributes ``service``, ``username`` and ``application
= "Python keyring library"``, label ``Password for 'USER' on 'SERVICE'``, content type
``text/plain``; lookups search that collection by ``service`` and ``username`` as keyring does.
So ``keyring get SERVICE USER`` and ``secret-tool lookup service S username U`` see what
gatepass stored, and the other way round.

keyring's backend opens a new connection and a DH session on every call, and jeepney is a package
of imports of its own (typing, enum); this speaks D-Bus through ``stores/dbus.py`` (the socket
module only), one connection per backend, and a ``plain`` session: the DH session libsecret
negotiates hides the secret only from processes that can already read the session bus, which the
default policy admits only for the same user, who can ask the Secret Service for it anyway.

Every call has a timeout. The default collection is checked for ``Locked`` with every search, so a
locked keyring (or a missing one, or no bus, or no service, or a timeout) is a
``StoreUnavailableError`` naming the provider and its fix (``stores/secret_providers.py``), never
a hang and never "not found". A locked collection is never unlocked through a window; a prompt
handed back for an item is followed as libsecret does (``stores/secret_prompt.py``).
"""

from posix import geteuid

from gatepass.errors import InvalidRequestError, StoreUnavailableError
from gatepass.stores import Backend

BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE_IFACE = "org.freedesktop.Secret.Service"
COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
ITEM_IFACE = "org.freedesktop.Secret.Item"
DBUS = ("/org/freedesktop/DBus", "org.freedesktop.DBus")
PROPERTIES = "org.freedesktop.DBus.Properties"
OWNER_UID = ("org.freedesktop.DBus", *DBUS, "GetConnectionUnixUser", "s", (BUS_NAME,))
ALIAS_PATH = "/org/freedesktop/secrets/aliases/default"  # the spec's object path for the default alias
READ_ALIAS = (BUS_NAME, SERVICE_PATH, SERVICE_IFACE, "ReadAlias", "s", ("default",))
OPEN_SESSION = (BUS_NAME, SERVICE_PATH, SERVICE_IFACE, "OpenSession", "sv", ("plain", ("s", "")))
IS_LOCKED = "org.freedesktop.Secret.Error.IsLocked"
APPLICATION = "Python keyring library"  # keyring.backends.SecretService.Keyring.appid
CONTENT_TYPE = "text/plain"  # secretstorage's default, which keyring uses
BINARY_TYPE = "application/octet-stream"  # for a secret holding NUL (docker's JSON can carry \u0000)
PROBE_TIMEOUT = 0.5
USE_FILE = 'or use [store] backend = "encrypted-file"'

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from gatepass.stores.secret_providers import Advice


def _fail(why: str) -> StoreUnavailableError:
    return StoreUnavailableError(f"Secret Service: {why}")


def _user(uid: int) -> str:
    """``uid 1001 (alice)``, for messages about another user's bus or service."""
    import pwd

    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"


def probe(env: "Mapping[str, str]", timeout: float = PROBE_TIMEOUT) -> "SecretServiceBackend | None":
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


def available(env: "Mapping[str, str]", timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether ``probe`` finds a usable Secret Service (``auto`` would pick it)."""
    backend = probe(env, timeout)
    if backend is None:
        return False
    backend.close()
    return True


class SecretServiceBackend(Backend):
    name = "secret-service"
    bus_name = BUS_NAME

    def __init__(self, env: "Mapping[str, str]", timeout: float = 5.0) -> None:
        address = env.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            raise _fail(f"no session bus (DBUS_SESSION_BUS_ADDRESS is unset); start one, {USE_FILE} on a headless host")
        from gatepass.stores.dbus import Connection, ForeignBusError

        try:
            # the bus answers who owns the name in the same round trip as the handshake (_collection reads it)
            self.conn = Connection(address, timeout, early=(OWNER_UID,))
        except ForeignBusError as exc:
            raise _fail(f"the session bus at {address} is run by {_user(exc.uid)}, not by you; refusing to send it "
                        f"secrets (is DBUS_SESSION_BUS_ADDRESS from another login?); {USE_FILE}") from None
        except TimeoutError:
            raise _fail(f"the session bus did not complete the handshake within {timeout:g}s; {USE_FILE}") from None
        except Exception as exc:  # socket errors, a refused or garbled bus: all "cannot connect"
            raise _fail(f"cannot connect to the session bus ({type(exc).__name__}); is dbus running? {USE_FILE}") from None
        self._session: str | None = None
        self._collection_path: str | None = None
        self._provider: Advice | None = None

    @property
    def timeout(self) -> float:
        return self.conn.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.conn.timeout = seconds

    def close(self) -> None:
        self.conn.close()

    # -- plumbing ----------------------------------------------------------------------------
    def _call(self, path: str, iface: str, method: str, signature: str = "", body: "tuple[Any, ...]" = (),
              dest: str = BUS_NAME, locked: "tuple[Any, ...] | None" = None) -> "tuple[Any, ...]":
        """The reply's values; every failure is one StoreUnavailableError naming the fix. ``locked``:
        the values to return instead when the provider answers IsLocked (None: that is an error too)."""
        return self._batch((dest, path, iface, method, signature, body), locked=locked)[0]

    def _batch(self, *calls: "tuple[str, str, str, str, str, tuple[Any, ...]]",
               locked: "tuple[Any, ...] | None" = None, sent: list[int] | None = None,
               instead: "Mapping[int, tuple[Any, ...]] | None" = None) -> "list[tuple[Any, ...]]":
        """Several calls in one round trip (``Connection.calls``), or the replies to ``calls`` already
        ``sent`` (their serials): every reply's values, or the first failure in call order as ``_call``
        words it. ``instead``: for the call at that index, the values to take when it failed."""
        from gatepass.stores.dbus import PROTOCOL_ERROR, DBusError

        method = calls[0][3]
        try:
            replies = self.conn.calls(*calls) if sent is None else self.conn.collect(sent)
        except UnicodeEncodeError:  # raised while marshaling, before anything was sent
            raise InvalidRequestError("the Secret Service stores only valid Unicode text; a name or secret "
                                      "holds a lone surrogate") from None
        except TimeoutError:
            raise _fail(f"{method} did not answer within {self.timeout:g}s; is the keyring daemon hung? "
                        f"{USE_FILE}") from None
        except DBusError as exc:  # the conversation broke (a malformed message, a hang-up)
            if exc.name == PROTOCOL_ERROR:
                raise _fail(f"the bus sent a malformed reply to {method} ({exc}); {USE_FILE}") from None
            raise _fail(f"{method} failed ({exc.name}); is a keyring daemon (e.g. gnome-keyring) running? "
                        f"{USE_FILE}") from None
        except OSError as exc:
            raise _fail(f"the bus connection failed during {method} ({exc.strerror or type(exc).__name__})") from None
        values = []
        for at, (call, reply) in enumerate(zip(calls, replies, strict=True)):
            if not isinstance(reply, DBusError):
                values.append(reply)
            elif instead is not None and at in instead:
                values.append(instead[at])
            elif reply.name == IS_LOCKED and locked is not None:
                values.append(locked)
            elif reply.name == IS_LOCKED:
                advice = self._advice()
                raise _fail(f"{advice.name} says the item is locked; {advice.unlock}, {USE_FILE}")
            else:
                raise _fail(f"{call[3]} failed ({reply.name}); is a keyring daemon (e.g. gnome-keyring) running? "
                            f"{USE_FILE}")
        return values

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

    def _check_owner(self, uid: int) -> None:
        """The process owning ``org.freedesktop.secrets`` must be ours or root's, like the bus itself: a
        permissive bus (a system bus named as the session bus) could let another user own the name."""
        if uid not in (geteuid(), 0):
            raise _fail(f"{BUS_NAME} on this bus is run by {_user(uid)}, not by you; refusing to send it secrets, "
                        + USE_FILE)

    def _advice(self) -> "Advice":
        """The provider owning the name and its fixes; asked only when a message needs it."""
        if self._provider is None:
            from gatepass.stores.secret_providers import advice_for

            self._provider = advice_for(self.conn, BUS_NAME)
        return self._provider

    def _session_path(self) -> str:
        if self._session is None:
            self._session = str(self._call(*OPEN_SESSION[1:], dest=BUS_NAME)[1])
        return self._session

    def _collection(self, search: dict[str, str] | None = None) -> tuple[str, list[str]]:
        """The default collection, checked unlocked on every call (a screen lock may come at any time),
        and the items matching ``search`` in it, in few round trips: the bus says who owns the name in
        the handshake's round trip; once that is us (or root), one batch asks the alias, a session, and
        Locked and the search on the alias's own object path (the spec's /aliases/default; a provider
        without that object is asked again on the collection's path). The search's answer counts only
        when the collection is unlocked."""
        calls: list[tuple[str, str, str, str, str, tuple[Any, ...]]] = []
        if self._collection_path is None:
            sent, self.conn.early = self.conn.early, []  # asked once; after a failure, ask again
            owner = self._batch(OWNER_UID, sent=sent or None, instead={0: (None,)})[0][0]
            if owner is None:  # no owner yet: ReadAlias starts an activatable service, then ask again
                self._call(*READ_ALIAS[1:])
                owner = self._call(*OWNER_UID[1:], dest=OWNER_UID[0])[0]
            self._check_owner(int(owner))
            calls += [READ_ALIAS, OPEN_SESSION]
        path = self._collection_path or ALIAS_PATH
        calls.append((BUS_NAME, path, PROPERTIES, "Get", "ss", (COLLECTION_IFACE, "Locked")))
        if search is not None:
            calls.append((BUS_NAME, path, COLLECTION_IFACE, "SearchItems", "a{ss}", (search,)))
        tail = len(calls) - (2 if search is not None else 1)
        replies = self._batch(*calls, instead={at: (None,) for at in range(tail, len(calls))} if tail else None)
        if self._collection_path is None:
            alias, session = replies[0], replies[1]
            replies = replies[2:]
            if str(alias[0]) == "/":
                advice = self._advice()
                raise _fail(f"{advice.name} has no default collection; {advice.create}, {USE_FILE}")
            self._collection_path, self._session = str(alias[0]), str(session[1])
            if any(reply == (None,) for reply in replies):  # no /aliases/default object: the real path
                return self._collection(search)
        path = self._collection_path
        if replies[0][0][1]:
            from gatepass.stores.secret_providers import unlock_open_wallet

            unlock_open_wallet(self, path)  # or the error naming the provider's way to unlock
            if search is not None:
                replies[1:] = [self._call(path, COLLECTION_IFACE, "SearchItems", "a{ss}", (search,))]
        return path, [str(item) for item in replies[1][0]] if search is not None else []

    def _property(self, path: str, name: str) -> "Any":
        return self._call(path, PROPERTIES, "Get", "ss", (COLLECTION_IFACE, name))[0][1]

    def _unlock(self, objects: list[str], action: str, started: float) -> None:
        """Ask to unlock ``objects``, following the prompt the provider may hand back for ``action``."""
        _unlocked, prompt = self._call(SERVICE_PATH, SERVICE_IFACE, "Unlock", "ao", (objects,))
        if prompt != "/":
            self._prompt(str(prompt), action, started)

    def _search(self, service: str, username: str) -> list[str]:
        return self._collection({"service": service, "username": username})[1]

    def _prompt(self, prompt: str, action: str, started: float) -> "Any":
        """Follow ``prompt``, handed out for ``action`` by the provider that sent the last reply, within
        the call timeout from ``started``: its result, or one StoreUnavailableError naming the fix."""
        from gatepass.stores.secret_prompt import follow_for

        return follow_for(self, prompt, action, started)

    @staticmethod
    def fail(why: str) -> StoreUnavailableError:
        """The error for ``why``, ending with the way out every Secret Service error offers."""
        return _fail(f"{why}, {USE_FILE}")

    # -- Backend -----------------------------------------------------------------------------
    def get(self, service: str, username: str) -> str | None:
        import time

        items = self._search(service, username)
        if not items:
            return None
        started = time.monotonic()
        secrets = self._call(SERVICE_PATH, SERVICE_IFACE, "GetSecrets", "aoo", (items[:1], self._session_path()),
                             locked=({},))
        if not secrets[0]:  # locked for this client (KeePassXC's "confirm access"): ask once
            self._unlock(items[:1], "read", started)
            secrets = self._call(SERVICE_PATH, SERVICE_IFACE, "GetSecrets", "aoo", (items[:1], self._session_path()))
        if not secrets[0]:
            advice = self._advice()
            raise _fail(f"{advice.name} says the item is locked; {advice.unlock}, {USE_FILE}")
        value: bytes = next(iter(secrets[0].values()))[2]
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise _fail(f"the item for {service!r} is not UTF-8 text; another program wrote it") from None

    def set(self, service: str, username: str, secret: str) -> None:
        import time

        collection = self._collection()[0]
        attributes = {"service": service, "username": username, "application": APPLICATION}
        properties = {f"{ITEM_IFACE}.Label": ("s", f"Password for '{username}' on '{service}'"),
                      f"{ITEM_IFACE}.Attributes": ("a{ss}", attributes)}
        try:
            encoded = secret.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequestError("the Secret Service stores only valid Unicode text; the secret holds a "
                                      "lone surrogate") from None
        # KWallet keeps text/plain as a C string (cut at the first NUL); as bytes it keeps them whole
        value = (self._session_path(), b"", encoded, CONTENT_TYPE if b"\0" not in encoded else BINARY_TYPE)
        started = time.monotonic()
        item, prompt = self._call(collection, COLLECTION_IFACE, "CreateItem", "a{sv}(oayays)b",
                                  (properties, value, True))
        if item == "/" and prompt != "/":
            self._prompt(str(prompt), "store", started)

    def delete(self, service: str, username: str) -> bool:
        """Delete every matching item (keyring deletes the first; duplicates from other tools go too)."""
        import time

        items = self._search(service, username)
        for item in items:
            started = time.monotonic()
            prompt = self._call(item, ITEM_IFACE, "Delete")[0]
            if prompt != "/":
                self._prompt(str(prompt), "erase", started)
        return bool(items)
