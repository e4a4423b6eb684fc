"""A dict-backed secret backend for unit tests and the backend contract suite."""

from __future__ import annotations

from gatepass.stores import Backend


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
