"""The one reading of an engine URL (a ``[vault]`` address, ``VAULT_ADDR``, a GitHub ``api_url``,
and every URL an engine builds from them), and the proxy rule applied to it.

What this parser decides is what ``engines/httpjson.py`` connects to and what the "https unless
loopback" rule judges; no other reading of the text exists (``http://evil.test#@127.0.0.1`` is
refused here, never read as a loopback address by one reader and connected to as evil.test by
another). Refused: a scheme other than http/https, userinfo (``user:pass@``), a fragment,
whitespace or control characters, a host that is not ASCII letters, digits, ``-``, ``.``, ``_``
(or a bracketed IPv6 address), a port outside 1-65535. A base URL (the configured address) has
no query either. Plain http is for loopback only (127.0.0.0/8, ::1, ``localhost``): engine
requests carry tokens and keys that mint tokens.

Proxies follow curl for https URLs: ``https_proxy``, ``HTTPS_PROXY``, then ``all_proxy``,
``ALL_PROXY`` (an ``http://`` proxy; no scheme means http, no port means 1080, userinfo is sent
as ``Proxy-Authorization: Basic``), unless ``no_proxy``/``NO_PROXY`` matches the host (``*``,
a domain and its subdomains, an IP address or CIDR range). A loopback or plain-http request
never goes through a proxy.

Messages never quote the text given: it may hold a password in its userinfo.
"""

from __future__ import annotations

from typing import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

HTTP_RULE = "must start with https:// (plain http only to 127.0.0.1, ::1 or localhost)"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
NO_PROXY_VARS = ("no_proxy", "NO_PROXY")
CURL_PROXY_PORT = 1080


class Target(NamedTuple):
    """Where a request goes; ``target`` is the path and query sent."""

    scheme: str
    host: str
    port: int
    target: str

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def shown(self) -> str:
        """The URL as messages name it: scheme, host, port, path (never a query)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.target.partition('?')[0]}"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: addresses that never leave this machine.

    >>> [is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "localhost", "127.1", "evil.test")]
    [True, True, True, True, False, False]
    """
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def problem(url: str, *, base: bool = True) -> str | None:
    """What is wrong with ``url`` as an engine URL (``None``: nothing); ``base``: no query either."""
    try:
        parse(url, base=base)
    except ValueError as exc:
        return str(exc)
    return None


def parse(url: str, *, base: bool = False) -> Target:
    """The Target of ``url``; ValueError with what is wrong (never the text itself).

    >>> parse("https://GHE.example:8443/api/v3")
    Target(scheme='https', host='ghe.example', port=8443, target='/api/v3')
    >>> parse("http://evil.test#@127.0.0.1")
    Traceback (most recent call last):
    ValueError: must not have a fragment (#...)
    """
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError("must not contain whitespace or control characters")
    if "#" in url:
        raise ValueError("must not have a fragment (#...)")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError(HTTP_RULE)
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, target = rest[:end], rest[end:]
    if "@" in authority:
        raise ValueError("must not hold a user name or password (user@); give credentials in their own keys")
    if "\\" in authority:
        raise ValueError("must not hold a backslash in its host")
    if base and "?" in target:
        raise ValueError("must not have a query (?...)")
    host, port = _host_port(authority, 443 if scheme == "https" else 80)
    if scheme == "http" and not is_loopback(host):
        raise ValueError(HTTP_RULE)
    if not target.startswith("/"):
        target = "/" + target
    return Target(scheme, host, port, target)


def _host_port(authority: str, default: int) -> tuple[str, int]:
    if authority.startswith("["):
        import ipaddress

        host, bracket, after = authority[1:].partition("]")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError("has a bracketed host that is not an IPv6 address") from None
        if not bracket or (after and not after.startswith(":")):
            raise ValueError("has a malformed [IPv6] host")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text_raw = authority.partition(":")
        port_text = port_text_raw if colon else None
        host = host.lower()
        if not host or not _HOST_CHARS.issuperset(host) or ".." in host:
            raise ValueError("needs a host of ASCII letters, digits, '-', '.' (write an international name as xn--)")
    if port_text is None:
        return host.lower(), default
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError("has a port that is not a number from 1 to 65535")
    return host.lower(), int(port_text)


def proxy_for(target: Target, env: Mapping[str, str]) -> tuple[str, int, str | None] | None:
    """(host, port, Proxy-Authorization value or None) of the proxy an https request goes through.

    >>> proxy_for(parse("https://ghe.example/api"), {"https_proxy": "proxy.corp:3128"})
    ('proxy.corp', 3128, None)
    >>> proxy_for(parse("https://127.0.0.1:8200"), {"https_proxy": "proxy.corp:3128"}) is None
    True
    """
    chosen = proxy_url(target, env)
    if chosen is None:
        return None
    userinfo, at, hostport = chosen[len("http://"):].rpartition("@")
    host, port = _host_port(hostport, CURL_PROXY_PORT)
    return host, port, _basic(userinfo) if at else None


def proxy_url(target: Target, env: Mapping[str, str]) -> str | None:
    """The proxy for ``target`` as an ``http://[user:password@]host:port`` URL (for a client library
    such as botocore, which must then be given exactly this and nothing from the environment)."""
    if target.scheme != "https" or target.loopback:
        return None
    name = next((var for var in PROXY_VARS if env.get(var)), None)
    if name is None or _no_proxy(target.host, next((env[v] for v in NO_PROXY_VARS if env.get(v)), "")):
        return None
    text = env[name]
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "http", text
    if scheme.lower() != "http":
        raise ValueError(f"{name} must be an http:// proxy (it carries the TLS connection to the server)")
    authority = rest.split("/", 1)[0]
    userinfo, at, hostport = authority.rpartition("@")
    if any(c.isspace() or not c.isprintable() for c in authority) or "?" in authority or "#" in authority:
        raise ValueError(f"{name} is not a proxy address like http://proxy.example:3128")
    try:
        host, port = _host_port(hostport, CURL_PROXY_PORT)
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None
    shown = f"[{host}]" if ":" in host else host
    return f"http://{userinfo}{at}{shown}:{port}"


def _basic(userinfo: str) -> str:
    import base64
    import urllib.parse

    user, _, password = userinfo.partition(":")
    pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _no_proxy(host: str, listed: str) -> bool:
    """Whether ``no_proxy`` exempts ``host``, as curl reads it.

    >>> [_no_proxy(h, "example.com, .corp,10.0.0.0/8") for h in ("example.com", "a.example.com", "notexample.com",
    ...  "x.corp", "10.1.2.3", "11.0.0.1")]
    [True, True, False, True, True, False]
    """
    import ipaddress

    host = host.rstrip(".")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in listed.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if entry == "*":
            return True
        if not entry:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.lstrip(".").rstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False
