"""orders and catalog as real processes: parallel requests with one Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.services import SECRETS, RunningService, private_emulator, run_service

pytestmark = pytest.mark.slow
API = {"X-Api-Key": SECRETS["API_KEY"]}


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[RunningService, RunningService]]:
    # An emulator of its own: these tests race many writers, and keep the session's shared one free.
    with (
        private_emulator() as emulator,
        run_service("catalog", emulator.env) as catalog,
        run_service("orders", emulator.env, extra_env={"CATALOG_URL": catalog.url}) as orders,
    ):
        yield catalog, orders


def test_parallel_posts_with_one_key_create_exactly_one_order(stack) -> None:
    catalog, orders = stack
    body = {
        "sku": f"P-{uuid.uuid4().hex[:10]}",
        "name": "n",
        "price": "3.00",
        "currency": "EUR",
        "stock": 100,
    }
    product_id = httpx.post(f"{catalog.url}/catalog/products", json=body, headers=API, timeout=10).json()[
        "id"
    ]
    cust = f"cust-{uuid.uuid4().hex[:8]}"
    order = {"customer_id": cust, "items": [{"product_id": product_id, "quantity": 2}]}
    key = f"par-{uuid.uuid4().hex}"
    n = 12

    def place(_: int) -> httpx.Response:
        with httpx.Client(timeout=30) as c:
            return c.post(f"{orders.url}/orders", json=order, headers={**API, "Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=n) as pool:
        responses = list(pool.map(place, range(n)))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409}, codes
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1, ids
    assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in responses if r.status_code == 201) == 1
    listed = httpx.get(f"{orders.url}/orders", params={"customer_id": cust}, headers=API, timeout=10).json()[
        "items"
    ]
    assert [o["id"] for o in listed] == list(ids)
    stock = httpx.get(f"{catalog.url}/catalog/products/{product_id}", timeout=10).json()["stock"]
    assert stock == 98


def test_parallel_orders_for_scarce_stock_never_oversell(stack) -> None:
    catalog, orders = stack
    body = {"sku": f"S-{uuid.uuid4().hex[:10]}", "name": "n", "price": "1.00", "currency": "EUR", "stock": 5}
    product_id = httpx.post(f"{catalog.url}/catalog/products", json=body, headers=API, timeout=10).json()[
        "id"
    ]
    n = 12

    def place(i: int) -> dict:
        order = {"customer_id": f"c{i}", "items": [{"product_id": product_id, "quantity": 1}]}
        with httpx.Client(timeout=30) as c:
            r = c.post(
                f"{orders.url}/orders", json=order, headers={**API, "Idempotency-Key": uuid.uuid4().hex}
            )
            assert r.status_code == 201, r.text
            return r.json()

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(place, range(n)))
    statuses = [o["status"] for o in results]
    assert statuses.count("confirmed") == 5
    assert statuses.count("rejected") == n - 5
    assert httpx.get(f"{catalog.url}/catalog/products/{product_id}", timeout=10).json()["stock"] == 0
