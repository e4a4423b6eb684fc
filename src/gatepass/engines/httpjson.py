"""One bounded JSON-over-HTTP(S) call for engines, on the standard library (``http.client``, ``ssl``).

Imported only on a cache miss. Bounded twice: each socket operation times out (connect after
``connect_timeout``, everything else at the deadline), and a watchdog shuts the socket down at
the deadline, so a server that drips bytes cannot stretch a call past it. Redirects are not
followed (a token is sent only to the address configured), proxies are not used (``http.client``
reads no ``*_proxy`` variable), and answers larger than ``max_bytes`` are refused. Errors are
``SecretUnavailableError`` lines naming the host and what failed, never a header or body.
"""

from __future__ import annotations

import time

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    from collections.abc import Mapping

CONNECT_TIMEOUT = 2.0
TOTAL_TIMEOUT = 5.0
MAX_BYTES = 1024 * 1024


def _connection(url: str, ca_file: str | None, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SecretUnavailableError(f"{parts.scheme or 'the'} address is not an http(s) URL")
    target = parts.path or "/"
    target += f"?{parts.query}" if parts.query else ""
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), target
    import ssl

    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise SecretUnavailableError(f"ca_file {ca_file} cannot be used ({why})") from None
    return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context), target


def _shutdown(connection: http.client.HTTPConnection, fired: list[bool]) -> None:
    import socket

    fired.append(True)
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def call(method: str, url: str, *, headers: Mapping[str, str] | None = None, body: object = None,
         ca_file: str | None = None, deadline: float | None = None, connect_timeout: float = CONNECT_TIMEOUT,
         max_bytes: int = MAX_BYTES, form: Mapping[str, str] | None = None) -> tuple[int, object]:
    """(HTTP status, parsed JSON body or None when empty) of one request; ``deadline`` is a
    ``time.monotonic()`` instant (default: now + 5 s). ``form`` is sent form-encoded instead of
    ``body`` as JSON (OAuth 2.0 token endpoints, RFC 6749 §4.1.3)."""
    import json
    import threading

    deadline = deadline if deadline is not None else time.monotonic() + TOTAL_TIMEOUT
    host = url.split("://", 1)[-1].split("/", 1)[0]
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SecretUnavailableError(f"{host} did not answer in time")
    connection, target = _connection(url, ca_file, min(connect_timeout, remaining))
    data = None if body is None else json.dumps(body).encode()
    kind = "application/json"
    if form is not None:
        import urllib.parse

        data, kind = urllib.parse.urlencode(form).encode("ascii"), "application/x-www-form-urlencoded"
    sent = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = kind
    fired: list[bool] = []  # the watchdog cut the connection: whatever was read is not the answer
    watchdog = threading.Timer(remaining, _shutdown, (connection, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        connection.sock.settimeout(max(0.01, deadline - time.monotonic()))
        connection.request(method, target, body=data, headers=sent)
        response = connection.getresponse()
        payload = response.read(max_bytes + 1)
        status = response.status
    except TimeoutError:
        raise SecretUnavailableError(f"{host} did not answer in time (connect {connect_timeout:g}s, "
                                     f"total {TOTAL_TIMEOUT:g}s)") from None
    except OSError as exc:
        if time.monotonic() >= deadline:
            raise SecretUnavailableError(f"{host} did not answer in time") from None
        why = getattr(exc, "reason", None) or exc.strerror or exc.__class__.__name__  # ssl: CERTIFICATE_VERIFY_FAILED
        raise SecretUnavailableError(f"{host} cannot be reached ({why})") from None
    except Exception as exc:  # http.client.HTTPException and friends: a broken answer
        if time.monotonic() >= deadline:
            raise SecretUnavailableError(f"{host} did not answer in time") from None
        raise SecretUnavailableError(f"{host} sent a broken HTTP answer ({exc.__class__.__name__})") from None
    finally:
        watchdog.cancel()
        connection.close()
    if fired:
        raise SecretUnavailableError(f"{host} did not answer in time (total {TOTAL_TIMEOUT:g}s)")
    if len(payload) > max_bytes:
        raise SecretUnavailableError(f"{host} answered with more than {max_bytes} bytes; refused")
    if not payload.strip():
        return status, None
    try:
        return status, json.loads(payload)
    except ValueError:
        raise SecretUnavailableError(f"{host} answered HTTP {status} with something that is not JSON") from None
