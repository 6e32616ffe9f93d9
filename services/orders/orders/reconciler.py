"""The reconciler: finishes, with no client involved, what an interrupted request left behind.

It runs inside every orders replica as a background thread; a lease item in the table
(claims.acquire_lease) lets exactly one replica work at a time, and a replica that dies loses
the lease when it runs out (3 intervals), so another one takes over. Each pass queries the
pending partition of gsi1 for the oldest work whose due time has passed (at most ``batch``
items); a pass that found a full batch is followed at once by the next one (``drain``):

- an idempotency claim whose attempt's lease ran out (crash, timeout, 503 without a retry):
  fenced (``releasing``: the attempt can no longer complete), its reservations released in
  catalog, then the claim dropped, so the key is free again;
- a cancel that was cut off (order ``cancelling``): its stock released, the order ``cancelled``.

An item whose repair fails (catalog refusing the service token, say) is postponed with a growing
backoff, conditional on its due time being unchanged, so it goes behind the work due now and never
blocks it.

Safety does not rest on the lease: every step is a conditional write or an idempotent catalog
call, so two reconcilers, a slow request and a client retry can run at once without undoing each
other (the lease only avoids doing the work twice). Every pass of the leader writes one log line
(``reconciler repaired`` with counts when it repaired or failed something, ``reconciler pass``
otherwise) with CloudWatch EMF metrics ``Repairs``, ``RepairFailures`` and ``ReconcilerPasses``
(1 per pass: a heartbeat). Terraform alarms on too many repairs (services/orders/service.yaml
``repairs_alarm_threshold``), on repairs that keep failing and on missing passes (a dead thread, a
lease nobody holds): infra/modules/monitoring/repairs.tf.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from typing import Any

from svc_common.dynamo import from_item
from svc_common.errors import NotFoundError

from orders.claims import CLAIM_PREFIX, CLAIM_SK, REPAIR_FAILURES, ClaimRepository
from orders.repository import OrdersRepository
from orders.service import OrderService

LOGGER = logging.getLogger("orders.reconciler")
METRICS = ("Repairs", "RepairFailures", "ReconcilerPasses")
STOP_WAIT_SECONDS = 2.0
# Longest backoff of an item whose repair keeps failing: below the 5-minute period of the
# RepairFailures alarm (infra/modules/monitoring/repairs.tf), so a stuck item fails in every period.
MAX_BACKOFF_SECONDS = 240.0


class Reconciler:
    def __init__(
        self,
        service: OrderService,
        claims: ClaimRepository,
        repo: OrdersRepository,
        *,
        interval_seconds: float,
        service_name: str,
        environment: str,
        namespace: str = "storefront",
        batch: int = 25,
    ) -> None:
        self.service = service
        self.claims = claims
        self.repo = repo
        self.interval = interval_seconds
        self.lease_seconds = 3 * interval_seconds
        self.batch = batch
        self.holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.dimensions = {"Service": service_name, "Environment": environment}
        self.namespace = namespace
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end; wait briefly. A pass cut off by the exit is safe (every step is
        conditional or idempotent) and the next leader redoes it, so shutdown never waits long."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_SECONDS)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.drain()
            except Exception as exc:  # the table or catalog is down: the next pass tries again
                LOGGER.warning("reconciler pass failed", extra={"error": type(exc).__name__})

    def drain(self) -> int:
        """Run passes back to back while they find a full batch and get it out of the way
        (repaired, or postponed when its repair failed); the number of passes run. Stops between
        passes once ``stop`` was called."""
        passes = 0
        while not self._stop.is_set():
            counts = self.run_once()
            passes += 1
            if counts is None or counts["due"] < self.batch:
                return passes
            moved = counts["claims_released"] + counts["cancels_finished"] + counts["postponed"]
            if not moved:  # a full batch of stale index entries: let the index catch up first
                return passes
        return passes

    # -- one pass ------------------------------------------------------------------------------
    def run_once(self) -> Counter | None:
        """Repair what is due; the counts of what was done, or None when another replica leads.

        Items come oldest due first. An item whose repair fails is postponed (backoff: interval x
        2^failures, at most MAX_BACKOFF_SECONDS), behind everything due now, so items that fail
        every time can never keep the work behind them from being repaired."""
        if not self.claims.acquire_lease(self.holder, self.lease_seconds):
            return None
        counts: Counter = Counter()
        for item in self.claims.due_items(self.batch):
            if self._stop.is_set():
                break
            counts["due"] += 1
            try:
                kind = self._repair(item)
            except Exception as exc:  # one stuck item must not stop the others
                counts["failed"] += 1
                LOGGER.warning(
                    "repair failed",
                    extra={"error": type(exc).__name__, "detail": str(exc)[:300], "item": item["pk"]["S"]},
                )
                if self._postpone(item):
                    counts["postponed"] += 1
            else:
                if kind:
                    counts[kind] += 1
        self._report(counts)
        return counts

    def _postpone(self, item: dict[str, Any]) -> bool:
        failures = int(from_item(item).get(REPAIR_FAILURES, 0))
        delay = min(self.interval * 2 ** min(failures, 16), MAX_BACKOFF_SECONDS)
        try:
            return self.claims.postpone(item, delay)
        except Exception as exc:  # the table is down: the item stays due, the next pass retries
            LOGGER.warning("postpone failed", extra={"error": type(exc).__name__, "item": item["pk"]["S"]})
            return False

    def _repair(self, item: dict[str, Any]) -> str | None:
        data = from_item(item)
        if data["sk"] == CLAIM_SK:
            key = str(data["pk"]).removeprefix(CLAIM_PREFIX)
            claim = self.claims.get_claim(key)  # the index is eventually consistent: read again
            if claim is None or not self.service.release_expired(claim):
                return None
            self.claims.drop(key, claim["order_id"], state="releasing")
            return "claims_released"
        order_id = str(data["order_id"])
        try:
            order = self.repo.get_order(order_id)
        except NotFoundError:
            order = None
        if order is None or order["status"] != "cancelling":
            self.repo.drop_cancel_marker(order_id)
            return None
        self.service.finish_cancel(order)
        return "cancels_finished"

    def _report(self, counts: Counter) -> None:
        """One log line per leader pass, with EMF metrics: ``ReconcilerPasses`` (1: the heartbeat
        whose absence is alarmed), ``Repairs`` and ``RepairFailures`` (zeros included)."""
        repaired = counts["claims_released"] + counts["cancels_finished"]
        LOGGER.info(
            "reconciler repaired" if repaired or counts["failed"] else "reconciler pass",
            extra={
                "claims_released": counts["claims_released"],
                "cancels_finished": counts["cancels_finished"],
                "failed": counts["failed"],
                **self.dimensions,
                "Repairs": repaired,
                "RepairFailures": counts["failed"],
                "ReconcilerPasses": 1,
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": [list(self.dimensions)],
                            "Metrics": [{"Name": name, "Unit": "Count"} for name in METRICS],
                        }
                    ],
                },
            },
        )
