"""engines/httpjson: every call ends by its deadline, whatever the server does; errors carry no body."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from gatepass.engines import httpjson
from gatepass.errors import SecretUnavailableError


def serve(behaviour: Callable[[socket.socket], None]) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=behaviour, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        for conn in conns:
            conn.close()


def silent(conn: socket.socket) -> None:
    conn.recv(65536)  # read the request, never answer


def drip(conn: socket.socket) -> None:
    conn.recv(65536)
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(1000):  # a header byte at a time, each well within any per-read timeout
            conn.sendall(b"X")
            time.sleep(0.05)
    except OSError:
        pass


def answer(body: bytes, status: str = "200 OK", extra: bytes = b"") -> Callable[[socket.socket], None]:
    def reply(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
                     + extra + b"Connection: close\r\n\r\n" + body)
    return reply


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from serve(request.param)


@pytest.mark.parametrize("server", [silent, drip], indirect=True)
def test_a_server_that_stalls_or_drips_is_cut_off_at_the_deadline(server):
    started = time.monotonic()
    with pytest.raises(SecretUnavailableError, match="did not answer in time"):
        httpjson.call("GET", server + "/v1/x", deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 2.5  # the deadline plus scheduling slack, never the drip's 50 s


@pytest.mark.parametrize("server", [answer(b'{"data": {"k": "v"}}')], indirect=True)
def test_a_json_answer_is_parsed(server):
    assert httpjson.call("GET", server + "/v1/x") == (200, {"data": {"k": "v"}})


@pytest.mark.parametrize("server", [answer(b"", "307 Temporary Redirect", b"Location: http://evil.example/\r\n")],
                         indirect=True)
def test_redirects_are_not_followed(server):
    assert httpjson.call("GET", server + "/v1/x", headers={"X-Vault-Token": "t"}) == (307, None)


@pytest.mark.parametrize("server", [answer(b"x" * 2048)], indirect=True)
def test_an_oversized_answer_is_refused(server):
    with pytest.raises(SecretUnavailableError, match="more than 1024 bytes"):
        httpjson.call("GET", server + "/v1/x", max_bytes=1024)


@pytest.mark.parametrize("server", [answer(b"<html>token=SECRET-IN-BODY</html>", "502 Bad Gateway")], indirect=True)
def test_a_body_that_is_not_json_is_never_quoted(server):
    with pytest.raises(SecretUnavailableError) as caught:
        httpjson.call("GET", server + "/v1/x")
    assert "HTTP 502" in str(caught.value) and "SECRET" not in str(caught.value)


def test_a_closed_port_is_cannot_be_reached():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(SecretUnavailableError, match=r"127.0.0.1:\d+ cannot be reached \(Connection refused\)"):
        httpjson.call("GET", f"http://127.0.0.1:{port}/v1/x")


def test_a_non_http_address_is_refused_before_any_connection():
    with pytest.raises(SecretUnavailableError, match="not an http"):
        httpjson.call("GET", "file:///etc/passwd")
