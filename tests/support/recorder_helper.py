"""A recording docker credential helper for tests: logs each call, answers per the docker helper protocol.

``install_recorder(bin_dir, state_dir)`` writes ``bin_dir/docker-credential-recorder`` (put
``bin_dir`` first on PATH, then name "recorder" in ``credHelpers``/``credsStore``). Each call
appends ``{"argv", "stdin"}`` as one JSON line to ``calls.jsonl`` and answers from ``creds.json``
(``{server: {"Username", "Secret"}}``, matched exactly; key ``"*"`` answers any server;
``{"Error": msg}`` makes ``get`` and ``erase`` of that server print msg and exit 1).
``store``/``erase`` update ``creds.json``, so a login followed by a get behaves like a real store.

The log holds stdin verbatim (a ``store`` carries its Secret): it is 0600 in a private temp dir
and meant for test passwords only.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

NOT_FOUND: Final = "credentials not found in native keychain"
ENV_DIR: Final = "GATEPASS_RECORDER_DIR"


@dataclass(frozen=True)
class Call:
    """One recorded helper call: ``action`` is argv[1] (or "" when none)."""

    argv: tuple[str, ...]
    stdin: str

    @property
    def action(self) -> str:
        return self.argv[0] if self.argv else ""


def install_recorder(bin_dir: Path, state_dir: Path, creds: dict[str, dict[str, str]] | None = None,
                     name: str = "recorder") -> Path:
    """Write ``docker-credential-NAME`` into ``bin_dir``, state in ``state_dir``; returns the script."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    set_creds(state_dir, creds or {})
    script = bin_dir / f"docker-credential-{name}"
    # The state dir is baked in: clients such as docker-py may pass a trimmed environment.
    script.write_text(f"#!/bin/sh\n{ENV_DIR}='{state_dir}' exec '{sys.executable}' '{Path(__file__).resolve()}' \"$@\"\n")
    script.chmod(0o755)
    return script


def set_creds(state_dir: Path, creds: dict[str, dict[str, str]]) -> None:
    path = state_dir / "creds.json"
    path.write_text(json.dumps(creds))
    path.chmod(0o600)


def get_creds(state_dir: Path) -> dict[str, dict[str, str]]:
    return dict(json.loads((state_dir / "creds.json").read_text()))


def read_calls(state_dir: Path) -> list[Call]:
    path = state_dir / "calls.jsonl"
    if not path.exists():
        return []
    return [Call(tuple(row["argv"]), row["stdin"]) for row in map(json.loads, path.read_text().splitlines())]


def clear_calls(state_dir: Path) -> None:
    (state_dir / "calls.jsonl").unlink(missing_ok=True)


def _answer(action: str, data: str, creds: dict[str, dict[str, str]]) -> tuple[str, int, bool]:
    """(stdout, exit code, whether creds changed) for one action."""
    if action == "get":
        entry = creds.get(data) or creds.get("*")
        if entry is None:
            return NOT_FOUND + "\n", 1, False
        if "Error" in entry:  # a helper failure other than "not found", e.g. a locked keyring
            return entry["Error"] + "\n", 1, False
        return json.dumps({"ServerURL": data, "Username": entry["Username"], "Secret": entry["Secret"]}) + "\n", 0, False
    if action == "store":
        request = json.loads(data)
        creds[request["ServerURL"]] = {"Username": request["Username"], "Secret": request["Secret"]}
        return "", 0, True
    if action == "erase":
        if "Error" in creds.get(data, {}):
            return creds[data]["Error"] + "\n", 1, False
        return "", 0, creds.pop(data, None) is not None  # erasing something absent succeeds
    if action == "list":
        return json.dumps({server: entry["Username"] for server, entry in creds.items() if server != "*"}) + "\n", 0, False
    if action in ("version", "-v", "--version"):
        return "docker-credential-recorder (gatepass tests) 0.0.0\n", 0, False
    return "unknown action\n", 1, False


def main() -> int:
    state = Path(os.environ[ENV_DIR])
    argv = sys.argv[1:]
    action = argv[0] if argv else ""
    # docker's protocol: list and version read no stdin (docker-py leaves the caller's attached).
    data = "" if action in ("list", "version", "-v", "--version", "") else sys.stdin.read()
    with open(state / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fd = os.open(state / "calls.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as log:
            log.write(json.dumps({"argv": argv, "stdin": data}) + "\n")
        creds = get_creds(state)
        text, code, changed = _answer(action, data.strip() if action != "store" else data, creds)
        if changed:
            set_creds(state, creds)
    sys.stdout.write(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
