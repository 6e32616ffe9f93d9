"""Fault: a retry storm. The same POST /orders (one Idempotency-Key, one body) sent 50 times at
once through the edge creates exactly one order and takes the stock exactly once.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from bench import stack as bench_stack

from tests.faults.support import REQUEST_TIMEOUT, private_stack, report, stock_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

COPIES = 50
INITIAL_STOCK = 100


@pytest.fixture(scope="module")
def s() -> Iterator[bench_stack.Stack]:
    with private_stack("retry-storm") as started:
        yield started


def test_fifty_concurrent_copies_create_exactly_one_order(s: bench_stack.Stack) -> None:
    first, second = s.create_products(2, stock=INITIAL_STOCK, tag="STORM")
    customer = f"storm-{uuid.uuid4().hex[:8]}"
    key = f"storm-{uuid.uuid4()}"
    body = {
        "customer_id": customer,
        "items": [{"product_id": first, "quantity": 2}, {"product_id": second, "quantity": 3}],
    }
    headers = {"X-Api-Key": s.api_key("orders"), "Idempotency-Key": key}
    orders_before = s.item_count("orders")

    barrier = threading.Barrier(COPIES, timeout=30)
    answers: list[tuple[int | None, bool, dict | str]] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=s.edge, timeout=REQUEST_TIMEOUT) as client:
            barrier.wait()
            try:
                r = client.post("/orders", json=body, headers=headers)
                answer: tuple[int | None, bool, dict | str] = (
                    r.status_code,
                    r.headers.get("idempotent-replayed") == "true",
                    r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text,
                )
            except httpx.HTTPError as exc:
                answer = (None, False, type(exc).__name__)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, daemon=True) for _ in range(COPIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(REQUEST_TIMEOUT + 35)
    assert len(answers) == COPIES, "some requests never finished"

    statuses = Counter(str(code) for code, _, _ in answers)
    created = [a for code, replayed, a in answers if code == 201 and not replayed]
    order_ids = {a["id"] for code, _, a in answers if code in (200, 201) and isinstance(a, dict)}
    # Then an ordinary retry (after the storm) gets the same order back.
    with httpx.Client(base_url=s.edge, timeout=REQUEST_TIMEOUT) as client:
        replay = client.post("/orders", json=body, headers=headers)
        listed = client.get("/orders", params={"customer_id": customer, "limit": 100}, headers=headers)
    orders_after = s.item_count("orders")
    stored_orders = [i for i in s.scan("orders") if i.get("type", {}).get("S") == "order"]
    mine = [i for i in stored_orders if i.get("customer_id", {}).get("S") == customer]
    active = [
        i
        for i in s.scan("catalog")
        if i["sk"]["S"].startswith("RESERVATION#") and i.get("status", {}).get("S") == "active"
    ]
    report(
        "retry_storm",
        {
            "copies": COPIES,
            "status_counts": dict(statuses),
            "created_not_replayed": len(created),
            "distinct_order_ids": len(order_ids),
            "orders_stored": len(mine),
            "items_added_to_orders_table": orders_after - orders_before,
            "stock_after": [stock_of(s, first), stock_of(s, second)],
        },
    )
    assert set(statuses) <= {"200", "201", "409"}, f"unexpected answers: {statuses}"
    assert len(created) == 1, f"exactly one answer is the creation, the rest replays or 409: {statuses}"
    assert len(order_ids) == 1, f"every success must name the same order: {order_ids}"
    (order_id,) = order_ids
    assert replay.status_code in (200, 201)
    assert replay.json()["id"] == order_id
    assert replay.headers.get("idempotent-replayed") == "true"
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["items"]] == [order_id]
    assert len(mine) == 1
    assert mine[0]["id"]["S"] == order_id
    assert mine[0]["status"]["S"] == "confirmed"
    # Stock was taken exactly once, held by exactly one reservation per product for this order.
    assert stock_of(s, first) == INITIAL_STOCK - 2
    assert stock_of(s, second) == INITIAL_STOCK - 3
    held = Counter((i["product_id"]["S"], i["order_id"]["S"], int(i["quantity"]["N"])) for i in active)
    assert held == Counter({(first, order_id, 2): 1, (second, order_id, 3): 1})
