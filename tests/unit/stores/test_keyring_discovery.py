"""Installing gatepass into a shared environment must not make its encrypted file the default keyring
of every other keyring user there (issue 13 item 10): keyring's own discovery never picks it; naming it does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import keyring, keyring.backend
chosen = keyring.get_keyring()
chained = getattr(chosen, "backends", [])
print(type(chosen).__module__ + "." + type(chosen).__name__)
print(",".join(type(b).__name__ for b in chained))
print(",".join(type(b).__name__ for b in keyring.backend.get_all_keyring()))
"""
OURS = "gatepass.stores.keyring_backend.EncryptedFileKeyring"


def discover(tmp_path: Path, **extra: str) -> list[str]:
    """keyring's discovery in a fresh process: no session bus, no keyringrc, no PYTHON_KEYRING_BACKEND."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON_KEYRING", "DBUS_", "KEYRING"))}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"),
               **extra)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.splitlines()


def test_discovery_never_chooses_the_encrypted_file_keyring(tmp_path):
    chosen, chained, everything = discover(tmp_path)
    assert "EncryptedFileKeyring" in everything.split(",")  # the entry point is installed and loaded
    assert chosen != OURS and "EncryptedFileKeyring" not in chained.split(",")


def test_naming_it_still_works(tmp_path):
    chosen, _, _ = discover(tmp_path, PYTHON_KEYRING_BACKEND=OURS)
    assert chosen == OURS
