"""Amazon ECR: ``AWS`` and the password of an ``ecr:GetAuthorizationToken`` answer, via botocore.

botocore is the optional extra ``gatepass[aws]`` and is imported only here, on a cache miss.
Credentials come from the standard AWS chain (environment, ``profile`` or ``AWS_PROFILE``,
shared files, SSO, container and instance metadata); ``role_arn`` is assumed through STS first.
``AWS_ENDPOINT_URL_ECR`` / ``AWS_ENDPOINT_URL`` (and ``_STS``) are honoured, from the environment
gatepass was given.

Decisions where docs/design.md is silent:
- The region is ``region`` when given, else the one in the registry's name
  (``ACCOUNT.dkr.ecr.REGION.amazonaws.com``), else botocore's default (``AWS_REGION``, profile).
- For a registry named ``ACCOUNT.dkr.ecr...`` the call asks for that registry id, as
  amazon-ecr-credential-helper does; any other name (a test endpoint) asks for the default one.
- The token is cached per (registry, region, profile, role_arn, configured account) until its
  ``expiresAt``; an expiry that is absent, past or more than 12 hours ahead (moto answers one in
  2015) is replaced by one hour from now.
- Calls have bounded time: 2 s to connect, 5 s to read, one retry, and 10 s for the whole fetch
  (botocore's timeouts are per read: a server dripping bytes would outlast them).
- The user part of the token is quoted only escaped and without any piece of the password.
"""

from __future__ import annotations

import time

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from gatepass.model import Account, Request

FALLBACK_LIFETIME = 3600
MAX_LIFETIME = 12 * 3600  # what ECR grants
CONNECT_TIMEOUT, READ_TIMEOUT, TOTAL_TIMEOUT = 2, 5, 10.0


def spec_of(account: Account) -> dict[str, object]:
    ref: Any = account.secret_ref  # an engine account's ref is its spec table (config/schema.py)
    spec: dict[str, object] = ref
    return spec


def registry_parts(host: str) -> tuple[str, str] | None:
    """(registry id, region) of an ECR registry name.

    >>> registry_parts("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    ('123456789012', 'eu-west-1')
    >>> registry_parts("registry.example") is None
    True
    """
    labels = host.split(".")
    if len(labels) == 6 and labels[1:3] == ["dkr", "ecr"] and labels[4:] == ["amazonaws", "com"]:
        if labels[0].isdigit() and labels[3]:
            return labels[0], labels[3]
    return None


def _region(spec: Mapping[str, object], host: str) -> str | None:
    if spec.get("region"):
        return str(spec["region"])
    parts = registry_parts(host)
    return parts[1] if parts else None


def cache_key(account: Account, request: Request, env: Mapping[str, str] | None = None,
              settings: Mapping[str, object] | None = None) -> tuple[str, ...]:
    """One token per registry and identity: the configured profile and role, the ambient AWS
    identity the chain starts from (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``: names, never the
    secret key), the endpoint, and the account's place."""
    spec, env = spec_of(account), env or {}
    registry = request.host if request.port is None else f"{request.host}:{request.port}"
    return ("aws_ecr", registry, _region(spec, request.host) or "", str(spec.get("profile") or ""),
            str(spec.get("role_arn") or ""), env.get("AWS_PROFILE", ""), env.get("AWS_ACCESS_KEY_ID", ""),
            _endpoint(env, "ECR") or "", account.file, account.username)


def offline_problem(account: Account) -> str | None:
    """What ``config check`` can say without calling AWS: whether botocore is installed."""
    import importlib.util

    if importlib.util.find_spec("botocore") is None:
        return "aws_ecr needs botocore; run: pip install 'gatepass[aws]'"
    return None


def _endpoint(env: Mapping[str, str], service: str) -> str | None:
    return env.get(f"AWS_ENDPOINT_URL_{service}") or env.get("AWS_ENDPOINT_URL") or None


def _client(spec: Mapping[str, object], region: str | None, env: Mapping[str, str]) -> Any:  # a botocore client
    try:
        import botocore.config
        import botocore.exceptions
        import botocore.session
    except ImportError:
        raise SecretUnavailableError("aws_ecr needs botocore; run: pip install 'gatepass[aws]'") from None
    def config(service: str) -> Any:
        return botocore.config.Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                                      retries={"max_attempts": 2, "mode": "standard"},
                                      proxies=_proxies(env, service, region))

    try:
        session = botocore.session.Session(profile=str(spec["profile"]) if spec.get("profile") else None)
        keys: dict[str, object] = {}
        if spec.get("role_arn"):
            sts = session.create_client("sts", region_name=region, config=config("STS"),
                                        endpoint_url=_endpoint(env, "STS"))
            assumed = sts.assume_role(RoleArn=str(spec["role_arn"]), RoleSessionName="gatepass")["Credentials"]
            keys = {"aws_access_key_id": assumed["AccessKeyId"], "aws_secret_access_key": assumed["SecretAccessKey"],
                    "aws_session_token": assumed["SessionToken"]}
        return session.create_client("ecr", region_name=region, config=config("ECR"),
                                     endpoint_url=_endpoint(env, "ECR"), **keys)
    except botocore.exceptions.BotoCoreError as exc:
        raise SecretUnavailableError(f"AWS: {_describe(exc)}") from None
    except botocore.exceptions.ClientError as exc:
        raise SecretUnavailableError(f"AWS refused to assume role_arn: {_code(exc)}") from None


def _proxies(env: Mapping[str, str], service: str, region: str | None) -> dict[str, str]:
    """botocore's proxies, chosen by the rule every engine follows (engines/urls.py: curl's https_proxy
    and no_proxy for https, never for loopback or plain http), never botocore's own reading of the
    environment (which would send a plain-http or loopback endpoint through HTTP_PROXY)."""
    from gatepass.engines import urls

    host = f"{service.lower()}.{region}.amazonaws.com" if region else f"{service.lower()}.amazonaws.com"
    try:
        target = urls.parse(_endpoint(env, service) or f"https://{'api.' if service == 'ECR' else ''}{host}")
        proxy = urls.proxy_url(target, env)
    except ValueError:  # plain http to another host, or a proxy variable gatepass cannot use: no proxy
        return {}
    return {"https": proxy} if proxy else {}


def _describe(exc: Exception) -> str:
    """botocore's own one-line text for a client-side problem (no credentials, no region, unreachable)."""
    return type(exc).__name__ if not str(exc) else str(exc).splitlines()[0]


def _code(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code") or "an error")


def fetch(account: Account, request: Request, env: Mapping[str, str],
          settings: Mapping[str, object] | None = None) -> tuple[str, int]:
    """(the registry password, unix expiry) from GetAuthorizationToken, within TOTAL_TIMEOUT."""
    from gatepass.engines import within

    return within(TOTAL_TIMEOUT, lambda: _fetch(account, request, env),
                  f"AWS did not answer within {TOTAL_TIMEOUT:g}s (GetAuthorizationToken)")


def _fetch(account: Account, request: Request, env: Mapping[str, str]) -> tuple[str, int]:
    import base64

    spec = spec_of(account)
    region = _region(spec, request.host)
    client = _client(spec, region, env)  # first: says how to install botocore when it is missing
    import botocore.exceptions

    parts = registry_parts(request.host)
    try:
        answer = (client.get_authorization_token(registryIds=[parts[0]]) if parts
                  else client.get_authorization_token())
    except botocore.exceptions.ClientError as exc:
        raise SecretUnavailableError(f"AWS refused GetAuthorizationToken ({_code(exc)}); "
                                     "the identity needs ecr:GetAuthorizationToken") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise SecretUnavailableError(f"AWS: {_describe(exc)}") from None
    data = (answer.get("authorizationData") or [{}])[0]
    try:
        decoded = base64.b64decode(data["authorizationToken"], validate=True).decode("utf-8")
    except (KeyError, TypeError, ValueError):
        raise SecretUnavailableError("AWS answered GetAuthorizationToken without a usable token") from None
    user, sep, password = decoded.partition(":")
    if not sep or not password:
        raise SecretUnavailableError("AWS answered GetAuthorizationToken without a usable token")
    if user != account.username:  # the helper answers the account's username with this password
        from gatepass.engines.servertext import quote

        shown = quote(user, [password], limit=64)
        raise SecretUnavailableError(f'ECR tokens are for user {shown}; set username = "{shown}" on this account')
    return password, expiry_of(data.get("expiresAt"), time.time())


def expiry_of(expires_at: object, now: float) -> int:
    """``expiresAt`` as unix seconds when it lies in (now, now + 12 h], else one hour from now.

    >>> expiry_of(None, 1000.0)
    4600
    """
    stamp = expires_at.timestamp() if hasattr(expires_at, "timestamp") else None
    if stamp is None or not now < stamp <= now + MAX_LIFETIME:
        return int(now) + FALLBACK_LIFETIME
    return int(stamp)
