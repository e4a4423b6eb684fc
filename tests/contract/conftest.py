"""Fixtures for the backend contract suite: a real Secret Service when its daemons are installed."""

from __future__ import annotations

import pytest

from tests.support.secret_service import missing_tools, private_secret_service


@pytest.fixture(scope="session")
def secret_service_env():
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: apt-get install dbus gnome-keyring); ./test installs them")
    with private_secret_service() as env:
        yield env
