"""Fault: two replicas of catalog behind the edge; one is killed (SIGKILL) mid-load.

The edge's active health checks (health_uri, every health_interval) take the dead replica out of
rotation: after that window every read succeeds again on the surviving replica. Requests that
failed in between are counted and reported. The target for idempotent reads is zero failures,
which the edge reaches by retrying another upstream (Caddy's lb_try_duration in the generated
configuration): the test asserts zero and reports the counts.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from bench import stack as bench_stack

from tests.faults.support import Load, private_stack, report, summary

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def s() -> Iterator[bench_stack.Stack]:
    with private_stack("replica-failover", replicas={"catalog": 2}) as started:
        yield started


def _seconds(config: str, setting: str, default: float) -> float:
    """A duration setting of the catalog route in the generated Caddyfile (e.g. health_interval 2s)."""
    match = re.search(rf"^\s*{setting}\s+(\d+(?:\.\d+)?)(ms|s)\s*$", config, re.MULTILINE)
    if not match:
        return default
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def test_edge_stops_sending_to_a_dead_replica(s: bench_stack.Stack) -> None:
    ids = s.create_products(3, stock=10, tag="FAILOVER")
    config = s.edge_config
    assert f"127.0.0.1:{s.replicas['catalog'][0]} 127.0.0.1:{s.replicas['catalog'][1]}" in config
    assert "lb_try_duration" in config, "the generated edge config must retry another upstream"
    # Until the edge notices: the next active check (at most one interval away) fails; allow one
    # more interval and the check's timeout for a machine busy with other work.
    window = 2 * _seconds(config, "health_interval", 30.0) + _seconds(config, "health_timeout", 5.0) + 1.0

    def read(client: httpx.Client, n: int) -> tuple[str, httpx.Response]:
        rid = f"failover-{n}-{uuid.uuid4().hex[:6]}"
        path = "/catalog/ready" if n % 3 == 0 else f"/catalog/products/{ids[n % len(ids)]}"
        return rid, client.get(s.edge + path, headers={"X-Request-Id": rid})

    with Load(read, workers=4, max_requests=20_000, max_seconds=60) as load:
        time.sleep(1.5)
        t_kill = time.monotonic()
        s.kill(bench_stack.replica_name("catalog", 1))
        s.wait_gone(bench_stack.replica_name("catalog", 1))
        time.sleep(window + 2.0)
        outcomes = load.stop()

    before = [o for o in outcomes if o.end < t_kill]
    transition = [o for o in outcomes if o.end >= t_kill and o.start < t_kill + window]
    settled = [o for o in outcomes if o.start >= t_kill + window]
    failed = [o for o in outcomes if o.status != 200]
    first_failure = next((o.start - t_kill for o in transition if o.status != 200), 0.0)
    # Every settled request was answered by the surviving replica (its access log has its id).
    # The access line is written just after the answer is sent: give the last ones a moment.
    unseen = [o.label for o in settled]
    for _ in range(50):
        survivor_log = (s.settings.logs / "catalog.log").read_text(errors="replace")
        unseen = [rid for rid in unseen if f'"request_id":"{rid}"' not in survivor_log]
        if not unseen:
            break
        time.sleep(0.1)
    report(
        "replica_failover",
        {
            "detection_window_s": window,
            "requests": len(outcomes),
            "before_kill": dict(summary(before)),
            "during_detection_window": dict(summary(transition)),
            "after_window": dict(summary(settled)),
            "failed_requests_total": len(failed),
            "first_failure_s_after_kill": round(first_failure, 3),
        },
    )
    assert before, "no request ran before the kill"
    assert {o.status for o in before} == {200}, summary(before)
    assert settled, "no request ran after the detection window"
    assert {o.status for o in settled} == {200}, (
        f"the edge still sends to the dead replica: {summary(settled)}"
    )
    assert not unseen, f"{len(unseen)} settled request(s) not served by the surviving replica"
    details = sorted({f"{o.error}: {o.detail}" for o in failed if o.error})
    assert {o.status for o in transition} <= {200, 502, 503}, (summary(transition), details)
    assert not failed, f"with edge retries no idempotent read may fail: {summary(failed)} {details}"
