"""The contract every secret backend keeps, as a mixin (like keyring.testing.backend.BackendBasicTests).

A concrete test class inherits ``BackendContract`` and provides two fixtures: ``backend`` (a
fresh, empty backend) and ``reopen`` (a callable giving a new backend object over the same
storage, as the next helper process would see it).
"""

from __future__ import annotations

import pytest

from gatepass.errors import InvalidRequestError
from gatepass.stores import Backend

TRICKY = [
    ("gatepass:git:https://example.com", "user", "s3cret"),
    ("gatepass:git:https://example.com", "", "blank-user"),  # git's t0303 stores an empty username
    ("gatepass:git:https://example.com/path", "user", ""),  # ... and an empty password
    ("gatepass:docker:https://index.docker.io/v1/refresh-token", "<token>", "tab\there\nnewline%25 é😀"),
    ("gatepass:git:https://xn--bcher-kva.example:8443/ü/ñ", "ünï cödé", "line1\r\nline2\x00?"),
]


class BackendContract:
    """get/set/delete by (service, username): absent is None/False, everything else round-trips."""

    def test_has_a_name(self, backend: Backend) -> None:
        assert isinstance(backend.name, str) and backend.name not in ("", "backend")

    @pytest.mark.parametrize("service, username, secret", TRICKY)
    def test_round_trip(self, backend: Backend, service: str, username: str, secret: str) -> None:
        assert backend.get(service, username) is None
        backend.set(service, username, secret)
        assert backend.get(service, username) == secret
        backend.set(service, username, secret + "-2")
        assert backend.get(service, username) == secret + "-2"
        assert backend.delete(service, username) is True
        assert backend.get(service, username) is None
        assert backend.delete(service, username) is False

    def test_entries_are_independent(self, backend: Backend) -> None:
        backend.set("svc-a", "u", "1")
        backend.set("svc-a", "v", "2")
        backend.set("svc-a", "", "blank")
        backend.set("svc-b", "u", "3")
        assert [backend.get("svc-a", u) for u in ("u", "v", "")] == ["1", "2", "blank"]
        assert backend.get("svc-b", "u") == "3"
        assert backend.get("svc-a", "w") is None and backend.get("svc-c", "u") is None
        assert backend.delete("svc-a", "u") is True
        assert [backend.get("svc-a", "u"), backend.get("svc-a", "v"), backend.get("svc-a", "")] == [None, "2", "blank"]
        assert backend.delete("svc-a", "w") is False
        for service, user in (("svc-a", "v"), ("svc-a", ""), ("svc-b", "u")):
            assert backend.delete(service, user) is True

    def test_service_is_not_a_prefix_match(self, backend: Backend) -> None:
        backend.set("gatepass:git:https://github.com", "u", "real")
        assert backend.get("gatepass:git:https://github.co", "u") is None
        assert backend.get("gatepass:git:https://github.com.evil.io", "u") is None
        assert backend.get("gatepass:git:https://github.com", "U") is None
        backend.delete("gatepass:git:https://github.com", "u")

    def test_large_secret(self, backend: Backend) -> None:
        big = "x" * 65536 + "end"
        backend.set("svc-big", "u", big)
        assert backend.get("svc-big", "u") == big
        backend.delete("svc-big", "u")

    def test_a_new_backend_object_sees_what_was_stored(self, backend: Backend, reopen) -> None:
        backend.set("svc-persist", "u", "kept")
        again = reopen()
        assert again.get("svc-persist", "u") == "kept"
        assert again.delete("svc-persist", "u") is True
        assert reopen().get("svc-persist", "u") is None

    @pytest.mark.parametrize("service, username, secret", [("svc", "u", "lone \ud800 surrogate"), ("svc-\udcff", "u", "v")])
    def test_text_that_is_not_valid_unicode_round_trips_or_is_refused_clearly(self, backend: Backend, service: str,
                                                                            username: str, secret: str) -> None:
        # docker's JSON can carry lone surrogates ("\ud800"); a backend keeps them or refuses with a GatepassError
        try:
            backend.set(service, username, secret)
        except InvalidRequestError:
            assert backend.get("svc", "u") is None
            return
        assert backend.get(service, username) == secret
        assert backend.delete(service, username) is True
