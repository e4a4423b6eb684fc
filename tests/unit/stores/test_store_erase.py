"""Erasing from the store never leaves a secret behind with no index entry pointing at it."""

from __future__ import annotations

import os

import pytest

from gatepass.errors import StoreUnavailableError
from gatepass.stores.index import Entry
from gatepass.stores.layer import Store
from tests.support.memory_backend import registered


def test_a_locked_backend_during_erase_leaves_index_and_secret_together(isolated_env):
    with registered():
        store = Store(dict(os.environ), {"backend": "memory"})
        store.backend()
    store.save(Entry("git", "https", "example.com", "", "u"), "pw")
    backend = store.backend()

    def locked(service: str, username: str) -> bool:
        raise StoreUnavailableError("Secret Service: the default keyring is locked")

    backend.delete = locked  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailableError):
        store.erase(lambda e: e.username == "u")
    assert [e.username for e in store.index.entries()] == ["u"]
    assert backend.get("gatepass:git:https://example.com", "u") == "pw"
