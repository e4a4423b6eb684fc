"""A minimal D-Bus client: the unix socket, SASL EXTERNAL and method calls, for the Secret Service.

Written because jeepney imports typing, enum and its whole package on every helper call; this
imports the C ``_socket`` module alone. The unit tests check the wire format
against jeepney, byte for byte, in both directions.

Spec: D-Bus Specification, "Message Protocol" (header fields; the marshaling is in
``stores/dbus_wire.py``) and "Authentication Protocol". Only method calls are sent; signals
that arrive are skipped, except those from an object path the caller ``watch``-ed (a Secret Service
prompt's ``Completed``), which are kept for ``signal``.

Trust and time (docs/design.md "Trust boundaries"):

- Right after ``connect``, before a byte is sent, the peer's credentials (``SO_PEERCRED``) must
  be the effective user's or root's: a bus another user runs (a squatted abstract address, a
  stale ``/tmp/dbus-*`` socket) is a ``ForeignBusError`` and receives nothing.
- One deadline covers the whole connection setup (connect, SASL, ``Hello``) and one covers each
  call (send, every read, every skipped signal): a peer that trickles bytes cannot stretch it.
- Every length a peer sends is checked against the message; a malformed message is one
  ``DBusError`` named ``PROTOCOL_ERROR`` and the connection is closed.
"""

import sys
import time
from posix import geteuid

from gatepass.stores.dbus_wire import PROTOCOL_ERROR, DBusError, pad, protocol_error, read, split_types, write

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    Call = tuple[str, str, str, str, str, tuple[Any, ...]]  # dest, path, interface, member, signature, body

__all__ = ["PROTOCOL_ERROR", "Connection", "DBusError", "ForeignBusError", "read", "split_types", "write"]
METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
MAX_MESSAGE = 128 * 1024 * 1024
MAX_LINE = 4096  # a SASL line; real ones are under 100 bytes


class ForeignBusError(DBusError):
    """The socket at the bus address belongs to another user (``uid``): nothing was sent to it."""

    def __init__(self, uid: int) -> None:
        super().__init__("gatepass.ForeignBus", f"the bus is run by uid {uid}")
        self.uid = uid


def _socket_path(address: str) -> tuple[str, bool]:
    for candidate in address.split(";"):
        kind, _, params = candidate.partition(":")
        if kind != "unix":
            continue
        pairs = dict(p.partition("=")[::2] for p in params.split(","))
        if "path" in pairs:
            return pairs["path"], False
        if "abstract" in pairs:
            return pairs["abstract"], True
    raise DBusError("gatepass.NoAddress", "the bus address names no unix socket")


def peer_uid(sock: "Any") -> int:
    """The uid of the process that opened the other end of a connected unix socket (``SO_PEERCRED``)."""
    import _socket

    raw = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # struct ucred: pid, uid, gid
    return int.from_bytes(raw[4:8], sys.byteorder)


class Connection:
    """One authenticated connection to a bus; ``call`` sends a method call and waits for its reply.

    ``timeout`` bounds the whole setup and, separately, each call. The bus must be run by the
    effective user or root (``ForeignBusError`` otherwise, before anything is sent)."""

    def __init__(self, address: str, timeout: float, early: "tuple[Call, ...]" = ()) -> None:
        """Connect and authenticate; ``early`` calls go out in the same write as the handshake, and
        their replies are waited for only by ``collect(self.early)``."""
        # The C module: socket.py would add its imports (enum, selectors) to every helper call,
        # and this needs only connect/sendall/recv/settimeout, which _socket.socket has itself.
        import _socket

        path, abstract = _socket_path(address)
        self.timeout = timeout
        self.buffer = b""
        self.serial = 0
        self._body = b""
        self.sender = ""  # the unique name that sent the last reply (whom a prompt's signal must come from)
        self._watched: set[str] = set()
        self._signals: list[tuple[dict[int, Any], tuple[Any, ...]]] = []
        self._pending: set[int] = set()  # serials sent, reply not yet asked for: kept when it arrives
        self._replies: dict[int, tuple[int, dict[int, Any], tuple[Any, ...]]] = {}
        self.early: list[int] = []
        self._deadline = time.monotonic() + timeout
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect("\0" + path if abstract else path)
            self.peer_uid = peer_uid(self.sock)
            if self.peer_uid not in (geteuid(), 0):
                raise ForeignBusError(self.peer_uid)
            # SASL, BEGIN, Hello (and the early calls) in one write, as sd-bus does: one round trip
            sasl = b"\0AUTH EXTERNAL " + str(geteuid()).encode().hex().encode() + b"\r\nBEGIN\r\n"
            [hello, *self.early] = self._send_calls(sasl, [("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                            "org.freedesktop.DBus", "Hello", "", ()), *early])
            [reply] = self._collect([hello], self._deadline, sasl=True)
            if isinstance(reply, DBusError):
                raise reply
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.sock.close()

    def _remaining(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the bus did not answer in time")
        return remaining

    def _send(self, data: bytes) -> None:
        self.sock.settimeout(self._remaining())
        self.sock.sendall(data)

    def _recv(self, count: int) -> None:
        while len(self.buffer) < count:
            # The deadline, not a per-recv timeout: a peer that trickles a byte at a time cannot stretch it.
            self.sock.settimeout(self._remaining())
            chunk = self.sock.recv(65536)
            if not chunk:
                raise DBusError("gatepass.Disconnected", "the bus closed the connection")
            self.buffer += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise protocol_error("an authentication line longer than 4 KiB")
            self._recv(len(self.buffer) + 1)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def call(self, dest: str, path: str, iface: str, member: str, signature: str = "",
             body: "tuple[Any, ...]" = ()) -> "tuple[Any, ...]":
        """Call ``member`` and return the reply's values; everything shares one deadline of ``timeout``."""
        [reply] = self.calls((dest, path, iface, member, signature, body))
        if isinstance(reply, DBusError):
            raise reply
        return reply

    def calls(self, *calls: "Call") -> "list[tuple[Any, ...] | DBusError]":
        """Send every call at once and wait for all their replies (one round trip, one deadline of
        ``timeout``); each reply's values, or the DBusError it answered, in the order of ``calls``."""
        deadline = time.monotonic() + self.timeout
        self._deadline = deadline
        return self._collect(self._send_calls(b"", calls), deadline)

    def collect(self, serials: list[int]) -> "list[tuple[Any, ...] | DBusError]":
        """The replies to calls sent earlier (``early``), waiting for them within ``timeout``."""
        return self._collect(serials, time.monotonic() + self.timeout)

    def _encode(self, dest: str, path: str, iface: str, member: str, signature: str, body: "tuple[Any, ...]") -> bytes:
        self.serial += 1
        payload = bytearray()
        for t, value in zip(split_types(signature), body, strict=True):
            write(payload, t, value)
        fields = [(1, ("o", path)), (2, ("s", iface)), (3, ("s", member)), (6, ("s", dest))]
        if signature:
            fields.append((8, ("g", signature)))
        message = bytearray(b"l") + bytes([METHOD_CALL, 0, 1])
        message += len(payload).to_bytes(4, "little") + self.serial.to_bytes(4, "little")
        write(message, "a(yv)", fields)
        pad(message, 8)
        return bytes(message + payload)

    def _send_calls(self, sasl: bytes, calls: "tuple[Call, ...] | list[Call]") -> list[int]:
        data, serials = bytearray(sasl), []
        for call in calls:
            data += self._encode(*call)
            serials.append(self.serial)
        try:
            self._send(bytes(data))
        except OSError:
            self.close()
            raise
        self._pending.update(serials)
        return serials

    def _collect(self, serials: list[int], deadline: float, sasl: bool = False) -> "list[tuple[Any, ...] | DBusError]":
        self._deadline = deadline
        try:
            if sasl and not self._line().startswith(b"OK "):
                raise DBusError("gatepass.AuthFailed", "the bus refused EXTERNAL authentication")
            while not all(serial in self._replies for serial in serials):
                self._keep(*self._message())
        except (OSError, DBusError):
            self.close()  # a half-read message leaves the stream out of step: never reuse it
            raise
        results: list[tuple[Any, ...] | DBusError] = []
        for serial in serials:
            kind, headers, values = self._replies.pop(serial)
            self.sender = str(headers.get(7, ""))
            if kind == ERROR:
                results.append(DBusError(str(headers.get(4, "org.freedesktop.DBus.Error.Failed")),
                                         str(values[0]) if values and isinstance(values[0], str) else ""))
            else:
                results.append(values)
        return results

    def watch(self, path: str) -> None:
        """Keep the signals emitted by object ``path`` (instead of skipping them) for ``signal``."""
        self._watched.add(path)

    def _keep(self, kind: int, headers: "dict[int, Any]", order: "Literal['little', 'big']") -> None:
        """Keep a message that was read: the reply to a call sent and not yet collected, or a signal
        from a watched path; anything else (other signals, stray replies) is dropped."""
        serial = headers.get(5)
        if kind in (METHOD_RETURN, ERROR) and serial in self._pending:
            self._pending.discard(serial)
            self._replies[serial] = (kind, headers, self._values(str(headers.get(8, "")), order))
        elif kind == SIGNAL and headers.get(1) in self._watched:
            self._signals.append((headers, self._values(str(headers.get(8, "")), order)))

    def signal(self, sender: str, path: str, iface: str, member: str, timeout: float) -> "tuple[Any, ...]":
        """The values of the first signal ``iface.member`` that ``sender`` (a unique name) emitted from
        ``path`` (a ``watch``-ed path), kept earlier or read within ``timeout``; ``TimeoutError`` otherwise.
        Anything else that arrives meanwhile is skipped; the connection stays usable after a timeout
        (a partly read message stays in the buffer)."""
        self._deadline = time.monotonic() + timeout
        while True:
            for at, (headers, values) in enumerate(self._signals):
                if (headers.get(7), headers.get(1), headers.get(2), headers.get(3)) == (sender, path, iface, member):
                    del self._signals[at]
                    return values
            try:
                self._keep(*self._message())
            except TimeoutError:
                raise  # nothing half-consumed: the buffer keeps what arrived, the caller may still Dismiss
            except (OSError, DBusError):
                self.close()
                raise

    def _values(self, signature: str, order: "Literal['little', 'big']") -> "tuple[Any, ...]":
        values: list[object] = []
        pos = 0
        for t in split_types(signature):
            value, pos = read(self._body, pos, t, order)
            values.append(value)
        return tuple(values)

    def _message(self) -> "tuple[int, dict[int, Any], Literal['little', 'big']]":
        """The next whole message: (type, header fields, byte order); its body is left in ``_body``."""
        self._recv(16)
        if self.buffer[0:1] not in (b"l", b"B") or self.buffer[3] != 1:
            raise protocol_error("a message with an unknown byte order or protocol version")
        order: Literal["little", "big"] = "little" if self.buffer[0:1] == b"l" else "big"
        kind = self.buffer[1]
        body_length = int.from_bytes(self.buffer[4:8], order)
        fields_length = int.from_bytes(self.buffer[12:16], order)
        header_end = 16 + fields_length + (-(16 + fields_length) % 8)
        if header_end + body_length > MAX_MESSAGE:
            raise protocol_error("a bus message larger than 128 MiB")
        self._recv(header_end + body_length)
        raw, self.buffer = self.buffer[:header_end + body_length], self.buffer[header_end + body_length:]
        fields, _ = read(raw, 12, "a(yv)", order, limit=16 + fields_length)
        headers = {code: value[1] for code, value in fields}
        self._body = raw[header_end:]
        return kind, headers, order
