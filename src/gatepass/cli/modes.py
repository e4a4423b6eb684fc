"""File-mode policy the ``gatepass`` command checks, one line each with the ``chmod`` to run.

The same rules as the helpers: a config holding inline tokens that the world can read is refused
(``config/layers.py``; group-readable is fine, for a fleet file shared through a group), a config
others can write contributes no secret (``config/trust.py``; reported as a config error). Beyond
what the helpers refuse, this warns about token files others can read and checks gatepass's own
files are 0600 in 0700 directories.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from gatepass.paths import cache_dir, config_dir, data_dir


def _mode(path: str) -> int | None:
    try:
        return os.stat(path).st_mode
    except OSError:
        return None


def token_file_warning(path: str) -> str | None:
    mode = _mode(path)
    if mode is None or not mode & stat.S_IROTH:
        return None
    return f"{path}: token file is readable by other users; run: chmod o-r {path}"


def own_file_problems(env: Mapping[str, str]) -> list[str]:
    """gatepass's own directories that are not 0700 and files that are not 0600, with the fix."""
    problems = []
    for directory in (data_dir(env), cache_dir(env)):
        mode = _mode(directory)
        if mode is not None and mode & 0o077:
            problems.append(f"{directory} is {stat.S_IMODE(mode):o}, should be 700; run: chmod 700 {directory}")
    files = [os.path.join(config_dir(env), name) for name in ("machine.key", "host.key")]
    try:
        files += [os.path.join(data_dir(env), name) for name in sorted(os.listdir(data_dir(env)))]
    except OSError:
        pass
    for path in files:
        mode = _mode(path)
        if mode is not None and stat.S_ISREG(mode) and mode & 0o077:
            problems.append(f"{path} is {stat.S_IMODE(mode):o}, should be 600; run: chmod 600 {path}")
    return problems
