"""Fixtures shared by the integration tests (the databases, ``app`` and ``client`` are in tests/conftest.py).

``integration`` installs the integration layer on the test's application, with ``integration_settings``: a
module that needs other retry or attempt settings overrides ``integration_settings`` (not ``integration``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seamline.integration import Integration, IntegrationSettings, install
from seamline.service import Seamline


@pytest.fixture
def integration_settings() -> IntegrationSettings:
    return IntegrationSettings()


@pytest.fixture
def integration(app: Seamline, integration_settings: IntegrationSettings) -> Iterator[Integration]:
    found = install(app, integration_settings)
    yield found
    found.uninstall()
