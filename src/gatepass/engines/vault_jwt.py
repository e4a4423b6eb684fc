"""Vault/OpenBao ``auth = "jwt"``: trade an identity token the runner already holds for a Vault token.

Vault's jwt auth method: ``POST /v1/auth/<jwt_mount>/login`` with ``{"role", "jwt"}`` answers an
``auth`` block like AppRole's, so engines/vault_auth.py caches, renews and replaces that token the
same way. The JWT comes from exactly one of:

- ``jwt_file``: a projected service-account token or a file the CI wrote (its first line);
- ``jwt_env``: the name of a variable holding it (GitLab CI's ``id_tokens``);
- ``jwt_source = "github-actions"``: requested from the job's OIDC endpoint, as
  actions/toolkit's ``getIDToken`` does: ``GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUDIENCE``
  with ``Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN``, answered ``{"value": JWT}``.

The JWT is read (or requested) only when a Vault login is needed, is never written anywhere (so
never kept past its ``exp``) and never printed: Vault validates it (signature, ``exp``, issuer,
audiences, bound claims) and gatepass words Vault's refusal in one line naming the role.

Cache keys (the value cache and the login-token cache) name which JWT without holding it: the
file's path and identity (device, inode, mtime, size: one ``stat``, no read), the variable's name
and a digest of its value, or a digest of the job's request URL and token. A runner that keeps one
user's cache between jobs of different repositories therefore never answers a job from the login
of another one: each JWT gets its own entries, and Vault judges each.
"""

from __future__ import annotations

import posix

from gatepass.errors import SecretUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from gatepass.engines.vault_auth import Session

ACTIONS_URL, ACTIONS_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
MAX_JWT_BYTES = 64 * 1024
_JWT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=")


def _digest(text: str) -> str:
    from gatepass.engines.tokencache import _sha256_hex

    return _sha256_hex(text.encode("utf-8", "surrogateescape"))[:32]


def identity(found: Mapping[str, str], env: Mapping[str, str]) -> tuple[str, ...]:
    """Which server, method, role and JWT: for cache keys, never the JWT (a digest, or the file's identity)."""
    base = (found["address"], found["namespace"], "jwt", found["jwt_mount"], found["role"])
    if found["jwt_file"]:
        try:
            st = posix.stat(found["jwt_file"])
            seen = f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"
        except OSError:
            seen = "absent"
        return (*base, "file", found["jwt_file"], seen)
    if found["jwt_env"]:
        return (*base, "env", found["jwt_env"], _digest(env.get(found["jwt_env"], "")))
    job = f"{env.get(ACTIONS_URL, '')}\0{env.get(ACTIONS_TOKEN, '')}"
    return (*base, "github-actions", found["audience"], _digest(job))


def where(found: Mapping[str, str]) -> str:
    """Where the JWT comes from, for messages."""
    if found["jwt_file"]:
        return f"jwt_file {found['jwt_file']}"
    if found["jwt_env"]:
        return f"jwt_env {found['jwt_env']}"
    return "the GitHub Actions OIDC endpoint"


def source_problem(found: Mapping[str, str], env: Mapping[str, str]) -> str | None:
    """What ``config check`` can say about the JWT's source without reading the JWT or calling anything."""
    if found["jwt_env"] and not env.get(found["jwt_env"]):
        return f"jwt_env: {found['jwt_env']} is not set in this environment"
    if found["jwt_source"] and not (env.get(ACTIONS_URL) and env.get(ACTIONS_TOKEN)):
        return (f'jwt_source = "github-actions": {ACTIONS_URL} and {ACTIONS_TOKEN} are not set; '
                "give the job permissions: id-token: write")
    return None


def _checked(jwt: str, found: Mapping[str, str]) -> str:
    jwt = jwt.strip()
    if not jwt:
        raise SecretUnavailableError(f"vault: {where(found)} holds no JWT (it is empty)")
    if jwt.count(".") != 2 or not _JWT_CHARS.issuperset(jwt):
        raise SecretUnavailableError(f"vault: {where(found)} does not hold a JWT (three base64url parts joined by dots)")
    return jwt


def read_jwt(found: Mapping[str, str], env: Mapping[str, str], deadline: float) -> str:
    """The JWT from its one configured source; SecretUnavailableError (never quoting it) why not."""
    if found["jwt_file"]:
        from gatepass.engines.vault_auth import read_file

        return _checked(read_file(found["jwt_file"], "jwt_file", limit=MAX_JWT_BYTES), found)
    if found["jwt_env"]:
        if not env.get(found["jwt_env"]):
            raise SecretUnavailableError(f"vault: jwt_env {found['jwt_env']} is not set in this environment")
        return _checked(env[found["jwt_env"]], found)
    return _checked(_github_actions(found["audience"], env, deadline), found)


def _github_actions(audience: str, env: Mapping[str, str], deadline: float) -> str:
    """An ID token for ``audience`` from the job's OIDC endpoint (actions/toolkit's getIDToken)."""
    import urllib.parse

    from gatepass.engines import httpjson

    url, bearer = env.get(ACTIONS_URL, ""), env.get(ACTIONS_TOKEN, "")
    if not url or not bearer:
        raise SecretUnavailableError(f"vault: {ACTIONS_URL} and {ACTIONS_TOKEN} are not set; give the job "
                                     "permissions: id-token: write (or use jwt_file / jwt_env outside Actions)")
    _check_url(url)
    url += ("&" if "?" in url else "?") + "audience=" + urllib.parse.quote(audience, safe="")
    try:
        status, body = httpjson.call("GET", url, headers={"Authorization": f"bearer {bearer}"}, deadline=deadline,
                                     env=env)
    except SecretUnavailableError as exc:
        raise SecretUnavailableError(f"vault: the GitHub Actions OIDC endpoint failed: {exc}") from None
    value = body.get("value") if isinstance(body, dict) else None
    if status != 200 or not isinstance(value, str):
        raise SecretUnavailableError(f"vault: the GitHub Actions OIDC endpoint answered HTTP {status} "
                                     + ("without a token" if status == 200 else
                                        "(does the job have permissions: id-token: write?)"))
    return value


def _check_url(url: str) -> None:
    """The request token goes over https, or plain http to this machine only (engines/urls.py's rule)."""
    from gatepass.engines.urls import problem

    wrong = problem(url, base=False)
    if wrong is not None:
        raise SecretUnavailableError(f"vault: {ACTIONS_URL} {wrong}")


def login(session: Session) -> tuple[str, object]:
    """(client token, the answer's ``auth`` block) of a jwt login with a freshly read JWT."""
    found = session.found
    jwt = read_jwt(found, session.env, session.deadline)
    session.sent.append(jwt)
    role, mount = found["role"], found["jwt_mount"]
    status, body = session.raw("POST", f"/v1/auth/{mount}/login", None, {"role": role, "jwt": jwt})
    said = session.says(body)
    if jwt in said or any(part in said for part in jwt.split(".") if len(part) > 16):
        said = ""  # a server that echoes the JWT is not quoted
    auth = body.get("auth") if isinstance(body, dict) else None
    token = auth.get("client_token") if isinstance(auth, dict) else None
    if status == 200 and isinstance(token, str) and token:
        return token, auth
    if status == 403 and "permission denied" in said:  # Vault's answer for a login path nothing is mounted at
        raise SecretUnavailableError(f"vault: nothing answers a jwt login at auth/{mount} (permission denied); "
                                     f"check jwt_mount (bao auth list shows where jwt is enabled)")
    if status in (400, 401, 403):
        raise SecretUnavailableError(_refusal(said, role, mount, where(found)))
    raise SecretUnavailableError(f"vault: jwt login as role {role} failed with HTTP {status}{said}")


def _refusal(said: str, role: str, mount: str, source: str) -> str:
    """One line for a refused jwt login, from what Vault's jwt method says (vault-plugin-auth-jwt's errors)."""
    text = said.lower()
    if "expired" in text:
        return f"vault: role {role} refused the JWT from {source}: it has expired; the CI or kubelet must issue a new one{said}"
    if "role" in text and ("not found" in text or "could not be found" in text):
        return f"vault: role {role} does not exist at auth/{mount}; check role and jwt_mount{said}"
    if "claim" in text or "audience" in text or "issuer" in text:
        return (f"vault: role {role} refused the JWT from {source}: its claims do not match the role's bound "
                f"claims, audiences or issuer{said}")
    if "signature" in text or "verif" in text or "key" in text:
        return (f"vault: role {role} refused the JWT from {source}: its signature does not verify with the "
                f"keys auth/{mount} trusts{said}")
    return f"vault: role {role} refused the JWT from {source}{said}"
