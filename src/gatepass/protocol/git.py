"""git-credential-gatepass: git's credential helper protocol (git-credential(1) "INPUT/OUTPUT FORMAT").

Security history shapes the parser: CVE-2020-5260 (a newline smuggled into a URL became a
second attribute) and CVE-2024-52006 "Clone2Leak" (a carriage return read as a line end). So
stdin is read as bytes and split on ``\\n`` only; a request holding CR or NUL anywhere gets no
answer, and no value with CR, LF or NUL is ever written.

Errors become output here and only here: no answer is empty stdout and exit 0 (git then
asks the next helper or the user), with one ``gatepass:`` line on stderr when there is a reason.
"""

import time

from gatepass.errors import GatepassError, InvalidRequestError, internal_error
from gatepass.hosts import join_host_port, parse_authority
from gatepass.model import Request
from gatepass.protocol import CLOSED, STDIN_CLOSED, finish, read_input, reporter, resolve

MAX_REQUEST_BYTES = 1024 * 1024  # git's requests are a few hundred bytes
MAX_LINES = 4096
# Keys whose values we keep; everything else (wwwauth[], other capabilities, state[]...) is ignored.
KEPT = frozenset({"protocol", "host", "path", "username", "password", "password_expiry_utc",
                  "oauth_refresh_token", "ephemeral", "url"})
# Keys git writes once per request: a second one is a smuggling symptom (a URL's newline became an
# attribute, CVE-2020-5260), so the request gets no answer rather than "last value wins".
SINGLE = frozenset({"protocol", "host", "path"})
# The state[] a get adds when a config layer answered and git announced the state capability. git
# 2.46+ sends it back with the store that follows; the shell launchers then end that store without
# starting Python, since it would save nothing (a config answer is never copied into the store).
CONFIG_STATE = "gatepass:config"
# A credential that expires within this many seconds gets no state: git drops an expired answer and
# asks the next helper, and that helper's credential must not reach store carrying our state.
STATE_MARGIN = 300

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import BinaryIO

    from gatepass.stores.index import Entry
    from gatepass.trace import Trace

    # Every operation, as docker-credential-helpers' HandleCommand has it: the request, the environment,
    # where to say things, the trace (None when off); the bytes to print.
    Operation = Callable[[dict[str, str], Mapping[str, str], Callable[[str], None], "Trace | None"], bytes]


def read_request(stream: "BinaryIO", env: "Mapping[str, str] | None" = None) -> bytes:
    """Read up to a blank line or EOF (git 2.39 sends no blank line), bounded in size and in time
    (``protocol.read_input``: a stdin that never closes is one clear error, not a hang)."""
    data = read_input(stream, MAX_REQUEST_BYTES, env or {}, blank_line_ends=True)
    if data.startswith(b"\n"):
        return b""
    end = data.find(b"\n\n")
    request = data if end < 0 else data[:end + 1]
    if len(request) > MAX_REQUEST_BYTES or request.count(b"\n") > MAX_LINES:
        raise InvalidRequestError(f"request larger than {MAX_REQUEST_BYTES} bytes or {MAX_LINES} lines; ignored")
    return request


def parse_request(data: bytes) -> dict[str, str]:
    """Parse ``key=value`` lines into a dict (last value wins, as in git's credential.c, except that a
    repeated ``protocol``, ``host`` or ``path`` refuses the whole request).

    >>> parse_request(b"protocol=https\\nhost=example.com\\ncapability[]=authtype\\n")
    {'protocol': 'https', 'host': 'example.com'}
    """
    if b"\r" in data or b"\0" in data:
        raise InvalidRequestError("request contains a carriage return or NUL; ignored (CVE-2024-52006)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError("request is not UTF-8; ignored") from None
    attrs: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InvalidRequestError("request line without '='; ignored")
        if key in SINGLE and key in attrs:
            raise InvalidRequestError(f"request repeats {key}=, which git never does; ignored")
        if key in KEPT:
            attrs[key] = value
        elif key == "capability[]" and value == "state":
            attrs[key] = value  # git 2.46+ hands a helper's state[] back on store (see CONFIG_STATE)
    return attrs


def to_request(attrs: dict[str, str]) -> "Request":
    """Turn attributes into a resolver Request; protocol and host are required."""
    protocol, host = attrs.get("protocol"), attrs.get("host")
    if not protocol or not host:
        raise InvalidRequestError("request without protocol and host; ignored")
    scheme = protocol.lower()
    parsed = parse_authority(host, scheme)
    if parsed is None:
        raise InvalidRequestError("request host is not a valid host[:port]; ignored")
    return Request("git", scheme, parsed[0], parsed[1], attrs.get("path") or None,
                   attrs["username"] if "username" in attrs else None)


def render(username: str, password: str, expiry: int | None, refresh: str | None = None) -> bytes:
    """The answer: ``username=``, ``password=`` and, when stored with them, ``password_expiry_utc=``
    and ``oauth_refresh_token=`` (git 2.41+ keeps both with the credential); nothing else."""
    lines = [f"username={username}", f"password={password}"]
    if expiry is not None:
        lines.append(f"password_expiry_utc={int(expiry)}")
    if refresh is not None:
        lines.append(f"oauth_refresh_token={refresh}")
    for line in lines:
        if "\n" in line or "\r" in line or "\0" in line:
            raise GatepassError("a stored or configured value contains CR, LF or NUL; refusing to answer")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _get(attrs: dict[str, str], env: "Mapping[str, str]", report: "Callable[[str], None]",
         trace: "Trace | None") -> bytes:
    from gatepass import app

    request = to_request(attrs)
    found = app.answer(request, env, report, trace=trace)
    if trace is not None:
        trace.outcome = "answered" if found is not None else "no answer"
    if found is None:
        _say_why_not(request, env, report)
        return b""
    account, secret = found
    answer = render(account.username, secret.value, secret.expiry, secret.refresh)
    if (attrs.get("capability[]") == "state" and account.layer != "store" and secret.refresh is None
            and (secret.expiry is None or secret.expiry > time.time() + STATE_MARGIN)):
        answer += f"capability[]=state\nstate[]={CONFIG_STATE}\n".encode()
    return answer


def _say_why_not(request: "Request", env: "Mapping[str, str]", report: "Callable[[str], None]") -> None:
    """One line when no account answered for a reason the user can fix: an https-only account asked over http.

    Only on the no-answer path; the config is the one ``answer`` just loaded (cached parse).
    """
    from gatepass import app
    from gatepass.resolver import rank

    _, accounts = app.candidates(request, env, lambda message: None, with_store=False)
    _, ruled_out = rank(request, accounts)
    for candidate in ruled_out:
        if candidate.rule == "scheme" and request.scheme == "http":
            account = candidate.account
            report(f"{account.where}: {account.label()} answers only https and git asked over http; "
                   "if this server really is plain http, set https = false there")
            return


def _expiry(attrs: dict[str, str]) -> int | None:
    value = attrs.get("password_expiry_utc", "")
    return int(value) if value.isdigit() and value.isascii() else None


def _entry(attrs: dict[str, str], request: "Request") -> "Entry":
    from gatepass.stores.index import Entry

    host = join_host_port(request.host, request.port)
    return Entry("git", request.scheme or "", host, attrs.get("path", ""), attrs.get("username", ""),
                 expiry=_expiry(attrs))


def _store(attrs: dict[str, str], env: "Mapping[str, str]", report: "Callable[[str], None]",
           trace: "Trace | None") -> bytes:
    """Remember what git approved, into the store layer only.

    Like git's credential-store: a credential without protocol, host, username or password is not
    stored (an empty username or password is still a value and round-trips). Never stored: an
    ``ephemeral`` one (git says it must not outlive this request), an expired one, and one a
    config layer already gives (the config stays the single source of it).
    """
    from gatepass import app

    if "username" not in attrs or "password" not in attrs or attrs.get("ephemeral", "") not in ("", "0", "false"):
        return b""
    request = to_request(attrs)
    expiry = _expiry(attrs)
    if expiry is not None and expiry < int(time.time()):
        return b""
    app.remember(request_for_user(request, attrs["username"]), attrs["username"], lambda: _entry(attrs, request),
                 attrs["password"], env, report, attrs.get("oauth_refresh_token"))
    return b""


def request_for_user(request: "Request", username: str) -> "Request":
    return Request(request.kind, request.scheme, request.host, request.port, request.path, username)


def _erase(attrs: dict[str, str], env: "Mapping[str, str]", report: "Callable[[str], None]",
           trace: "Trace | None") -> bytes:
    """Forget what git rejected: every stored entry matching the given fields (git's credential_match).

    Config files are never touched. An empty pattern erases nothing; when a password is given,
    only entries holding that password are erased.
    """
    from gatepass import app

    if not any(attrs.get(k) for k in ("protocol", "host", "path")) and "username" not in attrs:
        return b""
    if not attrs.get("protocol") or not attrs.get("host"):
        return b""  # git always sends protocol and host; anything less is too broad to act on
    request = to_request(attrs)
    want = _entry(attrs, request)

    def matches(entry: "Entry") -> bool:
        return (entry.kind == "git" and entry.protocol == want.protocol and entry.host == want.host
                and ("path" not in attrs or entry.path == want.path)
                and ("username" not in attrs or entry.username == want.username))

    removed = app.store_for(request.host, env, report).erase(matches, attrs.get("password"))  # host, not host:port
    if not removed and "password" in attrs and "username" in attrs:
        _say_config_rejected(request, attrs["username"], attrs["password"], env, report)
    return b""


def _say_config_rejected(request: "Request", username: str, password: str, env: "Mapping[str, str]",
                         report: "Callable[[str], None]") -> None:
    """git erases what the server rejected; when that came from a config file, say which one to fix.

    git itself only shows "Authentication failed". The config is never edited (docs/design.md §3: erase
    never touches a config file); the value is compared, never shown.
    """
    from gatepass import app

    found = app.answer(request_for_user(request, username), env, lambda message: None, with_store=False)
    if found is not None and found[1].value == password and found[0].layer != "store":
        account = found[0]
        if isinstance(account.secret_ref, dict):  # an engine's cached value (gatepass.engines): read it afresh next time
            if app.forget_engine_value(account, request_for_user(request, username), env, password):
                report(f"the server rejected the token of {account.label()} from {account.secret_kind} "
                       f"({account.where}); the next request reads it from the engine again")
            return
        report(f"the server rejected the token of {account.label()} from {account.where}; fix it there "
               "(gatepass does not edit config files)")


OPERATIONS: "dict[str, Operation]" = {"get": _get, "store": _store, "erase": _erase}


def main(argv: list[str] | None = None, stdin: "BinaryIO | None" = None, stdout: "BinaryIO | None" = None,
         stderr: "BinaryIO | None" = None, env: "Mapping[str, str] | None" = None) -> int:
    argv, stdin, stdout, stderr, env = resolve(argv, stdin, stdout, stderr, env)
    report = reporter(stderr)

    operation = OPERATIONS.get(argv[-1] if argv else "")
    if operation is None:
        return 0  # gitcredentials(7): unknown operations are ignored, leaving room for new ones
    if 0 in CLOSED:
        report(STDIN_CLOSED)
        return 1
    trace = None
    if env.get("GATEPASS_TRACE"):  # tracing off imports nothing (not even json)
        from gatepass import trace as tracing

        trace = tracing.start(env, "git", argv[-1], time.time())
    try:
        return _run(operation, stdin, stdout, env, report, trace)
    finally:
        if trace is not None:
            trace.write(report)


def _run(operation: "Operation", stdin: "BinaryIO", stdout: "BinaryIO", env: "Mapping[str, str]",
         report: "Callable[[str], None]", trace: "Trace | None") -> int:
    attrs: dict[str, str] = {}
    try:
        attrs = parse_request(read_request(stdin, env))
        output = operation(attrs, env, report, trace)
    except GatepassError as exc:
        report(str(exc))
        _note(trace, attrs, f"refused: {exc}")
        return 0
    except Exception as exc:  # the one place an unexpected failure becomes one line
        _note(trace, attrs, f"internal error ({type(exc).__name__})")
        if env.get("GATEPASS_DEBUG"):
            raise
        report(internal_error(exc))
        return 1
    _note(trace, attrs, (trace.outcome if trace is not None else None) or "done")  # get says what it answered
    stdout.write(output)
    stdout.flush()
    return 0


def _note(trace: "Trace | None", attrs: dict[str, str], outcome: str) -> None:
    """The outcome, and for store/erase (which rank nothing) the request, on the trace."""
    if trace is None:
        return
    trace.outcome = outcome
    if trace.request is None and attrs.get("protocol") and attrs.get("host"):
        try:
            trace.request = to_request(attrs)
        except GatepassError:
            pass


if __name__ == "__main__":
    finish(main())
