"""Fixtures for the backend contract suite: a real Secret Service (and a bare bus) when the daemons are installed."""

from __future__ import annotations

import pytest

from tests.support.secret_service import missing_tools, private_secret_service, private_session_bus


def _need_daemons() -> None:
    missing = missing_tools()
    if missing:  # CI installs them (./test does), so there this never skips
        pytest.skip(f"needs {', '.join(missing)} (Debian: apt-get install dbus gnome-keyring); ./test installs them")


@pytest.fixture(scope="session")
def secret_service_env():
    """DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR of a private, unlocked gnome-keyring shared by the session."""
    _need_daemons()
    with private_secret_service() as env:
        yield env


@pytest.fixture
def own_secret_service_env():
    """A private gnome-keyring for one test (for tests that lock it or otherwise disturb it)."""
    _need_daemons()
    with private_secret_service() as env:
        yield env


@pytest.fixture
def bare_bus_env():
    """A private session bus with no Secret Service on it."""
    _need_daemons()
    with private_session_bus() as env:
        yield env
