"""Host names, ports and docker server strings: the normalisation that resolution step 1 and 3 rely on.

Matching is equality on normalised names, never suffix, prefix or substring matching
(docs/design.md §2, step 1): ``github.com.evil.io``, ``evilgithub.com`` and ``github.com@evil.io``
can never normalise to ``github.com``.
"""

DEFAULT_PORTS = {"https": 443, "http": 80}

# Docker Hub is one registry under all of these names (docs/design.md §2, step 3).
DOCKER_HUB = "docker.io"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                                "registry.hub.docker.com"})
# Paths a docker server string may carry and still name the registry itself.
REGISTRY_PATHS = frozenset({"", "/", "/v1", "/v1/", "/v2", "/v2/"})

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
# The one domain with two wildcards: every Amazon ECR registry (account id, region) may share an
# account whose aws_ecr engine mints per registry. No other shape gets a second "*".
ECR_PATTERN = "*.dkr.ecr.*.amazonaws.com"
# Google Artifact Registry's docker hosts are REGION-docker.pkg.dev (or a multi-region: europe-,
# us-, asia-): one service account's token serves them all, so one account may name them all. The
# "*" stands for part of one label, never a dot: it matches only LOCATION-docker.pkg.dev.
AR_PATTERN = "*-docker.pkg.dev"


def normalize_host(host: str, *, wildcard: bool = False) -> str | None:
    """Lowercase, strip one trailing dot, IDNA-encode as curl does; ``None`` when it is no host name at all.

    A name with any non-ASCII character goes through UTS #46 non-transitional processing (the
    ``idna`` package; curl with libidn2 does the same), never Python's built-in IDNA2003 codec,
    which maps ``ß`` to ``ss`` and ``ς`` to ``σ`` and so would hand ``classic``'s token to
    ``claßic``. UTS #46 does its own case mapping, so such a name is not lowercased by Python first
    (``str.lower`` turns ``ẞ`` into ``ß`` and a final ``Σ`` into ``ς``; UTS #46 gives ``ss`` and
    ``σ``). A name ``idna`` refuses is no host: it gets no token (curl may still reach it through
    its transitional fallback, but then with no token of ours). An ASCII name is compared as curl
    sends it and never imports ``idna``: the warm helper stays import-free.

    >>> normalize_host("GitHub.COM.")
    'github.com'
    >>> normalize_host("bücher.example")
    'xn--bcher-kva.example'
    >>> normalize_host("straße.example"), normalize_host("strasse.example")
    ('xn--strae-oqa.example', 'strasse.example')
    >>> normalize_host("github.com@evil.io") is None
    True
    >>> normalize_host("*.example.com", wildcard=True)
    '*.example.com'
    """
    if host.startswith("[") and host.endswith("]"):  # IPv6 literal: compare as written, lowercased
        inner = host[1:-1].lower()
        return host.lower() if inner and all(c in "0123456789abcdef:." for c in inner) else None
    if wildcard and host.lower() in (ECR_PATTERN, ECR_PATTERN + ".", AR_PATTERN, AR_PATTERN + "."):
        return host.lower().rstrip(".")
    prefix = ""
    if wildcard and host.startswith("*."):
        prefix, host = "*.", host[2:]
    if host.isascii():
        host = host.lower()
    else:
        encoded = _uts46(host)
        if encoded is None:
            return None
        host = encoded
    if host.endswith("."):
        host = host[:-1]
    if not host or host.startswith(".") or ".." in host or not set(host) <= _HOST_CHARS:
        return None
    return prefix + host


# The UTS #46 deviation characters: transitional processing (IDNA2003, Python's codec, older
# browsers) maps them away, non-transitional processing keeps them.
_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")


def _uts46(host: str) -> str | None:
    """UTS #46 non-transitional A-label form (``idna`` imported only here), or ``None`` if invalid.

    A name that holds a deviation character once mapped must be written exactly in its mapped
    form (lowercase, NFC, nothing for UTS #46 to map): implementations disagree on such names
    (curl's libidn2 2.3 maps ``ẞ`` to ``ss``, Unicode 15.1 tables map it to ``ß``; transitional
    ones drop ``ß`` to ``ss`` altogether), so only the one spelling every implementation reads
    the same way may match (docs/design.md "Resolution" 1).
    """
    import idna

    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        if mapped != host and not _DEVIATIONS.isdisjoint(mapped):
            return None
        return idna.encode(mapped, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def plain_host(text: str) -> bool:
    """Whether ``text`` is lowercase ASCII labels with no port, scheme, path, wildcard or empty label:
    a name every normalisation gives back as it is (a config domain's fast path; tested against the
    general one)."""
    return bool(text) and _HOST_CHARS.issuperset(text) and text[0] != "." and text[-1] != "." and ".." not in text


def split_host_port(text: str) -> tuple[str, int | None] | None:
    """Split ``host[:port]`` (``[v6]:port`` too); ``None`` when the port is not a number in range.

    >>> split_host_port("example.com:8443")
    ('example.com', 8443)
    >>> split_host_port("[::1]:5000")
    ('[::1]', 5000)
    >>> split_host_port("example.com:x") is None
    True
    """
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[: end + 1], text[end + 1:]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        host, sep, port_text = text.partition(":")
        if not sep:
            return host, None
    if not port_text.isdigit() or not port_text.isascii() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def parse_authority(text: str, scheme: str | None, *, wildcard: bool = False
                    ) -> tuple[str, int | None] | None:
    """Normalise ``host[:port]``; the scheme's default port is dropped. ``None`` if invalid."""
    parts = split_host_port(text)
    if parts is None:
        return None
    host = normalize_host(parts[0], wildcard=wildcard)
    if host is None:
        return None
    port = parts[1]
    if scheme is not None and port == DEFAULT_PORTS.get(scheme):
        port = None
    return host, port


def host_matches(pattern: str, host: str) -> bool:
    """Equality, or ``*.suffix`` matching exactly one more label (never the apex, never two labels).

    >>> host_matches("*.example.com", "git.example.com")
    True
    >>> host_matches("*.example.com", "example.com"), host_matches("*.example.com", "a.b.example.com")
    (False, False)
    """
    if pattern == ECR_PATTERN:
        return is_ecr_registry(host)
    if pattern == AR_PATTERN:
        return is_artifact_registry(host)
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(dot) and bool(label) and label != "*" and rest == pattern[2:]
    return pattern == host


def is_ecr_registry(host: str) -> bool:
    """``ACCOUNT.dkr.ecr.REGION.amazonaws.com``: what :data:`ECR_PATTERN` matches (one label each).

    >>> is_ecr_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    True
    >>> is_ecr_registry("x.y.dkr.ecr.us-east-1.amazonaws.com"), is_ecr_registry("dkr.ecr.us-east-1.amazonaws.com")
    (False, False)
    """
    labels = host.split(".")
    return (len(labels) == 6 and labels[1:3] == ["dkr", "ecr"] and labels[4:] == ["amazonaws", "com"]
            and all(label and label != "*" for label in (labels[0], labels[3])))


def is_artifact_registry(host: str) -> bool:
    """``LOCATION-docker.pkg.dev``: what :data:`AR_PATTERN` matches (a location of letters, digits, ``-``).

    >>> is_artifact_registry("europe-west1-docker.pkg.dev"), is_artifact_registry("us-docker.pkg.dev")
    (True, True)
    >>> is_artifact_registry("-docker.pkg.dev"), is_artifact_registry("a.b-docker.pkg.dev"), is_artifact_registry("docker.pkg.dev")
    (False, False, False)
    """
    label, dot, rest = host.partition(".")
    location = label[:-len("-docker")] if label.endswith("-docker") else ""
    return (bool(dot) and rest == "pkg.dev" and bool(location) and location[0].isalnum()
            and all(c.isascii() and (c.isalnum() or c == "-") for c in location))


def parse_docker_server(server: str) -> tuple[str | None, str, int | None, str] | None:
    """Split a docker server string into (scheme, host, port, extra path).

    ``http(s)://`` is stripped, a path of ``/``, ``/v1/`` or ``/v2/`` names the registry itself;
    any other path is returned so the caller keeps the string as an exact key. Docker Hub under
    each of its names becomes ``docker.io``.

    >>> parse_docker_server("https://index.docker.io/v1/")
    ('https', 'docker.io', None, '')
    >>> parse_docker_server("127.0.0.1:5000")
    (None, '127.0.0.1', 5000, '')
    >>> parse_docker_server("https://index.docker.io/v1/refresh-token")
    ('https', 'docker.io', None, '/v1/refresh-token')
    """
    scheme = None
    lowered = server[:8].lower()
    for candidate in ("https://", "http://"):
        if lowered.startswith(candidate):
            scheme, server = candidate[:-3], server[len(candidate):]
            break
    authority, slash, path = server.partition("/")
    path = slash + path
    parsed = parse_authority(authority, scheme)
    if parsed is None:
        return None
    host, port = parsed
    return scheme, docker_hub(host, port), port, "" if path in REGISTRY_PATHS else path


def docker_hub(host: str, port: int | None) -> str:
    """``docker.io`` for any of Docker Hub's names on the default port, else ``host`` (normalised).
    The one canonicalisation: docker server strings here, config domains in ``normalize_domain``.

    >>> docker_hub("registry-1.docker.io", None), docker_hub("index.docker.io", 8443)
    ('docker.io', 'index.docker.io')
    """
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES and port is None else host


def join_host_port(host: str, port: int | None) -> str:
    """``host`` or ``host:port``, as the store's index keeps it."""
    return host if port is None else f"{host}:{port}"


def docker_display_key(host: str, port: int | None) -> str:
    """The server string docker tools expect in ``list``: Docker Hub as ``https://index.docker.io/v1/``."""
    if host == DOCKER_HUB and port is None:
        return DOCKER_HUB_KEY
    return join_host_port(host, port)


def normalize_domain(kind: str, text: str) -> tuple[str, int | None, bool | None]:
    """(host, port, https or None when no scheme was written) for a ``domain`` value; ValueError if invalid.

    >>> normalize_domain("docker", "http://127.0.0.1:5000/")
    ('127.0.0.1', 5000, False)
    >>> normalize_domain("docker", "index.docker.io")
    ('docker.io', None, None)
    """
    if plain_host(text):  # what the checks below would give back unchanged, in a few C calls
        return (text if kind == "git" else docker_hub(text, None)), None, None
    scheme = None
    if kind == "docker":
        for prefix in ("http://", "https://"):
            if text.lower().startswith(prefix):
                scheme, text = prefix[:-3], text[len(prefix):]
                break  # one scheme only: "http://https://x" is an error below, not x
        text = text[:-1] if text.endswith("/") else text
    if "://" in text or "/" in text or "@" in text:
        raise ValueError("must be host[:port], with no scheme, path or user" +
                         (" (a registry may start with http://)" if kind == "docker" else ""))
    parsed = parse_authority(text, scheme, wildcard=True)
    if parsed is None:
        raise ValueError("is not a valid host[:port]")
    host, port = parsed
    if kind == "docker":
        host = docker_hub(host, port)
    return host, port, None if scheme is None else scheme == "https"
