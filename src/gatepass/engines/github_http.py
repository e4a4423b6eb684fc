"""One JSON call to GitHub's REST API with an app JWT, over engines/httpjson (cache misses only).

GitHub's headers (``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version: 2022-11-28``);
the deadline, the redirect refusal, the proxy rule and the 1 MiB cap are httpjson's. Errors name
the status and what GitHub documents it to mean, never the body (it could echo what we sent)
nor the JWT.
"""

from __future__ import annotations

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

API_VERSION = "2022-11-28"
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


def call(method: str, url: str, jwt: str, doing: str, *, deadline: float, env: Mapping[str, str],
         not_found: str | None = None) -> dict[str, object]:
    """The JSON object GitHub answered with a 2xx status; SecretUnavailableError saying why not."""
    from gatepass.engines import httpjson

    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
               "Authorization": f"Bearer {jwt}", "User-Agent": "gatepass"}
    try:
        status, answer = httpjson.call(method, url, headers=headers, deadline=deadline, env=env)
    except SecretUnavailableError as exc:
        raise SecretUnavailableError(f"GitHub: {exc} while {doing}") from None
    if status == 404 and not_found:
        raise SecretUnavailableError(not_found)
    if not 200 <= status < 300:
        meaning = MEANINGS.get(status, "unexpected status")
        raise SecretUnavailableError(f"GitHub answered {status} ({meaning}) while {doing}")
    if not isinstance(answer, dict):
        raise SecretUnavailableError(f"GitHub's answer while {doing} is not a JSON object")
    return answer
