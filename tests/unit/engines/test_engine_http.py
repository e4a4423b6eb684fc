"""engines/httpjson and engines/urls: a call goes only where the URL says and ends by its deadline,
whatever the server (or a proxy) does; errors carry no body and no secret."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from gatepass.engines import httpjson, urls
from gatepass.engines.servertext import quote
from gatepass.errors import SecretUnavailableError
from tests.support.hostile_http import ConnectProxy, Recorder, read_head, reply, serve, tls_server


def silent(conn: socket.socket) -> None:
    read_head(conn)  # read the request, never answer
    conn.recv(1)


def drip_head(conn: socket.socket) -> None:
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(1000):  # a header byte at a time, each well within any per-read timeout
        conn.sendall(b"X")
        time.sleep(0.05)


def drip_body(conn: socket.socket) -> None:
    """A body without Content-Length, one byte every 0.5 s: no read ever times out."""
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    for _ in range(100):
        conn.sendall(b" ")
        time.sleep(0.5)


def answer(body: bytes, status: str = "200 OK", extra: bytes = b"") -> Callable[[socket.socket], None]:
    def respond(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(reply(status, body, extra))
    return respond


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve(request.param) as url:
        yield url


@pytest.mark.parametrize("server", [silent, drip_head, drip_body], indirect=True)
def test_a_server_that_stalls_or_drips_is_cut_off_at_the_deadline(server):
    started = time.monotonic()
    with pytest.raises(SecretUnavailableError, match="did not answer in time"):
        httpjson.call("GET", server + "/v1/x", deadline=time.monotonic() + 1.0)
    assert time.monotonic() - started < 3.0  # the deadline plus scheduling slack, never the drip's 50 s


@pytest.mark.parametrize("server", [answer(b'{"data": {"k": "v"}}')], indirect=True)
def test_a_json_answer_is_parsed(server):
    assert httpjson.call("GET", server + "/v1/x", env={}) == (200, {"data": {"k": "v"}})


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary Redirect",
                                    "308 Permanent Redirect"])
def test_a_redirect_is_an_error_naming_status_and_url_and_its_target_gets_nothing(status):
    with Recorder() as target:
        with serve(answer(b"", status, f"Location: {target.url}/stolen\r\n".encode())) as url:
            with pytest.raises(SecretUnavailableError) as caught:
                httpjson.call("POST", url + "/v1/auth/x/login", headers={"X-Vault-Token": "tok-SECRET"}, env={})
    assert str(caught.value).startswith(f"{url}/v1/auth/x/login answered HTTP {status[:3]} (a redirect)")
    assert target.heads == [] and "SECRET" not in str(caught.value)


@pytest.mark.parametrize("server", [answer(b"x" * 2048)], indirect=True)
def test_an_oversized_answer_is_refused(server):
    with pytest.raises(SecretUnavailableError, match="more than 1024 bytes"):
        httpjson.call("GET", server + "/v1/x", max_bytes=1024, env={})


@pytest.mark.parametrize("server", [answer(b"<html>token=SECRET-IN-BODY</html>", "502 Bad Gateway")], indirect=True)
def test_an_error_body_that_is_not_json_is_never_quoted(server):
    assert httpjson.call("GET", server + "/v1/x", env={}) == (502, None)


@pytest.mark.parametrize("server", [answer(b"<html>token=SECRET-IN-BODY</html>")], indirect=True)
def test_a_success_body_that_is_not_json_is_an_error_without_it(server):
    with pytest.raises(SecretUnavailableError) as caught:
        httpjson.call("GET", server + "/v1/x", env={})
    assert "HTTP 200" in str(caught.value) and "SECRET" not in str(caught.value)


def test_a_closed_port_cannot_be_reached():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(SecretUnavailableError, match=rf"127.0.0.1:{port}/v1/x cannot be reached \(Connection refused\)"):
        httpjson.call("GET", f"http://127.0.0.1:{port}/v1/x", env={})


# What a URL says is what is connected to: each of these hides a second host, carries
# credentials, or asks for plain http to another machine; none may reach the loopback recorder.
HIDING = ["http://gatepass-evil.test#@127.0.0.1:{port}", "http://gatepass-evil.test?@127.0.0.1:{port}",
          "http://user:pw-SECRET@127.0.0.1:{port}", "http://127.0.0.1:{port}@gatepass-evil.test",
          "http://127.0.0.1:{port}\\@gatepass-evil.test", "http://127.0.0.1:{port}/x#frag",
          "http://127.1:{port}", "http://gatepass-evil.test:{port}", "file:///etc/passwd",
          "http://127.0.0.1:{port} /x", "http://127.0.0.1:99999", "http://[::1:{port}", "HTTP://127.0.0.1:0"]


@pytest.mark.parametrize("template", HIDING)
def test_a_url_that_is_not_plainly_one_https_or_loopback_host_is_refused_before_connecting(template):
    with Recorder() as recorder:
        url = template.format(port=recorder.port)
        with pytest.raises(SecretUnavailableError) as caught:
            httpjson.call("GET", url + "/v1/x", env={})
        assert recorder.heads == []
    assert "SECRET" not in str(caught.value) and "gatepass-evil" not in str(caught.value)
    assert urls.problem(url) is not None


@pytest.mark.parametrize(("url", "parsed"), [
    ("https://GHE.example/api/v3", ("https", "ghe.example", 443, "/api/v3")),
    ("http://127.0.0.1:8200", ("http", "127.0.0.1", 8200, "/")),
    ("http://[::1]:8200/", ("http", "::1", 8200, "/")),
    ("http://localhost:1/v1/a?b=c", ("http", "localhost", 1, "/v1/a?b=c")),
])
def test_the_parser_says_what_is_connected_to(url, parsed):
    assert tuple(urls.parse(url)) == parsed


def test_a_base_url_has_no_query():
    assert urls.problem("https://vault.example?x=1") == "must not have a query (?...)"


# Proxies, as curl applies them: https to a non-loopback host through https_proxy (unless
# no_proxy says otherwise); loopback and plain http never.

def test_https_goes_through_https_proxy_as_a_tunnel_verified_end_to_end(tmp_path):
    with tls_server(tmp_path, "ghe.gatepass.test", b'{"ok": true}') as (port, ca_file, served):
        with ConnectProxy({"ghe.gatepass.test": port}) as proxy:
            env = {"https_proxy": f"http://pu:pp%40x@127.0.0.1:{proxy.port}"}
            answer_ = httpjson.call("GET", "https://ghe.gatepass.test/api/v3/x", ca_file=str(ca_file), env=env,
                                    headers={"Authorization": "Bearer jwt-SECRET"})
    assert answer_ == (200, {"ok": True})
    assert len(proxy.heads) == 1 and proxy.heads[0].startswith(b"CONNECT ghe.gatepass.test:443 HTTP/1.")
    assert f"Proxy-Authorization: Basic {base64.b64encode(b'pu:pp@x').decode()}".encode() in proxy.heads[0]
    assert b"jwt-SECRET" not in proxy.heads[0]  # the request itself went inside the tunnel
    assert served[0].startswith(b"GET /api/v3/x HTTP/1.1\r\n") and b"Bearer jwt-SECRET" in served[0]


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "all_proxy", "ALL_PROXY"])
def test_the_other_proxy_variables_curl_reads_for_https(variable):
    with ConnectProxy(refuse="407 Proxy Authentication Required") as proxy:
        with pytest.raises(SecretUnavailableError) as caught:
            httpjson.call("GET", "https://ghe.gatepass.test/x", env={variable: f"127.0.0.1:{proxy.port}"})
    assert str(caught.value) == "the proxy refused to connect to https://ghe.gatepass.test/x (HTTP 407)"
    assert len(proxy.heads) == 1


DIRECT = "cannot be reached|did not answer in time"  # whatever a direct attempt meets, never the proxy


@pytest.mark.parametrize(("host", "no_proxy"), [("ghe.gatepass.test", "*"), ("ghe.gatepass.test", "gatepass.test"),
                                                ("ghe.gatepass.test", ".gatepass.test"),
                                                ("ghe.gatepass.test", "other.example, ghe.gatepass.test"),
                                                ("192.0.2.7", "192.0.2.0/24")])
def test_no_proxy_sends_the_request_directly(host, no_proxy):
    with ConnectProxy() as proxy:
        with pytest.raises(SecretUnavailableError, match=DIRECT):
            httpjson.call("GET", f"https://{host}/x", env={"https_proxy": proxy.url, "NO_PROXY": no_proxy},
                          deadline=time.monotonic() + 1.0)
        assert proxy.heads == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_loopback_request_never_goes_through_a_proxy(scheme):
    with ConnectProxy() as proxy, serve(answer(b'{"direct": 1}')) as url:
        env = {name: proxy.url for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy")}
        if scheme == "http":
            assert httpjson.call("GET", url + "/x", env=env) == (200, {"direct": 1})
        else:
            with pytest.raises(SecretUnavailableError, match=DIRECT):  # TLS to a plain server
                httpjson.call("GET", url.replace("http:", "https:") + "/x", env=env, deadline=time.monotonic() + 1.0)
        assert proxy.heads == []


def test_a_proxy_that_is_not_http_is_one_line():
    with pytest.raises(SecretUnavailableError) as caught:
        httpjson.call("GET", "https://ghe.gatepass.test/x", env={"https_proxy": "socks5://u:SECRET@127.0.0.1:1"})
    assert str(caught.value) == "https_proxy must be an http:// proxy (it carries the TLS connection to the server)"


def test_server_text_is_escaped_and_never_holds_a_secret():
    token = "hvs.CAESIJx7-not-a-real-token-0123456789"
    said = quote(f"bad token {token[:12]} {token[12:]}\x1b]0;owned\x07\r\nforged: line\u202e", [token])
    assert "CAES" not in said and "0123456789" not in said
    assert "\x1b" not in said and "\n" not in said and "\u202e" not in said
    assert "\\x1b]0;owned\\x07" in said and "\\u202e" in said
