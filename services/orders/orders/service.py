"""Order creation and cancellation: idempotency claims, catalog reservations, no stock leaks.

Creation (POST /orders with an Idempotency-Key):
1. Claim the key with a conditional put (request hash, a fresh order id, the products the
   attempt may reserve, a lease). Requests that find the key taken wait briefly for the holder
   to finish, then get the same order back (same body) or 422 (different body), or 409 +
   Retry-After if it is still running.
2. One catalog call reserves every line with the order id as the reservation id and returns the
   prices (all lines or none, in one DynamoDB transaction; idempotent per order id, so a retried
   call never takes stock twice).
3. Store the order (confirmed, or rejected with the reason) and mark the claim done in one
   transaction fenced on the attempt's order id.
So a new order costs one catalog call and four DynamoDB round trips (claim, catalog's read and
transaction, completion) whatever its number of lines. If catalog refuses (unknown product,
insufficient stock, mixed currencies) nothing was reserved and the order is stored as rejected.
If catalog (or the table) is unavailable the reservations that may exist are released, the claim
is dropped (or, if releasing failed too, its lease is ended) and the caller gets 503 +
Retry-After. An attempt that is cut off (crash, timeout) leaves an in-progress claim: once its
lease has run out, a retry with the key or the reconciler fences it (state ``releasing``, so the
old attempt can no longer complete), releases its reservations and takes the key over or drops
it. Nobody has to come back for the stock to return.

Cancellation: confirmed -> cancelling (+ a pending marker) -> stock released -> cancelled; the
request or, if it is cut off, the reconciler finishes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from decimal import Decimal
from typing import Any

from svc_common.dynamo import utc_now
from svc_common.errors import ConflictError, UnprocessableEntityError

from orders.catalog_client import CatalogClient, CatalogProduct, CatalogUnavailableError, Refusal
from orders.claims import ClaimRepository
from orders.models import OrderCreate
from orders.repository import OrdersRepository

LOGGER = logging.getLogger("orders.service")
_CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return f"{value.quantize(_CENT):.2f}"


def request_hash(body: OrderCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class OrderService:
    def __init__(
        self,
        repo: OrdersRepository,
        claims: ClaimRepository,
        catalog: CatalogClient,
        lease_seconds: float,
        wait_seconds: float,
        retry_after_seconds: int,
    ) -> None:
        self.repo = repo
        self.claims = claims
        self.catalog = catalog
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.retry_after = {"Retry-After": str(retry_after_seconds)}

    # -- creation ------------------------------------------------------------------------------
    def create(self, key: str, body: OrderCreate) -> tuple[dict[str, Any], bool]:
        """(order, replayed). Raises 409/422/503 errors as described in the module docstring."""
        digest = request_hash(body)
        lines = body.merged_items()
        products = [product_id for product_id, _ in lines]
        give_up = time.monotonic() + self.wait_seconds
        while True:
            order_id = str(uuid.uuid4())
            if self.claims.put_claim(key, digest, order_id, products, self.lease_seconds):
                return self._process(key, order_id, body.customer_id, lines), False
            claim = self.claims.get_claim(key)
            if claim is None:
                self._wait_or_give_up(give_up)
                continue  # the holder gave up and dropped its claim (or it expired): claim it ourselves
            if claim["request_hash"] != digest:
                raise UnprocessableEntityError(
                    "Idempotency-Key was already used with a different request body; "
                    "use a new key for a different order"
                )
            if claim["state"] == "done":
                return self.repo.get_order(claim["order_id"]), True
            # A previous attempt failed or crashed: fence it off, release, take the key over.
            if self.release_expired(claim) and self.claims.take_over(
                key, claim["order_id"], order_id, products, self.lease_seconds
            ):
                return self._process(key, order_id, body.customer_id, lines), False
            self._wait_or_give_up(give_up)

    def release_expired(self, claim: dict[str, Any]) -> bool:
        """Fence an expired attempt and give back what it may have reserved.

        True when the claim is now ``releasing`` with nothing held (ready to be taken over or
        dropped); False when its attempt still holds a valid lease (or finished meanwhile).
        """
        if claim["state"] == "in_progress":
            if claim["lease_until"] >= time.time() or not self.claims.fence(claim["key"], claim["order_id"]):
                return False
        elif claim["state"] != "releasing":
            return False
        self.catalog.release_order(claim["order_id"], list(claim["products"]))
        return True

    def _wait_or_give_up(self, give_up: float) -> None:
        if time.monotonic() >= give_up:
            raise ConflictError(
                "a request with this Idempotency-Key is still being processed; retry later",
                headers=self.retry_after,
            )
        time.sleep(0.1)

    def _process(
        self, key: str, order_id: str, customer_id: str, lines: list[tuple[str, int]]
    ) -> dict[str, Any]:
        touched: list[str] = []  # products on which a reservation may exist
        outcome_unknown = False  # True when storing the order failed in an unknown state
        try:
            touched = [product_id for product_id, _ in lines]  # the call may reserve them all
            try:
                reserved = self.catalog.reserve_order(order_id, lines)
            except CatalogUnavailableError as exc:
                if not exc.reached:  # never sent: nothing can have been reserved
                    touched = []
                raise
            products: dict[str, CatalogProduct] = {}
            rejection: str | None = None
            if isinstance(reserved, Refusal):
                touched = []  # catalog reserves all lines or none: a refusal took nothing
                rejection = reserved.reason
            else:
                products = reserved
            order = self._build(order_id, customer_id, lines, products, rejection)
            try:
                completed = self.repo.complete(key, order)
            except Exception:
                # The write may have happened (e.g. a timeout after the commit): keep the
                # reservations and only end the lease. A retry (or the reconciler) then finds the
                # claim done (the order exists) or still in progress (and releases what it holds).
                outcome_unknown = True
                stored = self._stored_after_all(key, order_id)
                if stored is not None:
                    return stored
                raise
            if not completed:
                raise ConflictError(
                    "this request took longer than its lease and a retry took over; retry to get the order",
                    headers=self.retry_after,
                )
            LOGGER.info("order stored", extra={"order_id": order_id, "status": order["status"]})
            return order
        except Exception:
            if outcome_unknown:
                self._expire_quietly(key, order_id)
            else:
                self._abandon(key, order_id, touched)
            raise

    def _stored_after_all(self, key: str, order_id: str) -> dict[str, Any] | None:
        """The order when a store that reported a failure did commit (one read; None if unknown)."""
        try:
            claim = self.claims.get_claim(key)
            if claim and claim["state"] == "done" and claim["order_id"] == order_id:
                return self.repo.get_order(order_id)
        except Exception as exc:  # still unknown: the caller gets 503 and may retry with the key
            LOGGER.warning(
                "could not check whether the order was stored", extra={"error": type(exc).__name__}
            )
        return None

    @staticmethod
    def _build(
        order_id: str,
        customer_id: str,
        lines: list[tuple[str, int]],
        products: dict[str, CatalogProduct],
        rejection: str | None,
    ) -> dict[str, Any]:
        now = utc_now()
        items = []
        total = Decimal(0)
        for product_id, quantity in lines:
            product = products.get(product_id)
            line_total = product.price * quantity if product else None
            if line_total is not None:
                total += line_total
            items.append(
                {
                    "product_id": product_id,
                    "quantity": quantity,
                    "unit_price": _money(product.price) if product else None,
                    "line_total": _money(line_total) if line_total is not None else None,
                }
            )
        confirmed = rejection is None
        first = next(iter(products.values()), None)
        return {
            "id": order_id,
            "customer_id": customer_id,
            "status": "confirmed" if confirmed else "rejected",
            "items": items,
            "currency": first.currency if confirmed and first else None,
            "total": _money(total) if confirmed else None,
            "rejection_reason": rejection,
            "created_at": now,
            "updated_at": now,
        }

    def _expire_quietly(self, key: str, order_id: str) -> None:
        try:
            self.claims.expire(key, order_id)
        except Exception as exc:  # the lease then simply runs out
            LOGGER.warning("could not end the claim's lease", extra={"error": type(exc).__name__})

    def _abandon(self, key: str, order_id: str, touched: list[str]) -> None:
        """Undo a failed attempt: release its reservations, then free the key for a retry."""
        try:
            self.catalog.release_order(order_id, touched)
        except Exception as exc:  # the retry cleans up; the original error is raised
            LOGGER.warning("release after failure did not complete", extra={"error": type(exc).__name__})
            self._expire_quietly(key, order_id)
            return
        try:
            self.claims.drop(key, order_id)
        except Exception as exc:  # the lease then simply runs out
            LOGGER.warning("could not drop the claim", extra={"error": type(exc).__name__})

    # -- cancellation --------------------------------------------------------------------------
    def cancel(self, order_id: str) -> dict[str, Any]:
        order = self.repo.get_order(order_id)
        if order["status"] == "rejected":
            raise ConflictError(f"order {order_id!r} was rejected: nothing is reserved, nothing to cancel")
        if order["status"] == "confirmed" and not self.repo.begin_cancel(order_id, self.lease_seconds):
            order = self.repo.get_order(order_id)  # changed meanwhile (a concurrent cancel)
        if order["status"] != "cancelled":
            self.finish_cancel(order)
        return self.repo.get_order(order_id)

    def finish_cancel(self, order: dict[str, Any]) -> None:
        """Release a cancelling order's stock, then mark it cancelled (idempotent, any caller)."""
        self.catalog.release_order(order["id"], [item["product_id"] for item in order["items"]])
        self.repo.finish_cancel(order["id"])
