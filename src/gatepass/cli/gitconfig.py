"""Real ``git config`` for one scope, and the rules for where gatepass goes in git's helper list.

Values are read NUL-separated (``-z``): an empty ``credential.helper`` is meaningful, it resets
the helpers git has collected so far (gitcredentials(7)). Each ``git config`` child runs in its
own session, so a Ctrl-C at the terminal reaches gatepass (which holds it until a change is
complete, see ``interrupts.py``) and never kills a ``git config`` half-way through a sequence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping

from gatepass.errors import GatepassError

HELPER = "gatepass"
HELPER_KEY = "credential.helper"
# What ``gatepass setup git`` records beside its changes, in the same file, so ``--undo``
# removes exactly those: whether it added or reordered the helper, the list it found, the keys it set.
MARK_HELPER = "gatepass.setupHelper"
MARK_HELPERS_WERE = "gatepass.setupHelpersWere"
MARK_USERNAME = "gatepass.setupUsername"
TIMEOUT = 30


def is_gatepass(value: str) -> bool:
    """Whether a ``credential.helper`` value runs gatepass (``gatepass`` or a path to its helper).

    >>> is_gatepass("gatepass"), is_gatepass("/usr/local/bin/git-credential-gatepass"), is_gatepass("store")
    (True, True, False)
    """
    first = value.split(" ", 1)[0]
    return value == HELPER or os.path.basename(first) == "git-credential-gatepass"


def helpers_first(current: list[str]) -> list[str]:
    """The helper list with gatepass first among those git will ask: right after the last reset.

    Every other helper stays, in its order (the rule ./install follows).

    >>> helpers_first([])
    ['gatepass']
    >>> helpers_first(["store", "gatepass", "cache"])
    ['gatepass', 'store', 'cache']
    >>> helpers_first(["osxkeychain", "", "store"])
    ['osxkeychain', '', 'gatepass', 'store']
    """
    reset = max((i + 1 for i, value in enumerate(current) if value == ""), default=0)
    ours = next((v for v in current[reset:] if is_gatepass(v)), HELPER)
    before = [v for v in current[:reset] if not is_gatepass(v)]
    after = [v for v in current[reset:] if not is_gatepass(v)]
    return [*before, ours, *after]


def effective_helpers(values: list[str]) -> list[str]:
    """The helpers git really asks, in order: those after the last empty (reset) value.

    >>> effective_helpers(["osxkeychain", "", "gatepass", "store"])
    ['gatepass', 'store']
    """
    reset = max((i + 1 for i, value in enumerate(values) if value == ""), default=0)
    return values[reset:]


def available(env: Mapping[str, str]) -> bool:
    return shutil.which("git", path=env.get("PATH")) is not None


class GitConfig:
    """``git config [--global|--system]`` run for real; ``scope`` ``""`` is what git itself reads here."""

    def __init__(self, scope: str, env: Mapping[str, str]) -> None:
        self.scope, self.env = scope, env

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        command = ["git", "config", *([self.scope] if self.scope else []), *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=dict(self.env), timeout=TIMEOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        except FileNotFoundError:
            raise GatepassError("git is not installed or not on PATH; install git first") from None
        except subprocess.TimeoutExpired:
            raise GatepassError(f"git config {self.scope} did not finish in {TIMEOUT}s; is its lock file stuck?") from None
        if done.returncode not in ok:
            why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            hint = "; run it as root (sudo)" if self.scope == "--system" and "ermission" in why else ""
            raise GatepassError(f"git config {self.scope} {args[0]} failed: {why}{hint}".replace("  ", " "))
        return done

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in order; ``[]`` when it is not set."""
        out = self.run("-z", "--get-all", key, ok=(0, 1)).stdout
        return out.split("\0")[:-1]

    def get(self, key: str) -> str | None:
        values = self.get_all(key)
        return values[-1] if values else None

    def set(self, key: str, value: str) -> None:
        self.run("--replace-all", key, value)

    def unset(self, key: str) -> None:
        self.run("--unset-all", key, ok=(0, 5))  # 5: it was not set

    def replace_list(self, key: str, values: list[str]) -> None:
        """Make ``key`` hold exactly ``values``, in order (call inside ``deferred_interrupts``).

        ``--replace-all`` first keeps the key where it was in the file; the rest follow it.
        """
        if not values:
            self.unset(key)
            return
        self.run("--replace-all", key, values[0])
        for value in values[1:]:
            self.run("--add", key, value)

    def urlmatch(self, key: str, url: str, *, boolean: bool = False) -> str | None:
        """What git's config says for ``key`` and ``url`` (``credential.<url>.username`` and the like)."""
        args = ["--type=bool"] if boolean else []
        out = self.run(*args, "--get-urlmatch", key, url, ok=(0, 1)).stdout
        return out.rstrip("\n") if out else None
