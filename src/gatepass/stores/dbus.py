"""A minimal D-Bus client: the unix socket, SASL EXTERNAL, and the wire format for the types the
Secret Service needs. Written because jeepney costs ~20 ms to import (typing, enum, its whole
package) on every helper call; this costs the C ``_socket`` module alone (~0.5 ms).

Spec: D-Bus Specification, "Message Protocol" (marshaling, alignment, header fields) and
"Authentication Protocol". Only method calls are sent; signals that arrive are skipped. Every
read is bounded by the connection's timeout.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

_ALIGN = {"y": 1, "g": 1, "v": 1, "b": 4, "u": 4, "i": 4, "s": 4, "o": 4, "a": 4, "(": 8, "{": 8, "t": 8, "x": 8}
METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
MAX_MESSAGE = 128 * 1024 * 1024


class DBusError(Exception):
    """An error reply, or a broken conversation; ``name`` is the D-Bus error name when there is one."""

    def __init__(self, name: str, message: str = "") -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name


def split_types(signature: str) -> list[str]:
    """``"a{sv}(oayays)b"`` -> ``["a{sv}", "(oayays)", "b"]``."""
    types, i = [], 0
    while i < len(signature):
        j = i
        while signature[j] == "a":
            j += 1
        if signature[j] in "({":
            depth = 0
            while True:
                depth += signature[j] in "({"
                depth -= signature[j] in ")}"
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        types.append(signature[i:j])
        i = j
    return types


def _pad(buf: bytearray, n: int) -> None:
    buf += b"\0" * (-len(buf) % n)


def write(buf: bytearray, t: str, value: Any) -> None:
    """Append ``value`` marshaled as type ``t`` (little-endian)."""
    code = t[0]
    _pad(buf, _ALIGN[code])
    if code == "y":
        buf.append(int(value))
    elif code in "bu":
        buf += int(bool(value) if code == "b" else value).to_bytes(4, "little")
    elif code == "i":
        buf += int(value).to_bytes(4, "little", signed=True)
    elif code in "so":
        data = str(value).encode("utf-8")
        buf += len(data).to_bytes(4, "little") + data + b"\0"
    elif code == "g":
        data = str(value).encode("ascii")
        buf += bytes([len(data)]) + data + b"\0"
    elif code == "v":
        inner, payload = value
        write(buf, "g", inner)
        write(buf, inner, payload)
    elif code == "a":
        at = len(buf)
        buf += b"\0\0\0\0"
        element = t[1:]
        _pad(buf, _ALIGN[element[0]])
        start = len(buf)
        if element == "y":
            buf += bytes(value)
        else:
            items = value.items() if element[0] == "{" else value
            for item in items:
                write(buf, element, item)
        buf[at:at + 4] = (len(buf) - start).to_bytes(4, "little")
    elif code in "({":
        for field_type, field in zip(split_types(t[1:-1]), value, strict=True):
            write(buf, field_type, field)
    else:
        raise ValueError(f"type {t} is not supported")


def read(data: bytes, pos: int, t: str, order: Literal['little', 'big']) -> tuple[Any, int]:
    """Unmarshal one value of type ``t`` at ``pos``; returns (value, next position)."""
    code = t[0]
    pos += -pos % _ALIGN[code]
    if code == "y":
        return data[pos], pos + 1
    if code in "bui":
        number = int.from_bytes(data[pos:pos + 4], order, signed=code == "i")
        return (bool(number) if code == "b" else number), pos + 4
    if code in "tx":
        return int.from_bytes(data[pos:pos + 8], order, signed=code == "x"), pos + 8
    if code in "so":
        length = int.from_bytes(data[pos:pos + 4], order)
        return data[pos + 4:pos + 4 + length].decode("utf-8"), pos + 5 + length
    if code == "g":
        length = data[pos]
        return data[pos + 1:pos + 1 + length].decode("ascii"), pos + 2 + length
    if code == "v":
        inner, pos = read(data, pos, "g", order)
        value, pos = read(data, pos, str(inner), order)
        return (inner, value), pos
    if code == "a":
        length = int.from_bytes(data[pos:pos + 4], order)
        element = t[1:]
        pos += 4
        pos += -pos % _ALIGN[element[0]]
        end = pos + length
        if element == "y":
            return data[pos:end], end
        items = []
        while pos < end:
            item, pos = read(data, pos, element, order)
            items.append(item)
        return (dict(items) if element[0] == "{" else items), end
    if code in "({":
        fields = []
        for field_type in split_types(t[1:-1]):
            field, pos = read(data, pos, field_type, order)
            fields.append(field)
        return tuple(fields), pos
    raise DBusError("gatepass.UnsupportedType", f"reply carries type {t}")


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


class Connection:
    """One authenticated connection to a bus; ``call`` sends a method call and waits for its reply."""

    def __init__(self, address: str, timeout: float) -> None:
        # The C module: socket.py would add ~8 ms of imports (enum, selectors) to every helper call,
        # and this needs only connect/sendall/recv/settimeout, which _socket.socket has itself.
        import _socket

        path, abstract = _socket_path(address)
        self.timeout = timeout
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect("\0" + path if abstract else path)
        self.buffer = b""
        self.serial = 0
        self._body = b""
        self.sock.sendall(b"\0AUTH EXTERNAL " + str(os.getuid()).encode().hex().encode() + b"\r\n")
        if not self._line().startswith(b"OK "):
            raise DBusError("gatepass.AuthFailed", "the bus refused EXTERNAL authentication")
        self.sock.sendall(b"BEGIN\r\n")
        self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello")

    def close(self) -> None:
        self.sock.close()

    def _recv(self, count: int) -> None:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise DBusError("gatepass.Disconnected", "the bus closed the connection")
            self.buffer += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._recv(len(self.buffer) + 1)
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def call(self, dest: str, path: str, iface: str, member: str, signature: str = "",
             body: tuple[Any, ...] = ()) -> tuple[Any, ...]:
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
        _pad(message, 8)
        deadline = time.monotonic() + self.timeout
        try:
            self.sock.sendall(bytes(message + payload))
            while True:
                # The whole call shares one deadline: a bus that trickles bytes or floods signals
                # cannot stretch it, as a per-recv socket timeout alone would allow.
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(member)
                self.sock.settimeout(remaining)
                kind, headers, body_signature, reply = self._message()
                if kind in (METHOD_RETURN, ERROR) and headers.get(5) == self.serial:
                    break
        except (OSError, DBusError):
            self.close()  # a half-read message leaves the stream out of step: never reuse it
            raise
        values: list[object] = []
        pos = 0
        order: Literal["little", "big"] = "little" if reply[0:1] == b"l" else "big"
        for t in split_types(body_signature):
            value, pos = read(self._body, pos, t, order)
            values.append(value)
        if kind == ERROR:
            raise DBusError(str(headers.get(4, "org.freedesktop.DBus.Error.Failed")),
                            str(values[0]) if values and isinstance(values[0], str) else "")
        return tuple(values)

    def _message(self) -> tuple[int, dict[int, Any], str, bytes]:
        self._recv(16)
        order: Literal["little", "big"] = "little" if self.buffer[0:1] == b"l" else "big"
        kind = self.buffer[1]
        body_length = int.from_bytes(self.buffer[4:8], order)
        fields_length = int.from_bytes(self.buffer[12:16], order)
        header_end = 16 + fields_length + (-(16 + fields_length) % 8)
        if header_end + body_length > MAX_MESSAGE:
            raise DBusError("gatepass.TooLarge", "a bus message larger than 128 MiB")
        self._recv(header_end + body_length)
        raw, self.buffer = self.buffer[:header_end + body_length], self.buffer[header_end + body_length:]
        fields, _ = read(raw, 12, "a(yv)", order)
        headers = {code: value[1] for code, value in fields}
        self._body = raw[header_end:]
        return kind, headers, str(headers.get(8, "")), raw
