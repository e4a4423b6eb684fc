"""The hand-written D-Bus marshaling: every type the Secret Service uses round-trips, aligned as the spec says."""

from __future__ import annotations

import pytest

from gatepass.stores.dbus import _socket_path, read, split_types, write


def test_split_types():
    assert split_types("a{sv}(oayays)bo") == ["a{sv}", "(oayays)", "b", "o"]
    assert split_types("aa{o(oayays)}s") == ["aa{o(oayays)}", "s"]


@pytest.mark.parametrize("t, value", [
    ("s", "héllo"), ("o", "/org/freedesktop/secrets"), ("b", True), ("u", 4_000_000_000), ("i", -5), ("y", 7),
    ("g", "a{ss}"), ("ay", b"\x00\x01secret\xff"), ("ao", ["/a", "/b/c"]), ("a{ss}", {"service": "s", "username": ""}),
    ("v", ("s", "plain")), ("a{sv}", {"Label": ("s", "x"), "Attributes": ("a{ss}", {"k": "v"})}),
    ("(oayays)", ("/session/1", b"", b"pw", "text/plain")),
    ("a{o(oayays)}", {"/item/1": ("/s", b"", b"one", "text/plain"), "/item/2": ("/s", b"p", b"", "t")}),
    ("a(yv)", [(1, ("o", "/x")), (8, ("g", "s"))]),
])
def test_round_trip_after_any_offset(t, value):
    for prefix in range(9):  # alignment is relative to the message start
        buf = bytearray(b"\xaa" * prefix)
        write(buf, t, value)
        got, end = read(bytes(buf), prefix, t, "little")
        assert got == value and end == len(buf)


def test_struct_and_array_alignment_follow_the_spec():
    buf = bytearray(b"y")
    write(buf, "a(yv)", [(1, ("s", "a"))])
    assert buf[1:4] == b"\0\0\0" and len(buf) % 1 == 0
    assert int.from_bytes(buf[4:8], "little") == len(buf) - 8  # array length excludes padding to the first struct


def test_addresses():
    assert _socket_path("unix:path=/run/bus,guid=abc") == ("/run/bus", False)
    assert _socket_path("tcp:host=x;unix:abstract=/tmp/dbus-1") == ("/tmp/dbus-1", True)
    with pytest.raises(Exception, match="no unix socket"):
        _socket_path("tcp:host=localhost,port=1")
