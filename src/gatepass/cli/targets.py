"""What ``gatepass explain`` is given: a git URL split as git's credential code splits it, or a docker registry.

git (credential.c, ``credential_from_url``) takes the scheme, ``user[:password]@`` (%-decoded; the
password is never kept here), ``host[:port]`` and the path with leading and trailing slashes
trimmed and %-escapes decoded. It sends the path only with ``credential.useHttpPath``.

Which kind a target is, when ``--kind`` is not given:

1. a Docker Hub name (``docker.io``, ``index.docker.io``, ``registry-1.docker.io``,
   ``registry.hub.docker.com``, with or without ``https://`` and ``/v1/``) is docker;
2. with ``http(s)://``: no path, or a path of ``/``, ``/v1/`` or ``/v2/`` (a registry's server
   string, as config.json keys and ``docker logout`` write them) is docker; any other path is git;
3. without a scheme: a path (``github.com/acme/app``), a ``user@`` or a ``.git`` ending is git,
   a bare ``host[:port]`` docker. An image reference (``ghcr.io/acme/app:1``) needs ``--kind docker``.
"""

from __future__ import annotations

import re
import urllib.parse

from gatepass.hosts import DOCKER_HUB, DOCKER_HUB_ALIASES, parse_authority

SCP_LIKE = re.compile(r"^[^/:@]+@[^/:]+:")  # git@github.com:acme/app.git
NOT_HELPED = ("ssh", "git", "file", "git+ssh", "ssh+git")


class GitTarget:
    """A git URL as the helper would see it; ``path`` and ``username`` as git would send them."""

    __slots__ = ("scheme", "host", "port", "path", "username", "assumed_scheme")

    def __init__(self, scheme: str, host: str, port: int | None, path: str | None, username: str | None,
                 assumed_scheme: bool) -> None:
        self.scheme, self.host, self.port, self.path = scheme, host, port, path
        self.username, self.assumed_scheme = username, assumed_scheme

    def url(self) -> str:
        """``scheme://host[:port]/path`` without user: what git matches ``credential.<url>.*`` against."""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{self.host}{port}/{urllib.parse.quote(self.path or '', safe='/~')}"


def parse_git_url(text: str) -> GitTarget:
    """Split a git URL; ValueError (never quoting a password) when git's helpers would not be asked.

    >>> t = parse_git_url("https://me:pw@GitHub.com:443/acme/app.git/")
    >>> (t.scheme, t.host, t.port, t.path, t.username)
    ('https', 'github.com', None, 'acme/app.git', 'me')
    >>> parse_git_url("github.com/acme/app").assumed_scheme
    True
    """
    scheme, sep, rest = text.partition("://")
    assumed = not sep
    if assumed:
        if SCP_LIKE.match(text):
            raise ValueError("is an ssh address (user@host:path): ssh uses keys, not credential helpers; "
                             "explain the https:// URL instead")
        scheme, rest = "https", text
    scheme = scheme.lower()
    if scheme in NOT_HELPED:
        raise ValueError(f"is a {scheme}:// URL: git asks credential helpers only for http and https")
    if scheme not in ("http", "https"):
        raise ValueError(f"has scheme {scheme!r}; git asks credential helpers only for http and https")
    authority, _, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    username = urllib.parse.unquote(userinfo.partition(":")[0]) if at else None
    parsed = parse_authority(urllib.parse.unquote(hostport), scheme)
    if parsed is None:
        raise ValueError(f"has no valid host[:port] ({hostport!r})")
    path = urllib.parse.unquote(path).strip("/")
    return GitTarget(scheme, parsed[0], parsed[1], path or None, username, assumed)


def redact(text: str) -> str:
    """``text`` with any ``user:password@`` password replaced, for messages.

    >>> redact("https://me:tok@host/x")
    'https://me:***@host/x'
    """
    scheme, sep, rest = text.rpartition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***"
    return f"{scheme}{sep}{userinfo}{at}{hostport}{slash}{path}"


def _hub(host: str) -> bool:
    return host.lower().rstrip(".") in DOCKER_HUB_ALIASES


def guess_kind(target: str) -> tuple[str, str]:
    """(kind, why) by the rules in this module's docstring.

    >>> [guess_kind(t)[0] for t in ("https://github.com/acme/app.git", "github.com/acme/app", "ghcr.io",
    ...                             "localhost:5000", "https://index.docker.io/v1/", "https://ghcr.io/v2/")]
    ['git', 'git', 'docker', 'docker', 'docker', 'docker']
    """
    scheme, sep, rest = target.partition("://")
    authority, slash, path = (rest if sep else target).partition("/")
    host = authority.rpartition("@")[2].rpartition(":")[0] or authority.rpartition("@")[2]
    if _hub(host) and "@" not in authority:
        return "docker", "a Docker Hub name"
    if sep:
        if path.strip("/") in ("", "v1", "v2"):
            return "docker", "a registry server string (a scheme and no repository path)"
        return "git", "a URL with a scheme and a path"
    if slash and path or "@" in authority or target.endswith(".git"):
        return "git", "a host with a path"
    return "docker", "a bare host[:port]"


def docker_server(target: str) -> tuple[str, str | None]:
    """(server string docker would send, note) for a registry, a server string or an image reference.

    >>> docker_server("ghcr.io/acme/app:1.0")
    ('ghcr.io', 'image reference: docker asks the helper for ghcr.io')
    >>> docker_server("library/ubuntu")[0], docker_server("https://index.docker.io/v1/")[0]
    ('docker.io', 'https://index.docker.io/v1/')
    """
    if "://" in target or "/" not in target.rstrip("/"):
        return target, None
    first = target.partition("/")[0]
    server = first if ("." in first or ":" in first or first == "localhost") else DOCKER_HUB
    return server, f"image reference: docker asks the helper for {server}"
