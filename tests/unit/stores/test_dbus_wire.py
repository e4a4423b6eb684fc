"""The hand-written D-Bus marshaling: every type the Secret Service uses round-trips, aligned as the spec says."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatepass.stores.dbus import PROTOCOL_ERROR, DBusError, _socket_path, read, split_types, write


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


# -- alignment, by the spec's own bytes ----------------------------------------------------------

def test_a_struct_starts_on_an_8_byte_boundary_wherever_it_is_written():
    for prefix, pad in ((1, 7), (4, 4), (8, 0)):
        buf = bytearray(b"\xaa" * prefix)
        write(buf, "(yu)", (5, 6))
        assert bytes(buf[prefix:]) == b"\0" * pad + b"\x05\0\0\0" + b"\x06\0\0\0"
    buf = bytearray(b"\xaa")
    write(buf, "a(y)", [(1,), (2,)])  # length, then padding to the first element, not counted in the length
    assert bytes(buf[1:]) == b"\0\0\0" + (9).to_bytes(4, "little") + b"\x01" + b"\0" * 7 + b"\x02"


# -- bounds: a peer's lengths are checked, one clear protocol error ------------------------------

@pytest.mark.parametrize("data, t, why", [
    ((5).to_bytes(4, "little") + b"ab\0", "s", "a string runs past"),  # 5 bytes claimed, 2 there
    ((2).to_bytes(4, "little") + b"abc\0", "s", "not NUL-terminated"),
    ((2).to_bytes(4, "little") + b"\xff\xfe\0", "s", "not valid UTF-8"),
    ((8).to_bytes(4, "little") + (1).to_bytes(4, "little"), "ai", "an array runs past"),  # a phantom second element
    ((6).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"abcde\0", "as", "a string runs past"),  # crosses its array
    (b"\x01z\0", "v", "unsupported type 'z'"),
    (b"\0", "z", "unsupported type 'z'"),
    ((0).to_bytes(4, "little"), "az", "unsupported array element type 'z'"),
    (b"\x01a\0", "v", "signature 'a' is incomplete"),
    (b"\x02(s\0", "v", "unclosed struct"),
    (b"\x03{s}\0", "v", "does not have two fields"),
    (b"\x01v\0" * 70, "v", "nested too deeply"),
    (b"", "u", "a number runs past"),
])
def test_a_malformed_value_is_one_protocol_error(data, t, why):
    with pytest.raises(DBusError, match=why) as caught:
        read(data, 0, t, "little")
    assert caught.value.name == PROTOCOL_ERROR


@pytest.mark.parametrize("signature", ["a", "a{", "(", "(s", ")", "}", "a)"])
def test_a_malformed_signature_is_one_protocol_error(signature):
    with pytest.raises(DBusError) as caught:
        split_types(signature)
    assert caught.value.name == PROTOCOL_ERROR


# -- differential: our marshaling and jeepney's agree, both ways --------------------------------

BASIC = {
    "y": st.integers(0, 255), "b": st.booleans(), "u": st.integers(0, 2**32 - 1), "i": st.integers(-2**31, 2**31 - 1),
    "t": st.integers(0, 2**64 - 1), "x": st.integers(-2**63, 2**63 - 1),
    "s": st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12),
    "o": st.from_regex(r"\A/([A-Za-z0-9_]{1,6}(/[A-Za-z0-9_]{1,6}){0,3})?\Z"),
}


def signatures(depth: int = 0) -> st.SearchStrategy[str]:
    """One complete type of the kinds the Secret Service uses, nested up to three levels."""
    basic = st.sampled_from(sorted(BASIC) + ["g"])
    if depth >= 3:
        return basic
    inner = signatures(depth + 1)
    return st.one_of(
        basic, st.just("v"), st.just("ay"), inner.map(lambda s: "a" + s),
        st.tuples(st.sampled_from(sorted(BASIC)), inner).map(lambda kv: "a{" + kv[0] + kv[1] + "}"),
        st.lists(inner, min_size=1, max_size=4).map(lambda fields: "(" + "".join(fields) + ")"),
    )


def values(signature: str) -> st.SearchStrategy[object]:
    code = signature[0]
    if code in BASIC:
        return BASIC[code]
    if code == "g":
        return signatures(2)
    if code == "v":
        return signatures(1).flatmap(lambda inner: values(inner).map(lambda value: (inner, value)))
    if signature == "ay":
        return st.binary(max_size=16)
    if signature.startswith("a{"):
        key, value = split_types(signature[2:-1])
        return st.dictionaries(values(key), values(value), max_size=3)
    if code == "a":
        return st.lists(values(signature[1:]), max_size=3)
    return st.tuples(*(values(field) for field in split_types(signature[1:-1])))


typed = signatures().flatmap(lambda sig: st.tuples(st.just(sig), values(sig)))


@settings(max_examples=300, deadline=None)
@given(typed, st.integers(0, 8))
def test_our_marshaling_matches_jeepneys_both_ways(sig_value, prefix):
    from jeepney.low_level import Endianness, parse_signature

    signature, value = sig_value
    theirs = parse_signature(list(signature))
    buf = bytearray(b"\xaa" * prefix)
    write(buf, signature, value)
    ours = bytes(buf)
    assert ours[prefix:] == theirs.serialise(value, prefix, Endianness.little)  # the same bytes
    assert theirs.parse_data(ours, prefix, Endianness.little) == (value, len(ours))  # jeepney reads ours
    for order, endianness in (("little", Endianness.little), ("big", Endianness.big)):  # we read jeepney's
        written = b"\xaa" * prefix + theirs.serialise(value, prefix, endianness)
        assert read(written, prefix, signature, order) == (value, len(written))
