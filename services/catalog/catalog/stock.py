"""DynamoDB access of catalog's stock reservations (same table as the products, see repository.py).

Items:
- reservation  pk=PRODUCT#<id>  sk=RESERVATION#<order_id>  quantity, status active|released
               (+ unit_price, currency, order_lines when it was made by an order reservation:
               order_lines identifies the order's whole request, so a replay is recognised exactly)

An order's lines are reserved together (``reserve_order``): one consistent BatchGetItem reads
every product and any reservation the order already holds, then one TransactWriteItems puts a
reservation and takes the stock for every line, all or nothing. Each stock update is conditional
on the stock, the price and the currency that were read, so the prices returned are the ones the
stock was taken at, and no interleaving can oversell. Two round trips to DynamoDB, whatever the
number of lines (at most MAX_ORDER_LINES: 2 actions per line in a transaction of at most 100).

Every write that must not happen twice is conditional. A reservation is idempotent per order id:
a retry with the same lines finds them held and returns them without taking stock again; a
different request under the same order id is refused (409). A released reservation is kept
(status=released) so a late or retried reservation for the same order can never take stock again.

AWS semantics relied on: TransactWriteItems is all or nothing, up to 100 actions on distinct
items, and reports one CancellationReason per action in request order
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html);
BatchGetItem reads up to 100 items, strongly consistent with ConsistentRead, and may return
UnprocessedKeys to ask again for
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from svc_common.dynamo import (
    CONDITION_FAILED,
    StoreUnavailableError,
    from_item,
    to_item,
    to_value,
    utc_now,
)
from svc_common.errors import ConflictError, NotFoundError

from catalog.repository import (
    HASH_KEY,
    RANGE_KEY,
    TXN_ATTEMPTS,
    CatalogRepository,
    backoff,
    product_key,
    product_view,
)

RESERVATION_PREFIX = "RESERVATION#"


def reservation_key(product_id: str, order_id: str) -> dict[str, Any]:
    return {
        HASH_KEY: to_value(f"PRODUCT#{product_id}"),
        RANGE_KEY: to_value(f"{RESERVATION_PREFIX}{order_id}"),
    }


def reservation_view(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    return {
        "product_id": data["product_id"],
        "order_id": data["order_id"],
        "quantity": int(data["quantity"]),
        "status": data["status"],
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
        **{k: data[k] for k in ("unit_price", "currency", "order_lines") if k in data},
    }


def order_lines_digest(lines: list[tuple[str, int]]) -> str:
    """Identifies an order's request (its lines, in any order): stored on each of its reservations."""
    return hashlib.sha256(";".join(sorted(f"{p}:{q}" for p, q in lines)).encode()).hexdigest()


def _shown(ids: list[str]) -> str:
    return ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")


class StockRepository(CatalogRepository):
    """Products (CatalogRepository) plus their reservations."""

    def _take(
        self, product_id: str, order_id: str, quantity: int, now: str, price: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The two actions that reserve ``quantity`` units: (reservation put, stock update).

        ``price`` ({"unit_price": Decimal, "currency": str, "order_lines": digest}) is stored on
        the reservation and the stock update is then also conditional on that price and currency.
        """
        reservation = {
            "type": "reservation",
            "product_id": product_id,
            "order_id": order_id,
            "quantity": quantity,
            "status": "active",
            "created_at": now,
            "updated_at": now,
            **(price or {}),
        }
        condition = "attribute_exists(pk) AND stock >= :q"
        values = {":q": to_value(quantity), ":one": to_value(1), ":now": to_value(now)}
        if price is not None:
            condition += " AND price = :price AND currency = :cur"
            values |= {":price": to_value(price["unit_price"]), ":cur": to_value(price["currency"])}
        put = {
            "Put": {
                "TableName": self.table,
                "Item": {**reservation_key(product_id, order_id), **to_item(reservation)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        update = {
            "Update": {
                "TableName": self.table,
                "Key": product_key(product_id),
                "UpdateExpression": "SET stock = stock - :q, version = version + :one, updated_at = :now",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }
        }
        return put, update

    # -- one order, every line -----------------------------------------------------------------
    def reserve_order(self, order_id: str, lines: list[tuple[str, int]]) -> tuple[list[dict[str, Any]], bool]:
        """Reserve every (product_id, quantity) line for ``order_id``, all or nothing.

        Returns (lines with unit_price and currency, created). Refusals change nothing: a
        ConflictError names the products that do not exist, the insufficient stock, lines priced in
        different currencies, or the order id already used for a different request.
        """
        for attempt in range(TXN_ATTEMPTS):
            products, held = self._read_order(order_id, [pid for pid, _ in lines])
            if held:
                return self._replay(order_id, lines, held), False
            priced = _priced_lines(lines, products)
            now, digest = utc_now(), order_lines_digest(lines)
            actions: dict[str, dict[str, Any]] = {}
            for line in priced:
                pid = line["product_id"]
                price = {
                    "unit_price": line["unit_price"],
                    "currency": line["currency"],
                    "order_lines": digest,
                }
                put, update = self._take(pid, order_id, line["quantity"], now, price)
                actions |= {f"reservation {pid}": put, f"stock {pid}": update}
            if self._transact(actions) is None:
                return priced, True
            # A concurrent change (stock, price, a retry of this very order, a transaction
            # conflict): read again, then reserve, replay or refuse on what is there now.
            backoff(attempt)
        raise StoreUnavailableError("reservation: too many concurrent transactions, retry later")

    def _read_order(
        self, order_id: str, product_ids: list[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """(product id -> product, product id -> this order's reservation): one BatchGetItem."""
        keys = [product_key(pid) for pid in product_ids] + [
            reservation_key(pid, order_id) for pid in product_ids
        ]
        found: list[dict[str, Any]] = []
        for attempt in range(TXN_ATTEMPTS):
            result = self._call(
                "batch_get_item", RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}}
            )
            found += result.get("Responses", {}).get(self.table, [])
            keys = result.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
            if not keys:
                break
            backoff(attempt)  # throttled: ask again for what was left
        else:
            raise StoreUnavailableError(
                "reading the order's products: too many unprocessed keys, retry later"
            )
        products: dict[str, dict[str, Any]] = {}
        held: dict[str, dict[str, Any]] = {}
        for item in found:
            if item[RANGE_KEY]["S"].startswith(RESERVATION_PREFIX):
                reservation = reservation_view(item)
                held[reservation["product_id"]] = reservation
            else:
                product = product_view(item)
                products[product["id"]] = product
        return products, held

    @staticmethod
    def _replay(
        order_id: str, lines: list[tuple[str, int]], held: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The lines an earlier identical request reserved; ConflictError for any other request."""
        released = [pid for pid, r in held.items() if r["status"] == "released"]
        if released:
            raise ConflictError(
                f"the reservation of order {order_id!r} on product(s) {_shown(released)} was released; "
                "a released reservation cannot be taken again (use a new order id)"
            )
        out, digest = [], order_lines_digest(lines)
        for pid, quantity in lines:
            r = held.get(pid)
            if r is None or r.get("order_lines") != digest:
                holds = f"{r['quantity']} unit(s)" if r else "nothing"
                raise ConflictError(
                    f"order {order_id!r} already holds reservations from a different request "
                    f"(product {pid}: {holds}, not {quantity}); use a new order id"
                )
            out.append({k: r[k] for k in ("product_id", "quantity", "unit_price", "currency")})
        return out

    # -- one product ---------------------------------------------------------------------------
    def _get_reservation(self, product_id: str, order_id: str) -> dict[str, Any] | None:
        item = self._call(
            "get_item",
            TableName=self.table,
            Key=reservation_key(product_id, order_id),
            ConsistentRead=True,
        ).get("Item")
        return reservation_view(item) if item else None

    def reserve(self, product_id: str, order_id: str, quantity: int) -> tuple[dict[str, Any], bool]:
        """Take ``quantity`` units for ``order_id``. Returns (reservation, created).

        Idempotent per (product, order): a retry with the same quantity returns the existing
        reservation without touching stock again.
        """
        for attempt in range(TXN_ATTEMPTS):
            now = utc_now()
            put, update = self._take(product_id, order_id, quantity, now)
            failed = self._transact({"reservation": put, "stock": update})
            if failed is None:
                return reservation_view(put["Put"]["Item"]), True
            if failed.get("reservation") == CONDITION_FAILED:
                existing = self._get_reservation(product_id, order_id)
                if existing is None:  # released and removed? never happens; retry to be safe
                    backoff(attempt)
                    continue
                if existing["status"] == "released":
                    raise ConflictError(
                        f"the reservation of order {order_id!r} on this product was released; "
                        "a released reservation cannot be taken again (use a new order id)"
                    )
                if existing["quantity"] != quantity:
                    raise ConflictError(
                        f"order {order_id!r} already holds a reservation of {existing['quantity']} "
                        f"unit(s) on this product, not {quantity}"
                    )
                return existing, False
            if failed.get("stock") == CONDITION_FAILED:
                item = self.get_product_item(product_id)
                if item is None:
                    raise NotFoundError(f"product {product_id!r} not found")
                available = product_view(item)["stock"]
                if available < quantity:
                    raise ConflictError(
                        f"insufficient stock: requested {quantity}, available {available}",
                    )
            backoff(attempt)  # TransactionConflict or a race with another writer: try again
        raise StoreUnavailableError("reservation: too many concurrent transactions, retry later")

    def release(self, product_id: str, order_id: str) -> None:
        """Give one product's reserved units back (``release_order`` with one product)."""
        if self.release_order(order_id, [product_id]):
            raise NotFoundError(f"product {product_id!r} not found")

    def release_order(self, order_id: str, product_ids: list[str]) -> list[str]:
        """Give back everything ``order_id`` holds on these products, in one transaction.

        Idempotent: a released reservation stays (status released) and is skipped. A product the
        order holds nothing on gets a released marker, so a late reservation of that order can
        never take stock; a reservation whose product was deleted is just closed. Returns the ids
        that are neither a product nor hold a reservation of the order (nothing to do there).
        """
        for attempt in range(TXN_ATTEMPTS):
            products, held = self._read_order(order_id, product_ids)
            now = utc_now()
            actions: dict[str, dict[str, Any]] = {}
            for pid in product_ids:
                reservation = held.get(pid)
                if reservation is None and pid in products:
                    actions[f"marker {pid}"] = self._released_marker(pid, order_id, now)
                elif reservation is not None and reservation["status"] == "active":
                    actions[f"reservation {pid}"] = self._mark_released(pid, order_id, now)
                    if pid in products:
                        actions[f"stock {pid}"] = self._give_back(pid, reservation["quantity"], now)
            # Conditions failed: a reservation appeared or was released, or the product was
            # deleted, meanwhile: read again and release what is there now.
            if not actions or self._transact(actions) is None:
                return [pid for pid in product_ids if pid not in products and pid not in held]
            backoff(attempt)
        raise StoreUnavailableError("release: too many concurrent transactions, retry later")

    def _released_marker(self, product_id: str, order_id: str, now: str) -> dict[str, Any]:
        marker = {
            "type": "reservation",
            "product_id": product_id,
            "order_id": order_id,
            "quantity": 0,
            "status": "released",
            "created_at": now,
            "updated_at": now,
        }
        return {
            "Put": {
                "TableName": self.table,
                "Item": {**reservation_key(product_id, order_id), **to_item(marker)},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _mark_released(self, product_id: str, order_id: str, now: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": reservation_key(product_id, order_id),
                "UpdateExpression": "SET #st = :rel, updated_at = :now",
                "ConditionExpression": "#st = :act",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {
                    ":rel": to_value("released"),
                    ":act": to_value("active"),
                    ":now": to_value(now),
                },
            }
        }

    def _give_back(self, product_id: str, quantity: int, now: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": product_key(product_id),
                "UpdateExpression": "SET stock = stock + :q, version = version + :one, updated_at = :now",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {
                    ":q": to_value(quantity),
                    ":one": to_value(1),
                    ":now": to_value(now),
                },
            }
        }


def _priced_lines(lines: list[tuple[str, int]], products: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every line with its product's price, or the refusal (nothing has been written yet)."""
    missing = [pid for pid, _ in lines if pid not in products]
    if missing:
        # 409, not 404: the resource (/catalog/reservations) exists; a 404 means an older catalog
        # without it (mid-deploy), which orders treats as "unavailable, retry" and not as a refusal.
        raise ConflictError(f"product(s) not found in catalog: {_shown(missing)}")
    currencies = sorted({products[pid]["currency"] for pid, _ in lines})
    if len(currencies) > 1:
        raise ConflictError(f"items are priced in different currencies ({', '.join(currencies)})")
    out = []
    for pid, quantity in lines:
        product = products[pid]
        if product["stock"] < quantity:
            raise ConflictError(
                f"product {pid}: insufficient stock: requested {quantity}, available {product['stock']}"
            )
        price: Decimal = product["price"]
        out.append(
            {"product_id": pid, "quantity": quantity, "unit_price": price, "currency": product["currency"]}
        )
    return out
