"""Secrets from Vault or OpenBao: ``vault = { path, field }`` accounts and the ``[vault]`` table.

Settings (docs/design.md "Secrets from engines"): ``[vault]`` of the highest layer that has one;
where it is silent, ``VAULT_ADDR``/``BAO_ADDR``, ``VAULT_NAMESPACE``/``BAO_NAMESPACE``,
``VAULT_CACERT``/``BAO_CACERT`` and, for ``auth = "token"`` without ``token_file``,
``VAULT_TOKEN``/``BAO_TOKEN`` (the ``VAULT_`` name first, as the bao CLI reads both).
``auth`` defaults to ``approle`` when ``role_id`` is given, else ``token``; ``approle_mount`` is
the path AppRole is enabled at (``bao auth enable -path=ci/approle approle``), ``approle`` unless set,
as the Vault CLI's ``-path`` and Vault Agent's ``mount_path`` default. ``auth = "jwt"`` logs in with
an identity token the runner holds (``role``, ``jwt_mount``, one of ``jwt_file``/``jwt_env``/
``jwt_source``): engines/vault_jwt.py.

Reading: ``GET /v1/<path>``; a KV v2 answer (``data.data`` beside ``data.metadata``) gives
``data.data.FIELD``, any other engine ``data.FIELD``. The value is cached (engines/tokencache)
until ``min(ttl, lease_duration)`` from the read (``ttl``: the account key, default 300 s; a
KV answer has no lease), and git gets that as ``password_expiry_utc``. The AppRole login token is
cached too, until its lease ends: with less than a minute left it is renewed (``renew-self``),
and when that fails gatepass logs in again. A 403 with a cached token
drops it and logs in once more before reporting the policy error.

Bounded: 2 s to connect, 5 s for the whole fetch (login and read together). A warm ``get``
imports this module and reads one cache file: no HTTP client, no ``json``.

Client choice: the standard library's HTTP client over hvac, which pulls in ``requests`` (several
times the standard library's import cost on the miss path, in CPU time against a local OpenBao),
a run-time dependency, and only per-operation timeouts where gatepass needs one total deadline. There is therefore no
``gatepass[vault]`` extra: the engine needs nothing beyond the standard library.
"""

from __future__ import annotations

import time

from gatepass.engines import vault_auth, vault_jwt  # vault_jwt here: a jwt cache key imports nothing (cache_key does no I/O)
from gatepass.engines.vault_auth import env_value, read_file
from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from gatepass.model import Account, Request

SETTINGS_TABLE = "vault"  # gatepass.engines passes the [vault] table (and env to cache_key)
DEFAULT_TTL = 300
TOTAL_TIMEOUT = 5.0


def server(settings: Mapping[str, object], env: Mapping[str, str]) -> dict[str, str]:
    """The effective settings: ``[vault]`` first, the environment where it is silent."""
    auth = str(settings.get("auth") or ("approle" if "role_id" in settings else "token"))
    resolved = {key: str(settings.get(key) or env_value(env, key)) for key in ("address", "namespace", "ca_file")}
    resolved.update(auth=auth, role_id=str(settings.get("role_id", "")),
                    secret_id_file=str(settings.get("secret_id_file", "")), token_file=str(settings.get("token_file", "")),
                    approle_mount=str(settings.get("approle_mount") or "approle"))
    resolved.update({key: str(settings.get(key, "")) for key in ("role", "jwt_file", "jwt_env", "jwt_source", "audience")})
    resolved["jwt_mount"] = str(settings.get("jwt_mount") or "jwt")
    resolved["address"] = resolved["address"].rstrip("/")
    return resolved


def settings_problems(settings: Mapping[str, object], env: Mapping[str, str]) -> list[str]:
    """What keeps the engine from logging in, found without a network call (``config check``)."""
    from gatepass.engines.specs import TABLE_ERROR, settings_problem

    if TABLE_ERROR in settings:  # the parse reported it; nothing else is judged until it is fixed
        return []
    problem = settings_problem("vault", dict(settings))
    if problem is not None:
        return [f"{problem[0]}: {problem[1]}"]
    found = server(settings, env)
    problems = []
    if not found["address"]:
        problems.append("no address: set address in [vault] or VAULT_ADDR / BAO_ADDR")
    else:
        wrong = address_problem(found["address"])
        if wrong is not None:
            problems.append(wrong)
    if found["auth"] == "token" and not found["token_file"] and not env_value(env, "token"):
        problems.append('auth = "token" needs token_file, or VAULT_TOKEN / BAO_TOKEN in the environment')
    if found["auth"] == "jwt":
        problems += [problem for problem in [vault_jwt.source_problem(found, env)] if problem]
    for key in ("secret_id_file", "token_file", "ca_file", "jwt_file"):
        if found[key]:
            try:
                read_file(found[key], key, limit=1024 * 1024)
            except SecretUnavailableError as exc:
                problems.append(str(exc))
    return problems


def address_problem(address: str) -> str | None:
    """What keeps ``address`` (from ``[vault]`` or VAULT_ADDR / BAO_ADDR) from being used, never quoting it."""
    from gatepass.engines import urls

    problem = urls.problem(address)
    return None if problem is None else f"the address {problem}"


def _checked(found: Mapping[str, str]) -> None:
    if not found["address"]:
        raise SecretUnavailableError("vault: no address; set address in [vault] or VAULT_ADDR / BAO_ADDR")
    problem = address_problem(found["address"])
    if problem is not None:
        raise SecretUnavailableError(f"vault: {problem}")


def login_report(settings: Mapping[str, object], env: Mapping[str, str]) -> str:
    """Log in once (never from the cache) and say the token's ttl and policies (``gatepass doctor``)."""
    from gatepass.engines.specs import TABLE_ERROR

    if TABLE_ERROR in settings:
        raise SecretUnavailableError(f"vault: {settings[TABLE_ERROR]}")
    found = server(settings, env)
    _checked(found)
    session = _session(found, env, time.monotonic() + TOTAL_TIMEOUT)
    session.token = session.fresh_login() if found["auth"] in ("approle", "jwt") else session.login()
    data = session.lookup_self()
    listed = data.get("policies")
    policies = listed if isinstance(listed, list) else []
    ttl = data.get("ttl")
    life = f"ttl {ttl}s" if isinstance(ttl, int) and ttl > 0 else "no expiry (a root or periodic token?)"
    return (f"vault: logged in to {found['address']} with {found['auth']}: token {life}, "
            f"policies {', '.join(str(p) for p in policies) or 'none'}")


def _session(found: Mapping[str, str], env: Mapping[str, str], deadline: float) -> vault_auth.Session:
    """A Session logging in as ``auth`` says (the jwt method is a module of its own, above vault_auth)."""
    if found["auth"] == "jwt":
        return vault_auth.Session(found, env, deadline, vault_jwt)
    return vault_auth.Session(found, env, deadline)


def _identity(found: Mapping[str, str], env: Mapping[str, str]) -> tuple[str, ...]:
    """Who the engine sees, for cache keys (never a secret: role_id and a path, not secret_id or token;
    for a JWT, which one it is without the JWT itself: engines/vault_jwt.py)."""
    if found["auth"] == "jwt":
        return vault_jwt.identity(found, env)
    if found["auth"] == "approle":
        return (found["address"], found["namespace"], "approle", found["role_id"], found["secret_id_file"],
                found["approle_mount"])
    return found["address"], found["namespace"], "token", found["token_file"] or "env"


def cache_key(account: Account, request: Request, *, env: Mapping[str, str], settings: Mapping[str, object]
               ) -> tuple[str, ...]:
    """One cached value per (server, identity, path, field, ttl); the request does not change it."""
    spec = account.secret_ref
    assert isinstance(spec, dict)
    return (*_identity(server(settings, env), env), str(spec["path"]), str(spec["field"]), str(account.ttl or DEFAULT_TTL))


def fetch(account: Account, request: Request, env: Mapping[str, str], *, settings: Mapping[str, object]
          ) -> tuple[str, int]:
    """(value, expiry): read ``path`` with a cached or fresh engine token; SecretUnavailableError why not."""
    spec = account.secret_ref
    assert isinstance(spec, dict)
    found = server(settings, env)
    _checked(found)
    deadline = time.monotonic() + TOTAL_TIMEOUT
    path, field = str(spec["path"]), str(spec["field"])
    session = _session(found, env, deadline)
    status, body = session.call("GET", f"/v1/{path}")
    if status == 403 and session.cached:  # the cached token was revoked or has lapsed early: log in once more
        session.forget()
        status, body = session.call("GET", f"/v1/{path}")
    moment = time.time()
    if status == 403 and found["auth"] == "token" and not session.valid():
        raise SecretUnavailableError(f"vault: the token from {vault_auth.token_source(found, env)} is invalid or expired "
                                     "(the server refuses it, even to look itself up); give a current one")
    if status == 403:
        raise SecretUnavailableError(f"vault: permission denied reading {path}: the token's policies do not "
                                     "allow read on it; grant it in the policy of this role")
    if status == 404:
        raise SecretUnavailableError(f"vault: {path} not found (KV v2 paths read secret/data/..., "
                                     "with the mount's name first)")
    if status != 200 or not isinstance(body, dict):
        raise SecretUnavailableError(f"vault: reading {path} failed with HTTP {status}{session.says(body)}")
    value, lease = _field(body, path, field), body.get("lease_duration")
    ttl = account.ttl or DEFAULT_TTL
    if isinstance(lease, int) and lease > 0:
        ttl = min(ttl, lease)
    return value, int(moment) + ttl


def _field(body: dict[str, object], path: str, field: str) -> str:
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "metadata" in data:
        data = data["data"]  # KV v2: data.data.FIELD
    if not isinstance(data, dict):
        raise SecretUnavailableError(f"vault: {path} holds no data (a deleted KV version?)")
    if field not in data:
        raise SecretUnavailableError(f"vault: {path} has no field {field}")
    value = data[field]
    if not isinstance(value, str) or not value:
        raise SecretUnavailableError(f"vault: {path} field {field} is not a non-empty string")
    if any(c in value for c in "\r\n\0"):
        raise SecretUnavailableError(f"vault: {path} field {field} holds a line break or NUL; refused")
    return value
