"""``gatepass explain``: which account git or docker would get for a URL, and why every other one lost."""

from __future__ import annotations

import urllib.parse

import click

from gatepass.cli.common import KINDS, load_all, print_json, readable, source_kind
from gatepass.errors import GatepassError
from gatepass.hosts import parse_authority
from gatepass.model import Candidate, Request
from gatepass.resolver import rank

MAX_OTHER_HOSTS = 20


def git_request(url: str, use_path: bool) -> Request:
    parts = urllib.parse.urlsplit(url if "://" in url else "https://" + url)
    authority = parse_authority(parts.netloc.rpartition("@")[2], parts.scheme.lower())
    if parts.scheme.lower() not in ("http", "https") or authority is None:
        raise GatepassError(f"{url} is not an http(s) git URL; example: gatepass explain https://github.com/acme/app.git")
    username = urllib.parse.unquote(parts.netloc.rpartition("@")[0].partition(":")[0]) or None
    path = urllib.parse.unquote(parts.path.lstrip("/")) if use_path else None
    return Request("git", parts.scheme.lower(), authority[0], authority[1], path or None, username)


def guess_kind(target: str) -> str:
    """git for a URL with a scheme or a path (``host/org/repo``), docker for a bare registry name."""
    if target.startswith(("http://", "https://")):
        return "docker" if target.rstrip("/").endswith(("/v1", "/v2")) else "git"
    return "git" if "/" in target else "docker"


def lost_because(candidate: Candidate, chosen: Candidate) -> str:
    """Why an eligible, readable account lost to the chosen one (resolution step 6)."""
    if candidate.tier != chosen.tier:
        return f"{chosen.account.label()} comes first: {chosen.reason}"
    if candidate.account.rank != chosen.account.rank:
        return f"{chosen.account.label()} is in a higher layer ({chosen.account.layer} over {candidate.account.layer})"
    return f"{chosen.account.label()} comes earlier in file order"


@click.command()
@click.argument("target")
@click.option("--kind", type=KINDS, help="git or docker (default: git for URLs with a path, docker for registries).")
@click.option("--use-http-path/--no-use-http-path", default=True,
              help="Send the path as git does with credential.useHttpPath (default), which the organization rule needs.")
@click.option("--json", "as_json", is_flag=True, help="The verdict as JSON.")
def explain(target: str, kind: str | None, use_http_path: bool, as_json: bool) -> None:
    """Show the account git or docker would get for TARGET, from which file and line, and why each
    other candidate lost (host, scheme, username, organization, precedence, unreadable secret).

    \b
    Examples:
      gatepass explain https://github.com/acme/app.git
      gatepass explain ghcr.io --kind docker
    """
    kind = kind or guess_kind(target)
    if kind == "git":
        request = git_request(target, use_http_path)
    else:
        from gatepass.protocol.docker import to_request_for_store

        try:
            request = to_request_for_store(target)
        except GatepassError:
            raise GatepassError(f"{target} is not a registry host[:port] or URL; example: gatepass explain ghcr.io") from None
    _, store, accounts = load_all(kind)
    eligible, ruled_out = rank(request, accounts)
    verdicts, chosen = [], None
    for candidate in eligible:
        ok, why = readable(candidate.account, store)
        if chosen is None and ok:
            chosen = candidate
            verdicts.append((candidate.account, "chosen", candidate.reason))
        elif not ok:
            verdicts.append((candidate.account, "unreadable secret", why))
        elif chosen is not None:
            verdicts.append((candidate.account, "precedence", lost_because(candidate, chosen)))
    other_hosts = [c for c in ruled_out if c.rule == "host"]
    shown = [c for c in ruled_out if c.rule != "host"] + (other_hosts if len(other_hosts) <= MAX_OTHER_HOSTS else [])
    verdicts += [(c.account, c.rule, c.reason) for c in shown]
    rows = [{"username": a.username, "domain": a.domain, "layer": a.layer, "where": a.where,
             "source": source_kind(a), "verdict": v, "reason": r} for a, v, r in verdicts]
    if as_json:
        print_json({"kind": kind, "host": request.host, "chosen": rows[0] if chosen else None, "candidates": rows})
        return
    where = f"{request.scheme + '://' if request.scheme else ''}{request.host}{':' + str(request.port) if request.port else ''}"
    click.echo(f"{kind} request for {where}" + (f" path {request.path}" if request.path else "")
               + (f" user {request.username}" if request.username else ""))
    if chosen is None:
        click.echo("no account answers: git would prompt (or fail), docker gets 'credentials not found'")
    for row in rows:
        mark = "->" if row["verdict"] == "chosen" else "  "
        click.echo(f"{mark} {row['username']}@{row['domain']} [{row['layer']} {row['where']}, {row['source']}]: "
                   f"{row['verdict']}: {row['reason']}")
    if len(other_hosts) > MAX_OTHER_HOSTS:
        click.echo(f"   ({len(other_hosts)} accounts on other hosts not shown)")
