"""``doctor``'s report on gatepass's own caches: the parse cache of the layers in use and each engine
token cache, with the files that would be ignored (and rebuilt) and why."""

from __future__ import annotations

import os
from collections.abc import Mapping

from gatepass.config import cache
from gatepass.config.layers import layer_files
from gatepass.engines import tokencache
from gatepass.paths import cache_dir
from gatepass.readback import IGNORED, directory_problem, trust_problem


def trust_report(env: Mapping[str, str]) -> list[tuple[bool, str]]:
    """(ok, line) for ``doctor``: whether the parse cache of these layers is trusted, and each of
    gatepass's own cache files that would be ignored (and rebuilt), with why."""
    directory = cache_dir(env)
    why = directory_problem(directory) if os.path.isdir(directory) else None
    if why:
        return [(False, f"caches in {directory} are not used: {why}; make each directory yours or root's, "
                        "not writable by others")]
    path = cache.path_for([p for _, _, p in layer_files(env)], env)
    problem = trust_problem(path, cache.MAX_CACHE_BYTES)
    state = "is trusted" if os.path.exists(path) else "is not written yet"
    report = [(False, f"ignored, rebuilt on use: {problem}; remove it")] if problem else [(True, f"parse cache {path} {state}")]
    report += [(False, f"ignored and rebuilt: {why}") for why in IGNORED if why != problem]
    tokens = tokencache.directory(env)
    for name in sorted(os.listdir(tokens)) if os.path.isdir(tokens) else []:
        problem = tokencache.entry_problem(os.path.join(tokens, name)) if "." not in name else None
        if problem:
            report.append((False, f"ignored, rebuilt on use: {problem}; remove it"))
    return report
