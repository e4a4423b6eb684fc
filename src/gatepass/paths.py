"""Where gatepass keeps its own files, from the environment it is given (XDG base directories), and
the few path operations the helpers' warm path needs.

The warm ``get`` imports no ``os`` (with ``posixpath`` and ``_collections_abc``, a measurable part of a
call under ``python -S``: benchmarks/bench_get.py): ``join``, ``dirname`` and ``absolute`` are ``posixpath``'s,
for ``str`` paths, and fall back to it where a path needs normalising.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def join(path: str, *parts: str) -> str:
    """``os.path.join`` for ``str`` paths: an absolute part starts over."""
    for part in parts:
        if part.startswith("/"):
            path = part
        elif not path or path.endswith("/"):
            path += part
        else:
            path += "/" + part
    return path


def dirname(path: str) -> str:
    """``os.path.dirname``: everything before the last ``/``, trailing slashes dropped unless all slashes."""
    head = path[:path.rfind("/") + 1]
    if head and head != "/" * len(head):
        head = head.rstrip("/")
    return head


def token_file_path(config_file: str, ref: str) -> str:
    """A file an account names (``token_file``, a key file) as the helpers open it: a relative path
    is relative to the config file it is written in."""
    return ref if ref.startswith("/") else join(dirname(config_file), ref)


def absolute(path: str) -> str:
    """``os.path.abspath``: returned as it is when already absolute and normal (the usual case),
    else normalised by ``os.path`` itself."""
    if path.startswith("/") and not path.startswith("//") and (len(path) == 1 or not path.endswith("/")) \
            and "//" not in path and "/./" not in path and "/../" not in path \
            and not path.endswith(("/.", "/..")):
        return path
    import os.path

    return os.path.abspath(path)


def _home(env: "Mapping[str, str]") -> str:
    home = env.get("HOME")
    if home:
        return home
    import os.path

    return os.path.expanduser("~")


def data_dir(env: "Mapping[str, str]") -> str:
    """``$XDG_DATA_HOME/gatepass``: the store's index and encrypted file."""
    return join(env.get("XDG_DATA_HOME") or join(_home(env), ".local", "share"), "gatepass")


def config_dir(env: "Mapping[str, str]") -> str:
    """``$XDG_CONFIG_HOME/gatepass``: the user layer, the machine key, the user's host key."""
    return join(env.get("XDG_CONFIG_HOME") or join(_home(env), ".config"), "gatepass")


def cache_dir(env: "Mapping[str, str]") -> str:
    """``$XDG_CACHE_HOME/gatepass``: the parsed-config cache and token_command output."""
    return join(env.get("XDG_CACHE_HOME") or join(_home(env), ".cache"), "gatepass")


def index_path(env: "Mapping[str, str]") -> str:
    return join(data_dir(env), "index")
