"""Fault: catalog is killed (SIGKILL) while orders are being placed.

While catalog is down, POST /orders answers 503 quickly (never 500, never a hang). Clients then
retry what failed with the same Idempotency-Key once catalog is back (what the 503's
Retry-After asks for). Afterwards, read straight from both tables:
- for every product: stock + units held by active reservations == initial stock;
- every confirmed order holds an active reservation of exactly its quantity on each product;
- every active reservation belongs to a confirmed order (a rejected order holds nothing);
- every request ended with exactly one order, and the tables hold no other order.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bench import stack as bench_stack
from boto3.dynamodb.types import TypeDeserializer

from tests.faults.support import REQUEST_TIMEOUT, Load, private_stack, report, summary

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

# One product runs out during the test, so that some orders are rejected after a reservation on
# their other product was already made (and must be given back).
INITIAL_STOCK = [150, 150, 150, 6]
MAX_ANSWER_SECONDS = 10.0
_DESER = TypeDeserializer()


@pytest.fixture(scope="module")
def s() -> Iterator[bench_stack.Stack]:
    with private_stack("catalog-crash") as started:
        yield started


def _items(s: bench_stack.Stack, service: str) -> list[dict[str, Any]]:
    return [{k: _DESER.deserialize(v) for k, v in item.items()} for item in s.scan(service)]


def _retry_until_final(
    s: bench_stack.Stack, outcomes: list, requests: dict[str, dict[str, Any]], headers: dict[str, str]
) -> tuple[dict[str, tuple[int, dict]], Counter, list[str]]:
    """Retry (same Idempotency-Key) every request without a final answer: (final, retries, pending)."""
    final: dict[str, tuple[int, dict]] = {
        o.label: (o.status, {}) for o in outcomes if o.status is not None and o.status not in (503, 409)
    }
    pending = [o.label for o in outcomes if o.label not in final]
    retries: Counter = Counter()
    with httpx.Client(base_url=s.edge, timeout=REQUEST_TIMEOUT) as client:
        for _ in range(20):
            if not pending:
                break
            still = []
            for key in pending:
                r = client.post("/orders", json=requests[key], headers={**headers, "Idempotency-Key": key})
                retries[str(r.status_code)] += 1
                if r.status_code in (503, 409):
                    still.append(key)
                else:
                    final[key] = (r.status_code, r.json())
            pending = still
            if pending:
                time.sleep(0.5)
    return final, retries, pending


def _ledger_problems(
    initial: dict[str, int],
    products: dict[str, int],
    held: Counter,
    active: list[dict[str, Any]],
    orders: dict[str, dict[str, Any]],
) -> list[str]:
    """Stock + held = initial per product; confirmed orders hold exactly their reservations."""
    confirmed = {oid: o for oid, o in orders.items() if o["status"] == "confirmed"}
    problems = [
        f"product {pid}: stock {products[pid]} + held {held[pid]} != {start}"
        for pid, start in initial.items()
        if products[pid] + held[pid] != start
    ]
    by_key = {(r["product_id"], r["order_id"]): int(r["quantity"]) for r in active}
    problems += [
        f"confirmed order {oid} lacks its reservation on {item['product_id']}"
        for oid, order in confirmed.items()
        for item in order["items"]
        if by_key.get((item["product_id"], oid)) != int(item["quantity"])
    ]
    problems += [
        f"active reservation of {r['order_id']} on {r['product_id']} but the order is "
        + orders.get(r["order_id"], {}).get("status", "no order")
        for r in active
        if r["order_id"] not in confirmed
    ]
    return problems


def test_orders_survive_a_catalog_crash_without_losing_stock(s: bench_stack.Stack) -> None:
    ids = [s.create_products(1, stock=n, tag=f"CRASH{i}")[0] for i, n in enumerate(INITIAL_STOCK)]
    initial = dict(zip(ids, INITIAL_STOCK, strict=True))
    headers = {"X-Api-Key": s.api_key("orders")}
    rng = random.Random(7)
    requests: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> body

    def place(client: httpx.Client, n: int) -> tuple[str, httpx.Response]:
        first, second = rng.sample(ids, 2)
        body = {
            "customer_id": "crash",
            "items": [
                {"product_id": first, "quantity": rng.randint(1, 3)},
                {"product_id": second, "quantity": rng.randint(1, 3)},
            ],
        }
        key = f"crash-{n}-{uuid.uuid4().hex[:8]}"
        requests[key] = body
        return key, client.post(f"{s.edge}/orders", json=body, headers={**headers, "Idempotency-Key": key})

    with Load(place, workers=6, max_requests=3000, max_seconds=40) as load:
        time.sleep(1.5)
        t_kill = time.monotonic()
        s.kill("catalog")
        s.wait_gone("catalog")
        time.sleep(2.5)
        outcomes = load.stop()

    during = [o for o in outcomes if o.start > t_kill + 0.3]
    worst = max(o.seconds for o in during)
    assert not [o for o in outcomes if o.error], f"requests failed without an answer: {summary(outcomes)}"
    assert not [o for o in outcomes if o.status == 500], summary(outcomes)
    assert during, "no order was placed while catalog was down"
    assert {o.status for o in during} == {503}, summary(during)
    assert worst < MAX_ANSWER_SECONDS, f"an order took {worst:.1f}s to fail while catalog was down"

    # catalog comes back; clients retry what did not get a final answer, with the same key.
    s.start_replica("catalog", 0)
    final, retries, pending = _retry_until_final(s, outcomes, requests, headers)
    assert not pending, f"{len(pending)} request(s) never got a final answer"
    assert {code for code, _ in final.values()} <= {201}, Counter(code for code, _ in final.values())

    # The data, straight from the tables.
    catalog_items = _items(s, "catalog")
    products = {i["id"]: int(i["stock"]) for i in catalog_items if i["sk"] == "PRODUCT" and i["id"] in ids}
    reservations = [i for i in catalog_items if i["sk"].startswith("RESERVATION#")]
    active = [r for r in reservations if r["status"] == "active"]
    orders = {i["id"]: i for i in _items(s, "orders") if i.get("type") == "order"}
    confirmed = {oid: o for oid, o in orders.items() if o["status"] == "confirmed"}

    held = Counter()
    for r in active:
        held[r["product_id"]] += int(r["quantity"])
    report(
        "catalog_crash",
        {
            "requests": len(outcomes),
            "first_answers": dict(summary(outcomes)),
            "answers_while_catalog_down": dict(summary(during)),
            "slowest_503_s": round(worst, 3),
            "retries": dict(retries),
            "orders": dict(Counter(o["status"] for o in orders.values())),
            "reservations": dict(Counter(r["status"] for r in reservations)),
            "stock_plus_held": {pid: products[pid] + held[pid] for pid in ids},
        },
    )
    problems = _ledger_problems(initial, products, held, active, orders)
    # Exactly one order per request, and no order that no request knows about.
    answered = {body["id"] for code, body in final.values() if body}
    answered |= {json.loads(o.body)["id"] for o in outcomes if o.status == 201}
    if set(orders) != answered or len(answered) != len(requests):
        problems.append(
            f"{len(requests)} requests, {len(answered)} answered orders, {len(orders)} stored orders"
        )
    assert not problems, "\n".join(problems[:20])
    assert confirmed, "no order was confirmed at all"
    assert len(confirmed) < len(orders), "no order was rejected: the scarce product did not run out"
