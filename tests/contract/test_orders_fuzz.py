"""Property-based fuzzing of orders' OpenAPI (with a real catalog behind it)."""

from __future__ import annotations

import pytest

from tests.contract.fuzz import run_schemathesis
from tests.support.services import SECRETS, run_service

pytestmark = pytest.mark.slow


def test_orders_openapi_holds_under_fuzzing(moto) -> None:
    with (
        run_service("catalog", moto.env) as catalog,
        run_service("orders", moto.env, extra_env={"CATALOG_URL": catalog.url}) as orders,
    ):
        result = run_schemathesis(
            f"{orders.url}/orders/openapi.json", {"X-Api-Key": SECRETS["API_KEY"]}, "orders"
        )
        log = "\n".join(orders.log_lines() + catalog.log_lines())
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "passed" in result.stdout
    assert '"status":500' not in log
    assert "Traceback" not in log
