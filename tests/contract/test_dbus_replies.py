"""Our D-Bus client against peers that misbehave on purpose (jeepney builds their messages): only the
reply to *our* serial is taken, and a malformed reply is one protocol error that closes the connection."""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable

import pytest
from jeepney import DBusAddress, new_error, new_method_return, new_signal
from jeepney.low_level import HeaderFields, MessageType, Parser

from gatepass.stores.dbus import PROTOCOL_ERROR, Connection, DBusError
from tests.support.fake_bus import accept_sasl, fake_bus

EMITTER = DBusAddress("/x", interface="org.example.Noise")


def _peer(conn: socket.socket, record: Callable[[bytes], None], victim_uid: int, *, answer: str) -> None:
    first = accept_sasl(conn)
    if first is None:
        return
    parser = Parser()
    parser.add_data(first)
    serial = 1
    while True:
        message = parser.get_next_message()
        if message is None:
            chunk = conn.recv(65536)
            if not chunk:
                return
            parser.add_data(chunk)
            continue
        if message.header.message_type != MessageType.method_call:
            continue
        replies = []
        if message.header.fields[HeaderFields.member] == "Hello":
            replies.append(new_method_return(message, "s", (":1.9",)))
        else:
            stale = new_method_return(message, "s", ("a reply to another call",))
            stale.header.fields[HeaderFields.reply_serial] = message.header.serial + 7
            stale_error = new_error(message, "org.example.Error.Stale")
            stale_error.header.fields[HeaderFields.reply_serial] = message.header.serial - 1
            replies += [stale, new_signal(EMITTER, "Ping", "s", ("noise",)), stale_error]
            if answer == "right":
                replies.append(new_method_return(message, "s", ("the reply",)))
            elif answer == "malformed":
                bad = new_method_return(message, "s", ("abcdefgh",))
                raw = bytearray(bad.serialise(serial + 10))
                raw[-13:-9] = (500).to_bytes(4, "little")  # the string now claims 500 bytes of a 9-byte body
                conn.sendall(b"".join(r.serialise(serial + i) for i, r in enumerate(replies)) + bytes(raw))
                continue
        for reply in replies:
            serial += 1
            conn.sendall(reply.serialise(serial))


def _call(connection: Connection) -> tuple[object, ...]:
    return connection.call("org.example", "/x", "org.example.I", "Get")


def test_only_the_reply_to_our_serial_is_taken():
    with fake_bus(functools.partial(_peer, answer="right")) as bus:
        connection = Connection(bus.address, 5)
        try:
            assert _call(connection) == ("the reply",)
            assert _call(connection) == ("the reply",)  # and the stream stays in step
        finally:
            connection.close()


def test_replies_to_other_serials_never_answer_the_call():
    with fake_bus(functools.partial(_peer, answer="never")) as bus:
        connection = Connection(bus.address, 0.5)
        with pytest.raises(TimeoutError):
            _call(connection)


def test_a_malformed_reply_is_a_protocol_error_and_closes_the_connection():
    with fake_bus(functools.partial(_peer, answer="malformed")) as bus:
        connection = Connection(bus.address, 5)
        with pytest.raises(DBusError) as caught:
            _call(connection)
        assert caught.value.name == PROTOCOL_ERROR and "runs past" in str(caught.value)
        assert connection.sock.fileno() == -1  # closed: never reused out of step
