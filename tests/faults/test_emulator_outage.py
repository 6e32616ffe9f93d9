"""Fault: the AWS emulator (our DynamoDB) stops during load, then comes back.

While it is down, every call that needs the store answers 503 with Retry-After (never 500, never
a hang past the services' timeouts), `ready` is false and `health` stays true. After it returns
the services recover by themselves: no restart, same processes.

Restart decision: moto keeps its state in memory, so a restarted emulator has no tables. Real
DynamoDB does not lose tables in an outage; the equivalent here is that the infrastructure is
re-applied. The test restarts moto on the same port and recreates the tables and secrets with the
local stack's own provisioning (what `make up` does), instead of moto's snapshot/recording
features, which would test the emulator rather than our services. Data written before the outage
is gone afterwards, so reads of old products are 404 after recovery; new writes and reads work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import manifests
import pytest
from bench import stack as bench_stack
from tooling.net import wait_http

from tests.faults.support import REQUEST_TIMEOUT, Load, private_stack, report, summary

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

# Longest acceptable answer while the store is down or restarting: the services' DynamoDB budget
# is 3 attempts x (connect 1 s + read 2 s) plus up to ~3 s of backoff = 12 s; 2 s of slack for a
# busy machine. A hang runs into the client's REQUEST_TIMEOUT (20 s) and fails the test.
MAX_ANSWER_SECONDS = 14.0


@pytest.fixture(scope="module")
def s() -> Iterator[bench_stack.Stack]:
    with private_stack("emulator-outage") as started:
        yield started


def _probe(s: bench_stack.Stack) -> dict[str, int]:
    """health and ready of every service, straight to the service (not through the edge)."""
    out = {}
    for m in manifests.load_all():
        base = s.service_url(m.name)
        out[f"{m.name} health"] = httpx.get(base + m.health_path, timeout=REQUEST_TIMEOUT).status_code
        r = httpx.get(base + m.ready_path, timeout=REQUEST_TIMEOUT)
        out[f"{m.name} ready"] = r.status_code
        if r.status_code == 503:
            assert r.json()["status"] == "unavailable"
            assert r.headers.get("retry-after")
    return out


def test_store_outage_gives_503_then_recovers_by_itself(s: bench_stack.Stack) -> None:
    ids = s.create_products(3, stock=1000, tag="OUTAGE")
    pids = {m.name: s.pid(m.name) for m in manifests.load_all()}
    orders_key = s.api_key("orders")
    customer = f"outage-{uuid.uuid4().hex[:6]}"

    def request(client: httpx.Client, n: int) -> tuple[str, httpx.Response]:
        kind = n % 4
        if kind == 0:
            return "get product", client.get(f"{s.edge}/catalog/products/{ids[n % len(ids)]}")
        if kind == 1:
            return "list products", client.get(f"{s.edge}/catalog/products", params={"limit": 5})
        if kind == 2:
            return "list orders", client.get(
                f"{s.edge}/orders", params={"customer_id": customer}, headers={"X-Api-Key": orders_key}
            )
        return "create order", client.post(
            f"{s.edge}/orders",
            json={"customer_id": customer, "items": [{"product_id": ids[n % len(ids)], "quantity": 1}]},
            headers={"X-Api-Key": orders_key, "Idempotency-Key": f"outage-{n}-{uuid.uuid4().hex[:8]}"},
        )

    with Load(request, workers=4, max_requests=6000, max_seconds=60) as load:
        time.sleep(1.5)
        t_kill = time.monotonic()
        s.kill("moto")
        s.wait_gone("moto")
        time.sleep(3.0)
        during = _probe(s)
        time.sleep(1.0)
        t_restart = time.monotonic()
        s.restart_emulator()
        recovery = {m.name: wait_http(s.edge + m.ready_path, timeout=30) for m in manifests.load_all()}
        t_recovered = time.monotonic()
        time.sleep(2.0)
        outcomes = load.stop()
    after = _probe(s)

    outage = [o for o in outcomes if t_kill + 0.5 < o.start and o.end < t_restart]
    healed = [o for o in outcomes if o.start > t_recovered + 0.5]
    worst = max(o.seconds for o in outcomes)
    report(
        "emulator_outage",
        {
            "requests": len(outcomes),
            "all": dict(summary(outcomes)),
            "during_outage": dict(summary(outage)),
            "after_recovery": dict(summary(healed)),
            "slowest_answer_s": round(worst, 3),
            "probes_during_outage": during,
            "probes_after": after,
            "ready_again_after_restart_s": {
                k: round(v + t_recovered - t_restart, 2) for k, v in recovery.items()
            },
        },
    )
    assert not [o for o in outcomes if o.status is not None and o.status >= 500 and o.status != 503], summary(
        outcomes
    )
    assert not [o for o in outcomes if o.error], f"requests failed without an answer: {summary(outcomes)}"
    assert worst < MAX_ANSWER_SECONDS, f"an answer took {worst:.1f}s"
    # While the store is down: 503 for everything that needs it; liveness true, readiness false.
    assert outage, "no request ran during the outage"
    assert {o.status for o in outage} == {503}, summary(outage)
    assert during == {
        f"{m.name} {p}": c for m in manifests.load_all() for p, c in (("health", 200), ("ready", 503))
    }
    # After it returns: the same processes serve again (old data is gone with the emulator).
    assert healed, "no request ran after recovery"
    assert {o.status for o in healed} <= {200, 201, 404}, summary(healed)
    assert {m.name: s.pid(m.name) for m in manifests.load_all()} == pids, "a service was restarted"
    assert set(after.values()) == {200}
    new = s.create_products(2, stock=5, tag="OUTAGE-AFTER")
    r = httpx.post(
        f"{s.edge}/orders",
        json={
            "customer_id": customer,
            "items": [{"product_id": new[0], "quantity": 1}, {"product_id": new[1], "quantity": 2}],
        },
        headers={"X-Api-Key": orders_key, "Idempotency-Key": f"outage-after-{uuid.uuid4()}"},
        timeout=REQUEST_TIMEOUT,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed", r.text
