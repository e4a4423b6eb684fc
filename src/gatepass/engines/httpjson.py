"""One bounded JSON-over-HTTP(S) call: the only way an engine talks HTTP (``http.client``, ``ssl``).

Imported only on a cache miss. ``call`` goes only where the URL says (docs/design.md "Engine
HTTP"): the URL is read by ``engines/urls.py`` alone (no userinfo, no fragment, https unless
loopback); a redirect is an error naming the status and the URL, never followed; an https
request to a non-loopback host goes through the proxy curl would use (``https_proxy``,
``no_proxy``), anything else connects directly. One total deadline: the exchange (name lookup,
connect, TLS, request, every byte of the answer) runs in a worker thread the caller stops
waiting for at the deadline, whose socket is then shut down; a server that drips bytes cannot
stretch a call past it. Answers larger than ``max_bytes`` are refused. Errors are
``SecretUnavailableError`` lines naming the URL and what failed, never a header or a body.
"""

from __future__ import annotations

import time

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import http.client
    from collections.abc import Mapping

    from gatepass.engines.urls import Target

CONNECT_TIMEOUT = 2.0
TOTAL_TIMEOUT = 5.0
MAX_BYTES = 1024 * 1024


def deadline_in(seconds: float = TOTAL_TIMEOUT) -> float:
    """The ``time.monotonic()`` instant ``seconds`` from now: one per fetch, shared by its calls."""
    return time.monotonic() + seconds


def _connection(target: Target, ca_file: str | None, timeout: float, env: Mapping[str, str]
                ) -> tuple[http.client.HTTPConnection, bool]:
    """The connection for ``target`` and whether it goes through a proxy."""
    import http.client

    from gatepass.engines import urls

    if target.scheme == "http":
        return http.client.HTTPConnection(target.host, target.port, timeout=timeout), False
    import ssl

    try:
        proxy = urls.proxy_for(target, env)
    except ValueError as exc:
        raise SecretUnavailableError(str(exc)) from None
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise SecretUnavailableError(f"ca_file {ca_file} cannot be used ({why})") from None
    if proxy is None:
        return http.client.HTTPSConnection(target.host, target.port, timeout=timeout, context=context), False
    host, port, authorization = proxy
    connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    connection.set_tunnel(target.host, target.port,
                          headers={"Proxy-Authorization": authorization} if authorization else None)
    return connection, True


def _shutdown(connection: http.client.HTTPConnection) -> None:
    import socket

    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _exchange(connection: http.client.HTTPConnection, method: str, target: str, data: bytes | None,
              headers: dict[str, str], deadline: float, max_bytes: int) -> tuple[int, bytes]:
    connection.connect()
    connection.sock.settimeout(max(0.01, deadline - time.monotonic()))
    connection.request(method, target, body=data, headers=headers)
    response = connection.getresponse()
    return response.status, response.read(max_bytes + 1)


def _failure(exc: BaseException, shown: str, proxied: bool) -> SecretUnavailableError:
    import http.client
    import ssl

    if isinstance(exc, TimeoutError):
        return SecretUnavailableError(f"{shown} did not answer in time")
    if isinstance(exc, ssl.SSLError):
        return SecretUnavailableError(f"{shown} cannot be reached ({exc.reason or 'TLS failed'})")
    if isinstance(exc, OSError) and proxied and str(exc).startswith("Tunnel connection failed"):
        code = str(exc).split(":", 1)[-1].split()[0] if ":" in str(exc) else "?"
        code = code if code.isdigit() else "?"
        return SecretUnavailableError(f"the proxy refused to connect to {shown} (HTTP {code})")
    if isinstance(exc, OSError):
        return SecretUnavailableError(f"{shown} cannot be reached ({exc.strerror or exc.__class__.__name__})")
    if isinstance(exc, (http.client.HTTPException, ValueError)):
        return SecretUnavailableError(f"{shown} sent a broken HTTP answer ({exc.__class__.__name__})")
    raise exc


def call(method: str, url: str, *, headers: Mapping[str, str] | None = None, body: object = None,
         ca_file: str | None = None, deadline: float | None = None, connect_timeout: float = CONNECT_TIMEOUT,
         max_bytes: int = MAX_BYTES, env: Mapping[str, str] | None = None, form: Mapping[str, str] | None = None
         ) -> tuple[int, object]:
    """(HTTP status, parsed JSON body or None) of one request to ``url``.

    ``deadline`` is a ``time.monotonic()`` instant (default: now + 5 s); ``env`` is where the proxy
    variables are read (default: this process's environment). ``body`` is sent as JSON, or ``form``
    form-encoded (OAuth 2.0 token endpoints, RFC 6749 §4.1.3). A 3xx answer is an error; a body
    that is not JSON is an error with a 2xx status and ``None`` with any other.
    """
    import json
    import threading

    from gatepass.engines import urls

    deadline = deadline if deadline is not None else deadline_in()
    try:
        target = urls.parse(url)
    except ValueError as exc:
        raise SecretUnavailableError(f"the engine URL {exc}") from None
    shown = target.shown()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SecretUnavailableError(f"{shown} did not answer in time")
    if env is None:
        import os

        env = os.environ
    connection, proxied = _connection(target, ca_file, min(connect_timeout, remaining), env)
    data = None if body is None else json.dumps(body).encode()
    kind = "application/json"
    if form is not None:
        import urllib.parse

        data, kind = urllib.parse.urlencode(form).encode("ascii"), "application/x-www-form-urlencoded"
    sent = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        sent["Content-Type"] = kind
    outcome: list[tuple[int, bytes] | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_exchange(connection, method, target.target, data, sent, deadline, max_bytes))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not outcome or time.monotonic() >= deadline and isinstance(outcome[0], BaseException):
        _shutdown(connection)  # the worker ends on its own; nothing it reads now is used
        raise SecretUnavailableError(f"{shown} did not answer in time")
    connection.close()
    if isinstance(outcome[0], BaseException):
        raise _failure(outcome[0], shown, proxied) from None
    status, payload = outcome[0]
    if 300 <= status < 400:
        raise SecretUnavailableError(f"{shown} answered HTTP {status} (a redirect); gatepass sends engine "
                                     "requests only to the configured URL: configure the address it moved to")
    if len(payload) > max_bytes:
        raise SecretUnavailableError(f"{shown} answered with more than {max_bytes} bytes; refused")
    if not payload.strip():
        return status, None
    try:
        return status, json.loads(payload)
    except ValueError:
        if 200 <= status < 300:
            raise SecretUnavailableError(f"{shown} answered HTTP {status} with something that is not JSON") from None
        return status, None
