"""catalog's container image: built from the local base and run hardened (see service_checks)."""

from __future__ import annotations

import pytest

from tests.images.service_checks import *  # noqa: F403 - the shared checks run for this service


@pytest.fixture(scope="module")
def service() -> str:
    return "catalog"
