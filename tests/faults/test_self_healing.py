"""Fault: catalog, then orders, are killed (SIGKILL) at random points of mixed create/cancel traffic.

No client retries anything. After the traffic stops, the system must converge by itself (the
orders reconciler) within BOUND_SECONDS, derived from the settings below, not from luck:
an attempt cut off at the very end holds its claim until its lease runs out (LEASE_SECONDS);
a replica that died holds the reconciler's lease for 3 intervals; a cut-off cancel is due
LEASE_SECONDS after it began; each repair pass then runs every RECONCILE_SECONDS. Twice the lease
plus twice the reconciler's lease covers all of that with one lease of room for the repair
passes themselves on a loaded machine.

Then, read straight from both tables:
- for every product: stock + units held by active reservations == initial stock;
- held units == units of confirmed orders, per product (no cancelling order is left);
- no claim in progress (or releasing) with an expired lease;
- no confirmed order line whose reservation was released (or is missing);
and the orders log shows the reconciler repaired at least one item (else the run proved nothing).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bench import stack as bench_stack
from boto3.dynamodb.types import TypeDeserializer

from tests.faults.support import Load, private_stack, report, summary

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

LEASE_SECONDS = 4.0
RECONCILE_SECONDS = 0.5
BOUND_SECONDS = 2 * LEASE_SECONDS + 2 * (3 * RECONCILE_SECONDS) + LEASE_SECONDS
INITIAL_STOCK = [400, 400, 400, 10]  # one product runs out: some orders are rejected
ORDERS_ENV = {
    "IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS),
    "IDEMPOTENCY_WAIT_SECONDS": "1",
    "RECONCILE_INTERVAL_SECONDS": str(RECONCILE_SECONDS),
}
_DESER = TypeDeserializer()


@pytest.fixture(scope="module")
def s() -> Iterator[bench_stack.Stack]:
    with private_stack("self-healing", service_env={"orders": ORDERS_ENV}) as started:
        yield started


def _items(s: bench_stack.Stack, service: str) -> list[dict[str, Any]]:
    return [{k: _DESER.deserialize(v) for k, v in item.items()} for item in s.scan(service)]


def _problems(s: bench_stack.Stack, initial: dict[str, int]) -> tuple[list[str], dict[str, Any]]:
    """What is still wrong in the tables, and the figures behind it."""
    catalog = _items(s, "catalog")
    stock = {i["id"]: int(i["stock"]) for i in catalog if i["sk"] == "PRODUCT" and i["id"] in initial}
    reservations = [i for i in catalog if i["sk"].startswith("RESERVATION#")]
    active = {
        (r["product_id"], r["order_id"]): int(r["quantity"]) for r in reservations if r["status"] == "active"
    }
    items = _items(s, "orders")
    orders = {i["id"]: i for i in items if i.get("type") == "order"}
    claims = [i for i in items if i.get("type") == "idempotency"]
    held, owed = Counter(), Counter()
    for (pid, _), qty in active.items():
        held[pid] += qty
    problems = []
    for oid, order in orders.items():
        if order["status"] == "cancelling":
            problems.append(f"order {oid} is still cancelling")
        if order["status"] != "confirmed":
            continue
        for line in order["items"]:
            owed[line["product_id"]] += int(line["quantity"])
            if active.get((line["product_id"], oid)) != int(line["quantity"]):
                problems.append(f"confirmed order {oid} has no active reservation on {line['product_id']}")
    for pid, start in initial.items():
        if stock[pid] + held[pid] != start:
            problems.append(f"product {pid}: stock {stock[pid]} + held {held[pid]} != {start}")
        if held[pid] != owed[pid]:
            problems.append(f"product {pid}: {held[pid]} units held, confirmed orders own {owed[pid]}")
    now = time.time()
    problems.extend(
        f"claim {claim['pk']} is {claim['state']} with an expired lease"
        for claim in claims
        if claim["state"] != "done" and float(claim["lease_until"]) < now
    )
    figures = {
        "orders": dict(Counter(o["status"] for o in orders.values())),
        "claims": dict(Counter(c["state"] for c in claims)),
        "reservations": dict(Counter(r["status"] for r in reservations)),
    }
    return problems, figures


def test_crashes_heal_without_any_client_retry(s: bench_stack.Stack) -> None:
    seed = int(os.environ.get("FAULT_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)
    ids = [s.create_products(1, stock=n, tag=f"HEAL{i}")[0] for i, n in enumerate(INITIAL_STOCK)]
    initial = dict(zip(ids, INITIAL_STOCK, strict=True))
    headers = {"X-Api-Key": s.api_key("orders")}
    confirmed: list[str] = []
    lock = threading.Lock()

    def traffic(client: httpx.Client, n: int) -> tuple[str, httpx.Response]:
        with lock:
            target = rng.choice(confirmed) if confirmed and n % 4 == 0 else None
            first, second = rng.sample(ids, 2)
            quantities = rng.randint(1, 3), rng.randint(1, 3)
        if target is not None:
            return "cancel", client.post(f"{s.edge}/orders/{target}/cancel", headers=headers)
        body = {
            "customer_id": "heal",
            "items": [
                {"product_id": first, "quantity": quantities[0]},
                {"product_id": second, "quantity": quantities[1]},
            ],
        }
        key = f"heal-{n}-{uuid.uuid4().hex[:8]}"
        r = client.post(f"{s.edge}/orders", json=body, headers={**headers, "Idempotency-Key": key})
        if r.status_code == 201 and r.json().get("status") == "confirmed":
            with lock:
                confirmed.append(r.json()["id"])
        return "create", r

    kills = []
    with Load(traffic, workers=6, max_requests=5000, max_seconds=60) as load:
        for victim in ("catalog", "orders"):
            time.sleep(rng.uniform(1.0, 3.0))
            s.kill(victim)
            s.wait_gone(victim)
            kills.append(victim)
            time.sleep(rng.uniform(0.3, 1.5))
            s.start_replica(victim, 0, ORDERS_ENV if victim == "orders" else None)
        time.sleep(rng.uniform(0.5, 2.0))
        outcomes = load.stop()
    stopped = time.monotonic()

    # Nobody retries. The system must converge by itself within the bound.
    problems, figures = _problems(s, initial)
    while problems and time.monotonic() - stopped < BOUND_SECONDS:
        time.sleep(0.5)
        problems, figures = _problems(s, initial)
    converged = round(time.monotonic() - stopped, 1)
    repaired = [
        json.loads(line)
        for log in (s.settings.logs / "orders.log",)
        if log.exists()
        for line in log.read_text(errors="replace").splitlines()
        if '"reconciler repaired"' in line
    ]
    report(
        "self_healing",
        {
            "seed": seed,
            "kills": kills,
            "requests": len(outcomes),
            "answers": {
                label: dict(summary([o for o in outcomes if o.label == label]))
                for label in ("create", "cancel")
            },
            "converged_after_s": converged,
            "bound_s": BOUND_SECONDS,
            "repairs": {
                "claims_released": sum(r["claims_released"] for r in repaired),
                "cancels_finished": sum(r["cancels_finished"] for r in repaired),
            },
            **figures,
        },
    )
    assert not [o for o in outcomes if o.status == 500], summary(outcomes)
    assert not problems, (
        f"not converged {BOUND_SECONDS}s after the traffic stopped (seed {seed}):\n"
        + "\n".join(problems[:20])
    )
    assert figures["orders"].get("confirmed"), "no order was confirmed at all"
    # Converging proves nothing unless something was left to repair and the reconciler repaired it
    # (its own log lines: the EMF metric Repairs of each pass that repaired something).
    assert sum(int(r["Repairs"]) for r in repaired) >= 1, (
        f"the reconciler repaired nothing (seed {seed}, kills {kills}): no interrupted work was left, "
        "or something other than the reconciler cleaned it up"
    )
