"""docker-credential-gatepass: the docker credential helper protocol (docker/docker-credential-helpers).

One argument picks the action: ``store`` reads ``{"ServerURL","Username","Secret"}``; ``get`` and
``erase`` read a bare server string; ``list`` never reads stdin (docker-py leaves the caller's
stdin attached) and prints a JSON object; ``version`` prints one line. Errors go to stdout with
exit 1, because docker reads stdout; "not found" is exactly ``credentials not found in native
keychain``, which docker's Go client turns into "no credentials". The JSON field names appear
in this module only.
"""


from gatepass import __version__
from gatepass.errors import GatepassError, InvalidRequestError, NotFoundError, internal_error
from gatepass.hosts import join_host_port, parse_docker_server
from gatepass.jsontext import json_string, render_object
from gatepass.model import Request
from gatepass.protocol import CLOSED, STDIN_CLOSED, finish, read_input, reporter, resolve

NOT_FOUND = "credentials not found in native keychain"
MISSING_URL = "no credentials server URL"
MISSING_USERNAME = "no credentials username"
USAGE = "Usage: docker-credential-gatepass <store|get|erase|list|version>"
MAX_INPUT_BYTES = 1024 * 1024

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import BinaryIO

    from gatepass.stores.index import Entry
    from gatepass.trace import Trace

    # Every operation, as docker-credential-helpers' HandleCommand has it: stdin, the environment, where to
    # say things, the trace (None when off); the text to print.
    Operation = Callable[[BinaryIO, Mapping[str, str], Callable[[str], None], "Trace | None"], str]


def render_credentials(server: str, username: str, secret: str) -> str:
    """``get``'s answer, byte for byte what ``json.dumps(..., separators=(",", ":"))`` gives."""
    return f'{{"ServerURL":{json_string(server)},"Username":{json_string(username)},"Secret":{json_string(secret)}}}\n'


def render_list(entries: dict[str, str]) -> str:
    """``list``'s answer, byte for byte what ``json.dumps(entries, separators=(",", ":"))`` gives."""
    return render_object(entries)


def read_server(stdin: "BinaryIO", env: "Mapping[str, str] | None" = None) -> str:
    """The bare server string ``get``/``erase`` read, trimmed like docker's helpers do."""
    data = read_input(stdin, MAX_INPUT_BYTES, env or {})
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidRequestError(f"input larger than {MAX_INPUT_BYTES} bytes")
    try:
        server = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidRequestError("server URL is not UTF-8") from None
    if not server:
        raise InvalidRequestError(MISSING_URL)
    if any(c in server for c in "\r\n\0"):
        raise InvalidRequestError("server URL contains a line break or NUL")
    return server


def to_request(server: str) -> "Request":
    """A resolver Request for a docker server string; other paths become exact keys."""
    parsed = parse_docker_server(server)
    if parsed is None:
        raise NotFoundError(NOT_FOUND)  # no such registry can be configured: nothing to find
    scheme, host, port, extra = parsed
    exact = server if extra else None
    return Request("docker", scheme, host, port, exact, None, exact)


def _get(stdin: "BinaryIO", env: "Mapping[str, str]", report: "Callable[[str], None]", trace: "Trace | None") -> str:
    from gatepass import app

    server = read_server(stdin, env)
    found = app.answer(to_request(server), env, report, trace=trace)
    if found is None:
        raise NotFoundError(NOT_FOUND)
    if trace is not None:
        trace.outcome = "answered"
    account, secret = found
    return render_credentials(server, account.username, secret.value)


def _list(stdin: "BinaryIO", env: "Mapping[str, str]", report: "Callable[[str], None]", trace: "Trace | None") -> str:
    from gatepass import app

    only = app.restriction(env)  # GATEPASS_ACCOUNT: list what get would answer, that user's keys only
    if only:
        return render_list(app.docker_list_for(only, env, report))
    entries, rendered = app.docker_list(env, report)
    return rendered if rendered is not None else render_list(entries)


def read_credentials(stdin: "BinaryIO", env: "Mapping[str, str] | None" = None) -> tuple[str, str, str]:
    """``store``'s JSON: ServerURL, Username, Secret (field names matched case-insensitively, as Go does)."""
    import json

    data = read_input(stdin, MAX_INPUT_BYTES, env or {})
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidRequestError(f"input larger than {MAX_INPUT_BYTES} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError("store needs a JSON object with ServerURL, Username and Secret") from None
    if not isinstance(document, dict):
        raise InvalidRequestError("store needs a JSON object with ServerURL, Username and Secret")
    fields = {str(k).lower(): v for k, v in document.items()}
    server, username, secret = (fields.get(k, "") for k in ("serverurl", "username", "secret"))
    if not all(isinstance(v, str) for v in (server, username, secret)):
        raise InvalidRequestError("ServerURL, Username and Secret must be strings")
    server = server.strip()
    if not server:
        raise InvalidRequestError(MISSING_URL)
    if not username:
        raise InvalidRequestError(MISSING_USERNAME)
    return server, username, secret


def _entry(request: "Request", username: str) -> "Entry":
    from gatepass.stores.index import Entry

    host = join_host_port(request.host, request.port)
    return Entry("docker", "", host, request.exact_key or "", username)


def _store(stdin: "BinaryIO", env: "Mapping[str, str]", report: "Callable[[str], None]", trace: "Trace | None") -> str:
    """Save into the store layer, one credential per server key (a new username replaces the old one).

    Skipped when a config layer already gives the same pair. ``<token>`` (an identity token) and
    GCR's ``_json_key`` with a whole JSON keyfile are kept exactly as sent.
    """
    from gatepass import app

    server, username, secret = read_credentials(stdin, env)
    request = to_request_for_store(server)
    app.remember(request, username, lambda: _entry(request, username), secret, env, report)  # get names no user
    return ""


def to_request_for_store(server: str) -> "Request":
    try:
        return to_request(server)
    except NotFoundError:
        raise InvalidRequestError("ServerURL is not a registry host[:port] or URL") from None


def _erase(stdin: "BinaryIO", env: "Mapping[str, str]", report: "Callable[[str], None]", trace: "Trace | None") -> str:
    """Remove the stored credential for the server key; erasing something absent succeeds (skopeo relies on it)."""
    from gatepass import app

    server = read_server(stdin, env)
    try:
        request = to_request(server)
    except NotFoundError:
        return ""
    want = _entry(request, "")
    removed = app.store_for(request.host, env, report).erase(
        lambda e: e.kind == "docker" and e.host == want.host and e.path == want.path)
    if not removed:
        _refuse_config_erase(request, env)
    return ""


def _refuse_config_erase(request: "Request", env: "Mapping[str, str]") -> None:
    """A logout of an account that lives in a config file must not claim success: say where it lives.

    Nothing stored matched; when a config account answers this server, ``podman logout`` or
    ``docker logout`` would otherwise report the login gone while ``get`` still answers it.
    """
    from gatepass import app
    from gatepass.resolver import rank

    eligible, _ = rank(request, app.load(env, lambda message: None, app.host_keys(request.host)).accounts)
    if eligible:
        account = eligible[0].account
        raise GatepassError(f"the login for {account.label()} comes from {account.where}, which gatepass does not edit; "
                            "remove the account there to log out")


def _version(stdin: "BinaryIO", env: "Mapping[str, str]", report: "Callable[[str], None]", trace: "Trace | None") -> str:
    return f"docker-credential-gatepass (gatepass) {__version__}\n"


OPERATIONS: "dict[str, Operation]" = {"get": _get, "list": _list, "store": _store, "erase": _erase,
                                      "version": _version, "-v": _version, "--version": _version}
READS_STDIN = frozenset({"get", "store", "erase"})  # list never reads it (docker-py leaves the caller's attached)
TRACED = READS_STDIN | {"list"}


def main(argv: list[str] | None = None, stdin: "BinaryIO | None" = None, stdout: "BinaryIO | None" = None,
         stderr: "BinaryIO | None" = None, env: "Mapping[str, str] | None" = None) -> int:
    argv, stdin, stdout, stderr, env = resolve(argv, stdin, stdout, stderr, env)
    report = reporter(stderr)

    def reply(text: str, code: int) -> int:
        if code and 1 in CLOSED and text:  # docker reads errors from stdout: with it closed, say it on stderr
            report(text.rstrip("\n"))
        try:
            stdout.write(text.encode("utf-8"))
            stdout.flush()
        except BrokenPipeError:  # `docker-credential-gatepass list | head`: end quietly, as Unix tools do
            from gatepass.protocol.pipes import end_quietly

            end_quietly()
        return code

    if len(argv) != 1:
        return reply(USAGE + "\n", 1)
    if argv[0] in ("-h", "--help", "help"):
        return reply(USAGE + "\n", 0)
    operation = OPERATIONS.get(argv[0])
    if operation is None:
        return reply(f"Unknown credential action `{argv[0]}`\n", 1)
    if 0 in CLOSED and argv[0] in READS_STDIN:
        return reply(STDIN_CLOSED + "\n", 1)
    trace = None
    if env.get("GATEPASS_TRACE") and argv[0] in TRACED:  # tracing off imports nothing
        import time

        from gatepass import trace as tracing

        trace = tracing.start(env, "docker", argv[0], time.time())
    try:
        output = operation(stdin, env, report, trace)
    except GatepassError as exc:
        if trace is not None:
            trace.outcome = "not found" if isinstance(exc, NotFoundError) else f"refused: {exc}"
        return reply(f"{exc}\n", 1)
    except Exception as exc:  # the one place an unexpected failure becomes one line
        if trace is not None:
            trace.outcome = f"internal error ({type(exc).__name__})"
        if env.get("GATEPASS_DEBUG"):
            raise
        return reply(f"gatepass: {internal_error(exc)}\n", 1)  # docker shows our stdout as it is: say who
    finally:
        if trace is not None:
            trace.outcome = trace.outcome or "done"  # get says what it answered
            trace.write(report)
    return reply(output, 0)


if __name__ == "__main__":
    finish(main())
