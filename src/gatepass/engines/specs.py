"""What an engine account's spec and an engine's top-level table may hold; used by config/schema.py.

Shapes only (the engine trusts them, never the values). Messages never quote a value. An engine
adds its keys here; ``ttl`` stays an ordinary account key.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Account spec per engine: key -> (type, required).
SPEC_KEYS: dict[str, dict[str, tuple[type, bool]]] = {
    "vault": {"path": (str, True), "field": (str, True)},
    "github_app": {"app_id": (int, True), "private_key_file": (str, True), "installation_id": (int, False),
                   "api_url": (str, False)},
    "aws_ecr": {"region": (str, False), "profile": (str, False), "role_arn": (str, False)},
    "gcp_service_account": {"key_file": (str, True)},
}
# Top-level tables (``[vault]``): key -> (type, required). The highest layer's table wins whole,
# never merged key by key: a user's ``[vault]`` with auth = "token" must not inherit a role_id.
SETTINGS_KEYS: dict[str, dict[str, tuple[type, bool]]] = {
    "vault": {"address": (str, False), "auth": (str, False), "role_id": (str, False),
              "secret_id_file": (str, False), "token_file": (str, False), "namespace": (str, False),
              "ca_file": (str, False), "approle_mount": (str, False), "role": (str, False), "jwt_mount": (str, False),
              "jwt_file": (str, False), "jwt_env": (str, False), "jwt_source": (str, False), "audience": (str, False)},
}
# The one key of what stands in for a top-level table with an error (config/schema.py): its value is the
# error line. It replaces lower layers' tables like any table, and an engine that finds it refuses its
# accounts with that line, never falling back to its environment variables (VAULT_TOKEN) for them.
TABLE_ERROR = "!error"
VAULT_AUTH = ("approle", "token", "jwt")
JWT_SOURCES = ("jwt_file", "jwt_env", "jwt_source")
JWT_KEYS = ("role", "jwt_mount", *JWT_SOURCES, "audience")
# An auth mount path (``vault auth enable -path=...``): segments of these, joined by single slashes.
_MOUNT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def _problem(known: dict[str, tuple[type, bool]], table: object) -> tuple[str, str] | None:
    if not isinstance(table, dict):
        return "", "must be a table like { key = \"...\" }"
    for key, value in table.items():
        if key not in known:
            return key, f"unknown key (known: {', '.join(sorted(known))})"
        expected = known[key][0]
        if not isinstance(value, expected) or isinstance(value, bool):
            return key, "must be " + ("an integer" if expected is int else "a string")
        if expected is str and not value:
            return key, "must not be empty"
    for key, (_, required) in known.items():
        if required and key not in table:
            return key, "is required"
    return None


def spec_problem(kind: str, spec: object) -> tuple[str, str] | None:
    """(key, what is wrong) for an invalid account spec of engine ``kind``, else None.

    >>> spec_problem("vault", {"path": "secret/data/git", "field": "token"}) is None
    True
    >>> spec_problem("vault", {"path": "secret/data/git"})
    ('field', 'is required')
    """
    problem = _problem(SPEC_KEYS[kind], spec)
    table: Any = spec  # a table once _problem found nothing wrong: vault's has a string "path"
    if problem is None and kind == "vault" and str(table["path"]).strip("/") != table["path"]:
        return "path", "is an API path without leading or trailing slashes, like \"secret/data/git/github\""
    return problem


def _jwt_problem(table: dict[str, object], auth: object) -> tuple[str, str] | None:
    """auth = "jwt": a role and exactly one place the JWT comes from; its keys nowhere else."""
    if auth != "jwt":
        given = [key for key in JWT_KEYS if key in table]
        return (given[0], "only applies to auth = \"jwt\"") if given else None
    if "role" not in table:
        return "role", "is required with auth = \"jwt\" (the jwt role to log in as)"
    sources = [key for key in JWT_SOURCES if key in table]
    if len(sources) != 1:
        return (sources[1] if sources else "jwt_file"), "give exactly one of jwt_file, jwt_env, jwt_source"
    if "jwt_source" in table and table["jwt_source"] != "github-actions":
        return "jwt_source", "must be \"github-actions\" (or use jwt_file / jwt_env)"
    if "jwt_source" in table and "audience" not in table:
        return "audience", "is required with jwt_source = \"github-actions\" (one of the role's bound_audiences)"
    if "audience" in table and "jwt_source" not in table:
        return "audience", "only applies to jwt_source (a file or variable already holds its audience)"
    return None


def settings_problem(table_name: str, table: object) -> tuple[str, str] | None:
    """(key, what is wrong) for an invalid top-level engine table, else None.

    >>> settings_problem("vault", {"auth": "approle", "role_id": "r"})
    ('secret_id_file', 'is required with auth = "approle"')
    """
    problem = _problem(SETTINGS_KEYS[table_name], table)
    if problem is not None or table_name != "vault":
        return problem
    assert isinstance(table, dict)
    auth = table.get("auth", "approle" if "role_id" in table else "token")
    if auth not in VAULT_AUTH:
        return "auth", "must be \"approle\", \"token\" or \"jwt\""
    jwt_problem = _jwt_problem(table, auth)
    if jwt_problem is not None:
        return jwt_problem
    if auth == "approle":
        for key in ("role_id", "secret_id_file"):
            if key not in table:
                return key, "is required with auth = \"approle\""
    elif "role_id" in table or "secret_id_file" in table:
        return "role_id" if "role_id" in table else "secret_id_file", "only applies to auth = \"approle\""
    if "token_file" in table and auth != "token":
        return "token_file", "only applies to auth = \"token\""
    for key, method in (("approle_mount", "approle"), ("jwt_mount", "jwt")):
        mount = table.get(key)
        if mount is None:
            continue
        if auth != method:
            return key, f"only applies to auth = \"{method}\""
        # ``..`` and ``.`` are letters of the set, and dot segments: auth/../sys/login is another endpoint
        if not all(part not in ("", ".", "..") and _MOUNT_CHARS.issuperset(part) for part in str(mount).split("/")):
            return key, (f"is the path the {method} method is enabled at, without auth/ or slashes around it, "
                         f"like \"{method}\" or \"ci/{method}\"")
    address = table.get("address")
    if address is not None:
        from gatepass.engines.urls import problem as url_problem

        wrong = url_problem(str(address).rstrip("/"))
        if wrong is not None:
            return "address", wrong
    return None
