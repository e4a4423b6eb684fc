"""Where gatepass keeps its own files, from the environment it is given (XDG base directories)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def data_dir(env: Mapping[str, str]) -> str:
    """``$XDG_DATA_HOME/gatepass``: the store's index and encrypted file."""
    return os.path.join(env.get("XDG_DATA_HOME") or os.path.join(_home(env), ".local", "share"), "gatepass")


def config_dir(env: Mapping[str, str]) -> str:
    """``$XDG_CONFIG_HOME/gatepass``: the user layer, the machine key, the user's host key."""
    return os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(_home(env), ".config"), "gatepass")


def cache_dir(env: Mapping[str, str]) -> str:
    """``$XDG_CACHE_HOME/gatepass``: the parsed-config cache and token_command output."""
    return os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(_home(env), ".cache"), "gatepass")


def index_path(env: Mapping[str, str]) -> str:
    return os.path.join(data_dir(env), "index")
