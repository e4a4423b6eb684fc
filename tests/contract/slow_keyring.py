"""A keyring backend that never answers until released: for the ``keyring:`` adapter's timeout test."""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend

RELEASE = threading.Event()


class SilentKeyring(KeyringBackend):
    priority = -1  # type: ignore[assignment]  # never chosen by keyring's discovery; only pinned by name

    def get_password(self, service: str, username: str) -> str | None:
        RELEASE.wait(60)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        RELEASE.wait(60)

    def delete_password(self, service: str, username: str) -> None:
        RELEASE.wait(60)
