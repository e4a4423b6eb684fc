"""gatepass's own top-level tables in a config file: ``[store]`` and the engines' settings (``[vault]``),
checked for ``schema.validate`` (the provider tables are its own)."""

from __future__ import annotations

from gatepass.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gatepass.config.schema import Parsed, Table

STORE_KEYS: dict[str, type | tuple[type, ...]] = {"backend": str, "passphrase_file": str, "passphrase_env": str,
                                                  "timeout": (int, float)}
_TYPE_NAMES: dict[type | tuple[type, ...], str] = {str: "a string", (int, float): "a number"}


def engine_tables(tree: "Table", path: str, parsed: "Parsed") -> None:
    """Each valid engine table as it is; one with an error as ``{TABLE_ERROR: line}``, so its accounts
    report the error instead of reading the engine with the environment's settings alone."""
    from gatepass.engines.specs import SETTINGS_KEYS, TABLE_ERROR, settings_problem

    for name in SETTINGS_KEYS:
        if name not in tree:
            continue
        problem = settings_problem(name, tree[name])
        ignored = None if problem is not None else _writers_problem(path)
        if problem is None and ignored is None:
            parsed.engines[name] = dict(tree[name])
            continue
        sub, message = problem or ignored or ("", "")
        if problem is not None and not sub:
            message = f"must be a table: write [{name}]"
        error = ConfigError(message, path=path, key=f"{name}.{sub}".rstrip("."))
        parsed.errors.append(error)
        if problem is not None:  # an ignored table (others can write the file) is as if absent
            key = f"{name}.{sub}".rstrip(".")
            parsed.engines[name] = {TABLE_ERROR: f"[{name}] in {path} has an error ({key}: {message}); its accounts "
                                                 "are not read until it is fixed (gatepass config check)"}


def _writers_problem(path: str) -> tuple[str, str] | None:
    """Why an engine table in ``path`` must be ignored: another user could change the file or a
    directory above it, and so point every user's engine login (with the host's secret_id) at
    their own server (docs/design.md "Trust boundaries")."""
    import os

    from gatepass.readback import directory_problem, seen_as_root

    try:
        st = os.stat(path)
    except OSError:
        return None  # read a moment ago: gone since, nothing to judge
    if st.st_uid not in (0, os.geteuid()) and not seen_as_root(os.path.abspath(path), st):
        return "", f"is ignored: the file belongs to uid {st.st_uid}, who could redirect the engine login"
    if st.st_mode & 0o022:
        return "", f"is ignored: other users can write the file; run: chmod go-w {path}"
    why = directory_problem(os.path.dirname(os.path.abspath(path)))
    return ("", f"is ignored: {why}") if why else None


def store_table(table: object, path: str, parsed: "Parsed") -> None:
    if table is None:
        return
    if not isinstance(table, dict):
        parsed.errors.append(ConfigError("must be a table: write [store]", path=path, key="store"))
        return
    for key, value in table.items():
        expected = STORE_KEYS.get(key)
        if expected is None:
            parsed.errors.append(ConfigError(f"unknown key (known: {', '.join(sorted(STORE_KEYS))})",
                                             path=path, key=f"store.{key}"))
        elif not isinstance(value, expected) or isinstance(value, bool):
            parsed.errors.append(ConfigError(f"must be {_TYPE_NAMES[expected]}", path=path, key=f"store.{key}"))
        else:
            parsed.store[key] = value
