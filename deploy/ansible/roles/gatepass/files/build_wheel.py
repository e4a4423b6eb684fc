#!/usr/bin/env python3
"""Controller side of the gatepass role: a wheel of the gatepass checkout the role ships with.

    build_wheel.py SOURCE CACHE  ->  {"wheel": PATH, "name": FILE NAME, "digest": SHA-256 OF THE SOURCES}

The wheel is built once per content of the sources (pyproject.toml, README.md, LICENSE, src/) into
CACHE/DIGEST/, from a copy of them (building in the checkout would leave build/ there), with a fixed
SOURCE_DATE_EPOCH; a second run with the same sources prints the wheel already built. Building
needs pip and setuptools on the controller only; no host asks a package index for gatepass.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

FILES = ("pyproject.toml", "README.md", "LICENSE")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def sources(root):
    """Every file the wheel is built from, relative to ``root``, sorted."""
    found = [name for name in FILES if os.path.isfile(os.path.join(root, name))]
    for directory, subdirs, names in os.walk(os.path.join(root, "src")):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__" and not d.endswith(".egg-info"))
        found += [os.path.relpath(os.path.join(directory, n), root) for n in names if not n.endswith(".pyc")]
    return sorted(found)


def digest(root, names):
    total = hashlib.sha256()
    for name in names:
        with open(os.path.join(root, name), "rb") as handle:
            data = handle.read()
        total.update(f"{name}\0{len(data)}\0".encode() + data)
    return total.hexdigest()


def build(root, out):
    work = tempfile.mkdtemp(prefix="gatepass-wheel-")
    try:
        shutil.copytree(os.path.join(root, "src"), os.path.join(work, "src", "src"), ignore=SKIP)
        for name in FILES:
            if os.path.isfile(os.path.join(root, name)):
                shutil.copy2(os.path.join(root, name), os.path.join(work, "src", name))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["SOURCE_DATE_EPOCH"] = "315532800"  # 1980-01-01: zip's earliest time, the same bytes each build
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                               "-w", os.path.join(work, "out"), os.path.join(work, "src")],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"building the gatepass wheel failed: {done.stderr.strip()[-2000:]}")
        [wheel] = [n for n in os.listdir(os.path.join(work, "out")) if n.endswith(".whl")]
        staged = out + ".tmp"
        shutil.rmtree(staged, ignore_errors=True)
        os.makedirs(staged)
        shutil.copy2(os.path.join(work, "out", wheel), staged)
        os.replace(staged, out)  # whole or not at all: a broken build leaves no half cache entry
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    root, cache = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    names = sources(root)
    if "pyproject.toml" not in names:
        sys.exit(f"{root} is not a gatepass checkout (no pyproject.toml); set gatepass_source or gatepass_pip_spec")
    sha = digest(root, names)
    out = os.path.join(cache, sha[:32])
    if not os.path.isdir(out) or not [n for n in os.listdir(out) if n.endswith(".whl")]:
        os.makedirs(cache, exist_ok=True)
        build(root, out)
    [wheel] = [n for n in os.listdir(out) if n.endswith(".whl")]
    print(json.dumps({"wheel": os.path.join(out, wheel), "name": wheel, "digest": sha}))


if __name__ == "__main__":
    main()
