"""Resolution: one pure function from a request and accounts to ranked candidates with reasons.

Both helpers and ``gatepass explain`` use :func:`rank`; it does no I/O and reads no secret.
docs/design.md §2, steps 1-6: host (equality, ``*.`` one label), scheme, Docker Hub
aliases (done by the caller's parsing), username, organizations, then order.
"""

from gatepass.hosts import DEFAULT_PORTS, host_matches
from gatepass.model import NO_ORGANIZATION, Account, Candidate, Request

# Tiers, best first: scoped and matching the path's organization, unscoped, scoped with no path
# sent (git without credential.useHttpPath), docs/design.md §2 step 5.
TIER_SCOPED, TIER_UNSCOPED, TIER_SCOPED_NO_PATH = 0, 1, 2


def _port_for(port: int | None, scheme: str | None) -> int | None:
    return port if port is not None or scheme is None else DEFAULT_PORTS.get(scheme)


def _check_host(account: "Account", request: "Request") -> str | None:
    if not host_matches(account.host, request.host):
        return f"host {request.host} is not {account.host}"
    return None


def _check_port(account: "Account", request: "Request") -> str | None:
    if account.kind == "git":
        # An account without a port listens on its own scheme's default port.
        want = _port_for(account.port, "https" if account.secure else "http")
        got = _port_for(request.port, request.scheme)
    else:  # docker keys are host[:port] as written; the scheme's default port was dropped already
        want, got = account.port, request.port
    if want != got:
        return f"port {got or 'default'} is not {want or 'default'}"
    return None


def _check_scheme(account: "Account", request: "Request") -> str | None:
    if account.kind == "git" and request.scheme not in ("https", "http"):
        return f"protocol {request.scheme} is not http or https"
    if account.secure and request.scheme == "http":
        return f"{account.domain} is https-only and the request is plain http"
    return None


def judge(account: "Account", request: "Request") -> "Candidate":
    """Apply steps 1-5 to one account."""
    if request.exact_key is not None and account.layer != "store":
        return Candidate(account, False, "host", f"{request.exact_key} is an exact key; only a stored entry answers it")
    for rule, check in (("host", _check_host), ("scheme", _check_scheme), ("host", _check_port)):
        reason = check(account, request)
        if reason:
            return Candidate(account, False, rule, reason)
    stored_path = getattr(account, "path", None)  # only stored entries carry a path
    if account.kind == "docker" and stored_path != request.path:
        return Candidate(account, False, "path", f"the key's path {request.path or '(none)'} is not "
                                                 f"{stored_path or '(none)'}")
    if account.kind == "git" and stored_path and stored_path != request.path:
        # A path-scoped entry answers its own path only: answering a path-less request (git without
        # credential.useHttpPath) would give it to every repository on the host.
        sent = f"not {request.path}" if request.path else "and git sent no path (credential.useHttpPath is off)"
        return Candidate(account, False, "path", f"stored for path {stored_path}, {sent}")
    if request.username is not None and request.username != account.username:
        return Candidate(account, False, "username", f"the request names user {request.username}")
    if request.account is not None and request.account != account.username:
        return Candidate(account, False, "account", f"GATEPASS_ACCOUNT={request.account} restricts answers to that user")
    if not account.organizations:
        return Candidate(account, True, "match", "unscoped account", TIER_UNSCOPED)
    org = request.first_segment()
    orgs = ", ".join(account.organizations)
    if org is None:
        return Candidate(account, True, "match", f"scoped to {orgs}; no path sent, so after unscoped accounts",
                         TIER_SCOPED_NO_PATH)
    if org == NO_ORGANIZATION:
        return Candidate(account, False, "organization", f"the path {request.path} names no organization "
                         "unambiguously (an encoded slash or dot segment); only unscoped accounts answer it")
    if org in (o.lower() for o in account.organizations):  # org is lowercased; the config keeps its case
        return Candidate(account, True, "match", f"organization {org} is in its scope", TIER_SCOPED)
    return Candidate(account, False, "organization", f"organization {org} is not in {orgs}")


def rank(request: "Request", accounts: "list[Account]") -> "tuple[list[Candidate], list[Candidate]]":
    """Return (eligible candidates best first, ruled-out candidates) for accounts of the request's kind.

    Order (step 6): scoped match before unscoped, then store > user > host > global, then file
    order. The caller takes the first whose secret can be read.
    """
    eligible: list[Candidate] = []
    ruled_out: list[Candidate] = []
    for account in accounts:
        if account.kind != request.kind:
            continue
        candidate = judge(account, request)
        (eligible if candidate.ok else ruled_out).append(candidate)
    eligible.sort(key=lambda c: (c.tier, -c.account.rank, c.account.order))
    return eligible, ruled_out
