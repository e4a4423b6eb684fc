"""A dict-backed secret backend for unit tests and the backend contract suite.

It lives in tests/, not in gatepass: production code cannot select it. Tests that want a store on
it register it through ``gatepass.stores.choose.TEST_BACKENDS``, the one explicit hook (``registered``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from gatepass.stores import Backend, choose


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set(self, service: str, username: str, secret: str) -> None:
        self.items[(service, username)] = secret

    def delete(self, service: str, username: str) -> bool:
        return self.items.pop((service, username), None) is not None


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """``[store] backend = "memory"`` works inside the block (each open gives a new, empty backend)."""
    choose.TEST_BACKENDS["memory"] = MemoryBackend
    try:
        yield
    finally:
        del choose.TEST_BACKENDS["memory"]
