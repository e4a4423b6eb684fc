"""Hostile and recording HTTP parts on 127.0.0.1 for the engine HTTP attacks (docs/design.md "Engine HTTP").

- ``serve(behaviour)``: a raw socket server; ``behaviour(conn)`` is whatever the server does with
  one connection (stall, drip, redirect, echo). Yields its base URL; stops and closes everything.
- ``Recorder``: answers every request ``200 {}`` and keeps each request's head, so a test can
  show that something was never sent there (a redirect's target, the host a bad URL hides).
- ``ConnectProxy``: an HTTP CONNECT proxy that keeps every request head it receives and tunnels
  ``CONNECT name:port`` to the loopback port ``routes[name]`` (or answers ``refuse``).
- ``tls_server(tmp_path, name, body)``: an HTTPS server whose certificate (made here with
  ``cryptography``) is for ``name``; its CA file lets a client verify it by that name.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


def read_head(conn: socket.socket) -> bytes:
    """The request line and headers (up to the blank line); what follows is left unread."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def read_request(conn: socket.socket) -> bytes:
    """The request line and headers, with the body (its Content-Length) read and dropped."""
    head = read_head(conn)
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    if length:
        conn.recv(length)
    return head


@contextlib.contextmanager
def serve(behaviour: Callable[[socket.socket], None], wrap: ssl.SSLContext | None = None) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    conns: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        try:
            if wrap is not None:
                conn = wrap.wrap_socket(conn, server_side=True)
                conns.append(conn)
            behaviour(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conns.append(conn)
            thread = threading.Thread(target=handle, args=(conn,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=loop, daemon=True)
    acceptor.start()
    try:
        yield f"{'https' if wrap else 'http'}://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above; close() alone does not
        listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        acceptor.join(5)
        for thread in threads:
            thread.join(5)


def reply(status: str, body: bytes = b"", headers: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
            + headers + b"Connection: close\r\n\r\n" + body)


class Recorder:
    """A server that answers ``200 {}`` and keeps every request head it receives."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self._serving = serve(self._handle)

    def _handle(self, conn: socket.socket) -> None:
        self.heads.append(read_head(conn))
        conn.sendall(reply("200 OK", b"{}"))

    def __enter__(self) -> Recorder:
        self.url = self._serving.__enter__()
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(None, None, None)


class ConnectProxy:
    """A CONNECT proxy on 127.0.0.1 that records every request head and tunnels to ``routes``."""

    def __init__(self, routes: dict[str, int] | None = None, refuse: str | None = None) -> None:
        self.routes, self.refuse = routes or {}, refuse
        self.heads: list[bytes] = []
        self._serving = serve(self._handle)

    def _handle(self, conn: socket.socket) -> None:
        head = read_head(conn)
        self.heads.append(head)
        method, _, rest = head.partition(b" ")
        name = rest.split(b" ", 1)[0].rsplit(b":", 1)[0].decode()
        if method != b"CONNECT" or self.refuse or name not in self.routes:
            conn.sendall(reply(self.refuse or "403 Forbidden"))
            return
        upstream = socket.create_connection(("127.0.0.1", self.routes[name]))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
        back.start()
        pump(conn, upstream)
        back.join(5)
        upstream.close()

    def __enter__(self) -> ConnectProxy:
        self.url = self._serving.__enter__()
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self._serving.__exit__(None, None, None)


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """(cert file, key file) of a self-signed certificate for ``name``; the cert is its own CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@contextlib.contextmanager
def tls_server(tmp_path: Path, name: str, body: bytes) -> Iterator[tuple[int, Path, list[bytes]]]:
    """(port, CA file, request heads) of an HTTPS server for ``name`` answering ``200 body``."""
    cert_file, key_file = certificate(tmp_path, name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    heads: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        heads.append(read_head(conn))
        conn.sendall(reply("200 OK", body))

    with serve(handle, wrap=context) as url:
        yield int(url.rsplit(":", 1)[1]), cert_file, heads
