"""Property-based fuzzing of catalog's OpenAPI: no 5xx, every response conforms to the schema."""

from __future__ import annotations

import pytest

from tests.contract.fuzz import run_schemathesis
from tests.support.services import SECRETS, run_service

pytestmark = pytest.mark.slow


def test_catalog_openapi_holds_under_fuzzing(moto) -> None:
    with run_service("catalog", moto.env) as catalog:
        result = run_schemathesis(
            f"{catalog.url}/catalog/openapi.json",
            {"X-Api-Key": SECRETS["API_KEY"], "X-Service-Token": SECRETS["SERVICE_TOKEN"]},
            "catalog",
        )
        log = "\n".join(catalog.log_lines())
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    assert '"status":500' not in log
    assert "Traceback" not in log
