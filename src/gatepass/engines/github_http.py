"""One bounded JSON call to GitHub's REST API with an app JWT (urllib.request; cache misses only).

GitHub's headers (``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version: 2022-11-28``),
2 s to connect, 5 s for the whole exchange (a server dripping bytes cannot hold a git fetch),
answers capped at 1 MiB. Errors name the status and what GitHub documents it to mean, never the
body (it could echo what we sent) nor the JWT.
"""

from __future__ import annotations

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

API_VERSION = "2022-11-28"
CONNECT_TIMEOUT = 2.0
TOTAL_TIMEOUT = 5.0
MAX_ANSWER_BYTES = 1024 * 1024
# What the REST API description gives as each error status's meaning for these endpoints.
MEANINGS = {401: "requires authentication: the app id or private key is wrong, or the clock is off",
            403: "forbidden", 404: "resource not found", 422: "validation failed"}


def parse_time(text: str) -> int:
    """Unix seconds of an ISO 8601 UTC time as GitHub writes it (``2016-07-11T22:14:10Z``)."""
    import datetime

    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SecretUnavailableError("GitHub answered an expires_at that is not a time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def _exchange(method: str, url: str, jwt: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None, headers={
        "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
        "Authorization": f"Bearer {jwt}", "User-Agent": "gatepass"})
    try:
        with urllib.request.urlopen(request, timeout=CONNECT_TIMEOUT) as response:  # noqa: S310 (https or the configured api_url)
            return response.status, response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, b""


def _bounded(work: Callable[[], tuple[int, bytes]], doing: str) -> tuple[int, bytes]:
    """Run ``work`` in a daemon thread and give up after TOTAL_TIMEOUT seconds."""
    import threading

    result: list[tuple[int, bytes] | BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread below
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(TOTAL_TIMEOUT)
    if not result:
        raise SecretUnavailableError(f"GitHub did not answer within {TOTAL_TIMEOUT:g}s while {doing}")
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise _network_error(outcome, doing) from None
    return outcome


def _network_error(exc: BaseException, doing: str) -> BaseException:
    import urllib.error

    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason if isinstance(exc.reason, str) else getattr(exc.reason, "strerror", None) or "no answer"
        return SecretUnavailableError(f"GitHub could not be reached while {doing} ({reason})")
    if isinstance(exc, (OSError, ValueError)):
        return SecretUnavailableError(f"GitHub could not be reached while {doing} ({type(exc).__name__})")
    return exc


def call(method: str, url: str, jwt: str, doing: str, *, not_found: str | None = None) -> dict[str, object]:
    """The JSON object GitHub answered with a 2xx status; SecretUnavailableError saying why not."""
    import json

    status, body = _bounded(lambda: _exchange(method, url, jwt), doing)
    if status == 404 and not_found:
        raise SecretUnavailableError(not_found)
    if not 200 <= status < 300:
        meaning = MEANINGS.get(status, "unexpected status")
        raise SecretUnavailableError(f"GitHub answered {status} ({meaning}) while {doing}")
    if len(body) > MAX_ANSWER_BYTES:
        raise SecretUnavailableError(f"GitHub's answer while {doing} is larger than 1 MiB")
    try:
        answer = json.loads(body)
    except ValueError:
        raise SecretUnavailableError(f"GitHub's answer while {doing} is not JSON") from None
    if not isinstance(answer, dict):
        raise SecretUnavailableError(f"GitHub's answer while {doing} is not a JSON object")
    return answer
