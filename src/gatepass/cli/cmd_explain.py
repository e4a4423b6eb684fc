"""``gatepass explain``: which account git or docker would get for a URL or registry, and why every other one lost.

The request is built the way each helper receives it (git: ``targets.parse_git_url`` plus what
git's own config adds; docker: ``protocol.docker.to_request``) and judged by the one resolver,
``resolver.rank``: nothing here matches hosts or orders accounts itself.
"""

from __future__ import annotations

import click

from gatepass import app
from gatepass.cli import gitconfig, targets
from gatepass.cli.common import KINDS, engine_detail, env, load_all, print_json, provenance, readable, source_kind
from gatepass.cli.terminal import printable
from gatepass.errors import GatepassError, NotFoundError
from gatepass.model import Account, Candidate, Request
from gatepass.resolver import TIER_SCOPED, TIER_UNSCOPED, rank
from gatepass.stores.layer import Store

MAX_OTHER_HOSTS = 20


def git_request(target: str, use_http_path: bool | None) -> tuple[Request, list[str]]:
    """The Request git-credential-gatepass would get for ``target``, and notes saying how it was built."""
    try:
        url = targets.parse_git_url(target)
    except ValueError as exc:
        raise GatepassError(f"{targets.redact(target)} {exc}; example: gatepass explain https://github.com/acme/app.git") from None
    notes = ["scheme: none given, https assumed"] if url.assumed_scheme else []
    username, configured = url.username, None
    if gitconfig.available(env()):
        config = gitconfig.GitConfig("", env())  # what git reads here: system, global, this repository
        try:
            if username is None:
                # git fills credential.<url>.username in before it asks a helper (matching the path,
                # even when it then drops the path): what `gatepass setup git` relies on (docs/design.md §2 step 5).
                username = config.urlmatch("credential.username", url.url())
                if username is not None:
                    notes.append(f"username: {username}, from git config credential.<url>.username")
            configured = config.urlmatch("credential.useHttpPath", url.url(), boolean=True)
        except GatepassError as exc:
            notes.append(f"git config could not be read, so none of it is applied: {exc}")
    setting = f"credential.useHttpPath {configured}" if configured else "no credential.useHttpPath"
    git_sends = configured == "true"
    git_does = f"git config here has {setting} for this URL, so git {'sends the' if git_sends else 'sends no'} path"
    if use_http_path is None:  # as git will do with this config (never assume the path is sent)
        use_http_path = git_sends
        other = "--no-use-http-path" if use_http_path else "--use-http-path"
        notes.append(f"path: {'sent' if use_http_path else 'not sent'}: {git_does} ({other} shows the other case)")
    else:
        asked = "--use-http-path" if use_http_path else "--no-use-http-path"
        notes.append(f"path: {'sent' if use_http_path else 'not sent'}, as {asked} asks; {git_does}")
    path = url.path if use_http_path else None
    return Request("git", url.scheme, url.host, url.port, path, username), notes


def docker_request(target: str) -> tuple[Request, list[str]]:
    """The Request docker-credential-gatepass would get: ``to_request`` of the server string docker sends."""
    from gatepass.protocol.docker import to_request

    server, note = targets.docker_server(target)
    try:
        return to_request(server), [note] if note else []
    except NotFoundError:
        raise GatepassError(f"{targets.redact(target)} is not a registry host[:port], server URL or image reference; "
                            "example: gatepass explain ghcr.io") from None


def lost_because(candidate: Candidate, chosen: Candidate) -> str:
    """Why an eligible account after the chosen one lost (resolution step 6), naming the winner."""
    winner = f"{chosen.account.label()} ({chosen.account.where})"
    if candidate.tier != chosen.tier:
        if chosen.tier == TIER_SCOPED:
            return f"organization-scoped match first: {winner} is scoped to this organization"
        if chosen.tier == TIER_UNSCOPED:
            return f"no path sent, so unscoped accounts first: {winner}"
    if candidate.account.rank != chosen.account.rank:
        return f"lower layer: {candidate.account.layer} is below {chosen.account.layer}, where {winner} is"
    return f"later in file order: {winner} comes first"


def verdicts(request: Request, accounts: list[Account], store: Store, max_other_hosts: int | None,
             engines: dict[str, dict[str, object]] | None = None
             ) -> tuple[dict[str, object] | None, list[dict[str, object]], int]:
    """(the chosen row, one row per candidate, how many other-host rows were left out).

    The chosen account is the first eligible one whose secret reads, as in the helpers; like
    them, no secret after the winner is read.
    """
    eligible, ruled_out = rank(request, accounts)
    rows: list[dict[str, object]] = []
    chosen: Candidate | None = None
    chosen_row = None
    for candidate in eligible:
        if chosen is not None:
            rows.append(row(candidate.account, "precedence", lost_because(candidate, chosen)))
            continue
        ok, why = readable(candidate.account, store, request, engines)
        if ok:
            chosen = candidate
            chosen_row = row(candidate.account, "chosen", candidate.reason)
            rows.append(chosen_row)
        else:
            rows.append(row(candidate.account, "unreadable secret", why))
    other_hosts = [c for c in ruled_out if c.rule == "host"]
    hidden = 0
    if max_other_hosts is not None and len(other_hosts) > max_other_hosts:
        hidden, other_hosts = len(other_hosts), []
    rows += [row(c.account, c.rule, c.reason) for c in ruled_out if c.rule != "host"]
    rows += [row(c.account, c.rule, c.reason) for c in other_hosts]
    return chosen_row, rows, hidden


def row(account: Account, verdict: str, reason: str) -> dict[str, object]:
    detail = engine_detail(account)  # an engine's path (never the value)
    return {"username": account.username, "domain": account.domain, **provenance(account),
            "organizations": list(account.organizations), "source": source_kind(account),
            **({"engine": detail} if detail else {}), "verdict": verdict, "reason": reason}


def describe(request: Request) -> str:
    port = f":{request.port}" if request.port else ""
    parts = [f"protocol={request.scheme}"] if request.kind == "git" else []
    parts.append(f"host={request.host}{port}")
    if request.kind == "git":
        parts += [f"path={request.path}" if request.path else "no path",
                  f"username={request.username}" if request.username is not None else "no username"]
    elif request.exact_key:
        parts.append(f"exact key {request.exact_key}")
    return " ".join(parts)


def _echo(line: str) -> None:
    click.echo(printable(line))  # usernames, paths and reasons may hold control characters


@click.command()
@click.argument("target")
@click.option("--kind", type=KINDS, help="git or docker; guessed when not given (see below).")
@click.option("--use-http-path/--no-use-http-path", default=None,
              help="Send the path (or not), as git does with credential.useHttpPath=true (false). "
                   "Default: what your git config says for this URL.")
@click.option("--json", "as_json", is_flag=True, help="The request, the chosen account and every candidate as JSON.")
def explain(target: str, kind: str | None, use_http_path: bool | None, as_json: bool) -> None:
    """Show the account git or docker would get for TARGET, its file:line and secret source kind,
    and for each other candidate the rule that ruled it out (host, scheme, path, username,
    organization) or why it lost (precedence: organization-scoped match first, lower layer, later
    in file order; or secret unreadable). No token is read out or shown.

    TARGET is a git URL (https://[user@]host[:port]/path) or a docker registry (host[:port], a
    server URL such as https://index.docker.io/v1/, or with --kind docker an image reference).
    Without --kind, TARGET is git when it has a repository path (https://host/org/repo,
    host/org/repo), a user@ or a .git ending, and docker when it is a Docker Hub name, a bare
    host[:port], or a URL with no path (or /v1/, /v2/). An image reference needs --kind docker.

    \b
    Examples:
      gatepass explain https://github.com/acme/app.git
      gatepass explain https://github.com/acme/app.git --no-use-http-path
      gatepass explain ghcr.io
      gatepass explain ghcr.io/acme/app:1.0 --kind docker --json
    """
    guessed = None
    if kind is None:
        kind, why = targets.guess_kind(target)
        guessed = f"kind: {kind}, guessed: {why} (--kind {'docker' if kind == 'git' else 'git'} for the other)"
    request, notes = git_request(target, use_http_path) if kind == "git" else docker_request(target)
    notes = ([guessed] if guessed else []) + notes
    request.account = app.restriction(env())
    if request.account:
        notes.append(f"GATEPASS_ACCOUNT={request.account}: only that username may answer, as in the helpers")
    config, store, accounts = load_all(kind)
    chosen, rows, hidden = verdicts(request, accounts, store, None if as_json else MAX_OTHER_HOSTS, config.engines)
    if as_json:
        print_json({"kind": kind, "host": request.host,
                    "request": {"scheme": request.scheme, "host": request.host, "port": request.port,
                                "path": request.path, "username": request.username, "exact_key": request.exact_key,
                                "account": request.account},
                    "notes": notes, "chosen": chosen, "candidates": rows})
        return
    _echo(f"{kind} request: {describe(request)}")
    for note in notes:
        _echo(f"  {note}")
    if chosen is None:
        _echo("no account answers: git would ask the next helper or prompt; docker gets 'credentials not found'")
    else:
        _echo(f"chosen: {chosen['username']}@{chosen['domain']} from {chosen['where']} "
              f"(layer {chosen['layer']}), secret source: {chosen['source']}"
              + (f" {chosen['engine']}" if "engine" in chosen else ""))
    for item in rows:
        mark = "->" if item["verdict"] == "chosen" else "  "
        source = f"{item['source']} {item['engine']}" if "engine" in item else item["source"]
        _echo(f"{mark} {item['username']}@{item['domain']} [{item['layer']} {item['where']}, {source}]: "
              f"{item['verdict']}: {item['reason']}")
    if hidden:
        _echo(f"   ({hidden} accounts on other hosts not shown; --json lists them)")
