"""The D-Bus wire format for the types the Secret Service uses: marshaling, alignment, bounds.

Spec: D-Bus Specification, "Message Protocol" ("Marshaling (Wire Format)"). Alignment is
relative to the message start, so callers marshal into the message buffer itself. Every length
a peer sends is checked against the message (and an array's elements against the array): a bad
message is one ``DBusError`` named ``PROTOCOL_ERROR``, never a short read, a phantom element or
an IndexError. ``tests/unit/stores/test_dbus_wire.py`` checks this module against jeepney.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

_ALIGN = {"y": 1, "g": 1, "v": 1, "b": 4, "u": 4, "i": 4, "s": 4, "o": 4, "a": 4, "(": 8, "{": 8, "t": 8, "x": 8}
MAX_DEPTH = 64  # the spec's limit: 32 levels of arrays plus 32 of structs
PROTOCOL_ERROR = "gatepass.ProtocolError"


class DBusError(Exception):
    """An error reply, or a broken conversation; ``name`` is the D-Bus error name when there is one."""

    def __init__(self, name: str, message: str = "") -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name


def protocol_error(why: str) -> "DBusError":
    return DBusError(PROTOCOL_ERROR, why)


def split_types(signature: str) -> list[str]:
    """``"a{sv}(oayays)b"`` -> ``["a{sv}", "(oayays)", "b"]``; an incomplete signature is a protocol error."""
    types, i = [], 0
    while i < len(signature):
        j = i
        while j < len(signature) and signature[j] == "a":
            j += 1
        if j == len(signature) or signature[j] in ")}":
            raise protocol_error(f"signature {signature[:32]!r} is incomplete")
        if signature[j] in "({":
            depth = 0
            while True:
                if j == len(signature):
                    raise protocol_error(f"signature {signature[:32]!r} has an unclosed struct")
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


def pad(buf: bytearray, n: int) -> None:
    buf += b"\0" * (-len(buf) % n)


def write(buf: bytearray, t: str, value: "Any") -> None:
    """Append ``value`` marshaled as type ``t`` (little-endian)."""
    code = t[0]
    pad(buf, _ALIGN[code])
    if code == "y":
        buf.append(int(value))
    elif code in "bu":
        buf += int(bool(value) if code == "b" else value).to_bytes(4, "little")
    elif code == "i":
        buf += int(value).to_bytes(4, "little", signed=True)
    elif code in "tx":
        buf += int(value).to_bytes(8, "little", signed=code == "x")
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
        pad(buf, _ALIGN[element[0]])
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


def _need(limit: int, end: int, what: str) -> None:
    if end > limit:
        raise protocol_error(f"{what} runs past the end of its message or array")


def read(data: bytes, pos: int, t: str, order: "Literal['little', 'big']", depth: int = 0,
         limit: int | None = None) -> "tuple[Any, int]":
    """Unmarshal one value of type ``t`` at ``pos`` (reading no further than ``limit``); returns
    (value, next position). A length past the limit, an unknown type code, a bad string or a
    too-deep nesting is one ``DBusError`` named ``PROTOCOL_ERROR``."""
    end_of = len(data) if limit is None else limit
    code = t[:1]
    if code not in _ALIGN:
        raise protocol_error(f"unsupported type {t[:16]!r}")
    if depth > MAX_DEPTH:
        raise protocol_error("values nested too deeply")
    pos += -pos % _ALIGN[code]
    if code == "y":
        _need(end_of, pos + 1, "a byte")
        return data[pos], pos + 1
    if code in "bui":
        _need(end_of, pos + 4, "a number")
        number = int.from_bytes(data[pos:pos + 4], order, signed=code == "i")
        return (bool(number) if code == "b" else number), pos + 4
    if code in "tx":
        _need(end_of, pos + 8, "a number")
        return int.from_bytes(data[pos:pos + 8], order, signed=code == "x"), pos + 8
    if code in "sog":
        return _read_string(data, pos, code, order, end_of)
    if code == "v":
        inner, pos = read(data, pos, "g", order, depth + 1, end_of)
        if len(split_types(inner)) != 1:
            raise protocol_error(f"a variant's signature {inner!r} is not one complete type")
        value, pos = read(data, pos, inner, order, depth + 1, end_of)
        return (inner, value), pos
    if code == "a":
        return _read_array(data, pos, t[1:], order, depth, end_of)
    fields = []
    types = split_types(t[1:-1])
    if code == "{" and len(types) != 2:
        raise protocol_error(f"dict entry {t[:32]!r} does not have two fields")
    for field_type in types:
        field, pos = read(data, pos, field_type, order, depth + 1, end_of)
        fields.append(field)
    return tuple(fields), pos


def _read_string(data: bytes, pos: int, code: str, order: "Literal['little', 'big']", limit: int) -> tuple[str, int]:
    if code == "g":
        _need(limit, pos + 1, "a signature length")
        length, start = data[pos], pos + 1
    else:
        _need(limit, pos + 4, "a string length")
        length, start = int.from_bytes(data[pos:pos + 4], order), pos + 4
    _need(limit, start + length + 1, "a string")
    if data[start + length] != 0:
        raise protocol_error("a string is not NUL-terminated")
    try:
        return data[start:start + length].decode("ascii" if code == "g" else "utf-8"), start + length + 1
    except UnicodeDecodeError:
        raise protocol_error("a string is not valid UTF-8") from None


def _read_array(data: bytes, pos: int, element: str, order: "Literal['little', 'big']", depth: int,
                limit: int) -> "tuple[Any, int]":
    _need(limit, pos + 4, "an array length")
    length = int.from_bytes(data[pos:pos + 4], order)
    if element[:1] not in _ALIGN:
        raise protocol_error(f"unsupported array element type {element[:16]!r}")
    pos += 4
    pos += -pos % _ALIGN[element[0]]
    end = pos + length
    _need(limit, end, "an array")
    if element == "y":
        return data[pos:end], end
    items = []
    while pos < end:
        item, pos = read(data, pos, element, order, depth + 1, end)  # an element may not cross the end
        items.append(item)
    return (dict(items) if element[0] == "{" else items), end
