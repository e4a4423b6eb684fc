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
MARK_HELPERS_SET = "gatepass.setupHelpersSet"  # the list setup wrote: undo puts WERE back only over exactly this
MARK_CREATED = "gatepass.setupCreatedFile"  # the config file did not exist: undo removes it when nothing else is left
TIMEOUT = 30
# Helpers that keep what git approves somewhere other than a plaintext file. Any other helper after
# gatepass is told every token gatepass answers, and may write it anywhere: ``store`` writes
# ~/.git-credentials in plaintext, an unknown one is not vouched for (doctor reports both).
KEYCHAIN_HELPERS = frozenset({"cache", "osxkeychain", "libsecret", "gnome-keyring", "wincred", "manager",
                              "manager-core", "git-credential-manager"})
PLAINTEXT_HELPERS = frozenset({"store"})


def is_gatepass(value: str) -> bool:
    """Whether a ``credential.helper`` value runs gatepass (``gatepass`` or a path to its helper).

    >>> is_gatepass("gatepass"), is_gatepass("/usr/local/bin/git-credential-gatepass"), is_gatepass("store")
    (True, True, False)
    """
    first = value.split(" ", 1)[0]
    return value == HELPER or os.path.basename(first) == "git-credential-gatepass"


def helper_name(value: str) -> str:
    """The helper a ``credential.helper`` value runs, as git names it (``store``, ``cache``, a path's basename).

    >>> helper_name("cache --timeout=60"), helper_name("/usr/lib/git-core/git-credential-libsecret"), helper_name("!f")
    ('cache', 'libsecret', '!f')
    """
    if value.startswith("!"):
        return value
    name = os.path.basename(value.split(" ", 1)[0])
    return name.removeprefix("git-credential-")


def plaintext(value: str) -> bool:
    return helper_name(value) in PLAINTEXT_HELPERS


def helpers_wanted(current: list[str], helper: str = HELPER, keep: bool = False) -> list[str]:
    """The helper list setup writes: by default a reset then gatepass alone, so no other helper
    (``store``, a system one) is told what git approves, as gh and git-credential-manager do.

    With ``keep``, every other helper stays in its order, gatepass first among those git will
    ask: right after the last reset. ``helper`` replaces any gatepass entry already there.

    >>> helpers_wanted(["store"], "/bin/git-credential-gatepass")
    ['', '/bin/git-credential-gatepass']
    >>> helpers_wanted(["store", "gatepass", "cache"], keep=True)
    ['gatepass', 'store', 'cache']
    >>> helpers_wanted(["osxkeychain", "", "store"], keep=True)
    ['osxkeychain', '', 'gatepass', 'store']
    """
    if not keep:
        return ["", helper]
    reset = max((i + 1 for i, value in enumerate(current) if value == ""), default=0)
    before = [v for v in current[:reset] if not is_gatepass(v)]
    after = [v for v in current[reset:] if not is_gatepass(v)]
    return [*before, helper, *after]


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

    def file_path(self) -> str | None:
        """The file ``--global``/``--system`` writes, by git's own rules (None for the merged view)."""
        if self.scope == "--system":
            return self.env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"
        if self.scope != "--global":
            return None
        if self.env.get("GIT_CONFIG_GLOBAL"):
            return self.env["GIT_CONFIG_GLOBAL"]
        home = self.env.get("HOME") or os.path.expanduser("~")
        dotfile = os.path.join(home, ".gitconfig")
        xdg = os.path.join(self.env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "git", "config")
        return xdg if not os.path.exists(dotfile) and os.path.exists(xdg) else dotfile

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
