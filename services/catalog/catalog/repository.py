"""All DynamoDB access of catalog (single-table design on the manifest's pk/sk + gsi1 schema).

Items:
- product      pk=PRODUCT#<id>  sk=PRODUCT        gsi1pk=PRODUCT  gsi1sk=<created_at>#<id>
- sku claim    pk=SKU#<sku>     sk=SKU            product_id (makes SKUs unique, atomically)
- reservation  pk=PRODUCT#<id>  sk=RESERVATION#<order_id>  quantity, status active|released

Every write that must not happen twice is conditional; multi-item changes are transactions.
A released reservation is kept (status=released) so a late or retried reservation for the same
order can never take stock again.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError
from svc_common import cursor as cursors
from svc_common.dynamo import (
    StoreUnavailableError,
    TableRepository,
    error_code,
    from_item,
    to_item,
    to_value,
    utc_now,
)
from svc_common.errors import ConflictError, NotFoundError, PreconditionFailedError

LOGGER = logging.getLogger("catalog.repository")

# Key attribute names (tests check they match services/catalog/service.yaml).
HASH_KEY, RANGE_KEY, INDEX, INDEX_HASH, INDEX_RANGE = "pk", "sk", "gsi1", "gsi1pk", "gsi1sk"
PRODUCT_SK = "PRODUCT"
PRODUCT_LIST_KEY = "PRODUCT"
_TXN_ATTEMPTS = 5
_CCF = "ConditionalCheckFailed"
_CURSOR_SCHEMA = {
    "id": re.compile(r"[0-9a-f-]{36}"),
    "created_at": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"),
}


def _product_key(product_id: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"PRODUCT#{product_id}"), RANGE_KEY: to_value(PRODUCT_SK)}


def _sku_key(sku: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"SKU#{sku}"), RANGE_KEY: to_value("SKU")}


def _reservation_key(product_id: str, order_id: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"PRODUCT#{product_id}"), RANGE_KEY: to_value(f"RESERVATION#{order_id}")}


_PRODUCT_FIELDS = (
    "id",
    "sku",
    "name",
    "description",
    "price",
    "currency",
    "stock",
    "version",
    "created_at",
    "updated_at",
)


def _product(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    out = {k: data.get(k) for k in _PRODUCT_FIELDS}
    out["description"] = out["description"] or ""
    out["stock"] = int(out["stock"])
    out["version"] = int(out["version"])
    return out


def _reservation(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    return {
        "product_id": data["product_id"],
        "order_id": data["order_id"],
        "quantity": int(data["quantity"]),
        "status": data["status"],
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
    }


def _backoff(attempt: int) -> None:
    time.sleep(min(0.02 * 2**attempt, 0.3) * (0.5 + random.random()))  # noqa: S311 # nosec B311


class CatalogRepository(TableRepository):
    def ping(self) -> None:
        self._call("get_item", TableName=self.table, Key=_product_key("__ready__"), ProjectionExpression="pk")

    def _get_product_item(self, product_id: str) -> dict[str, Any] | None:
        return self._call(
            "get_item", TableName=self.table, Key=_product_key(product_id), ConsistentRead=True
        ).get("Item")

    # -- products ----------------------------------------------------------------------------
    def create_product(self, data: dict[str, Any]) -> dict[str, Any]:
        now = utc_now()
        product_id = str(uuid.uuid4())
        product = {
            **data,
            "id": product_id,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        item = {
            HASH_KEY: f"PRODUCT#{product_id}",
            RANGE_KEY: PRODUCT_SK,
            INDEX_HASH: PRODUCT_LIST_KEY,
            INDEX_RANGE: f"{now}#{product_id}",
            "type": "product",
            **product,
        }
        codes = self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**_sku_key(data["sku"]), "product_id": to_value(product_id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        if codes is not None:
            if codes[1] == _CCF:
                raise ConflictError(f"sku {data['sku']!r} is already used by another product")
            raise StoreUnavailableError(f"create product cancelled: {codes}")
        return _product(to_item(item))

    def get_product(self, product_id: str) -> dict[str, Any]:
        item = self._get_product_item(product_id)
        if item is None:
            raise NotFoundError(f"product {product_id!r} not found")
        return _product(item)

    def list_products(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": INDEX_HASH},
            "ExpressionAttributeValues": {":h": to_value(PRODUCT_LIST_KEY)},
            "Limit": limit,
        }
        if cursor:
            pos = cursors.decode(cursor, _CURSOR_SCHEMA)
            kwargs["ExclusiveStartKey"] = {
                **_product_key(pos["id"]),
                INDEX_HASH: to_value(PRODUCT_LIST_KEY),
                INDEX_RANGE: to_value(f"{pos['created_at']}#{pos['id']}"),
            }
        result = self._call("query", **kwargs)
        items = [_product(i) for i in result.get("Items", [])]
        next_cursor = None
        if result.get("LastEvaluatedKey") and items:
            last = items[-1]
            next_cursor = cursors.encode({"id": last["id"], "created_at": last["created_at"]})
        return items, next_cursor

    def update_product(
        self, product_id: str, expected_version: int | None, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply ``changes`` if the product is at ``expected_version`` (None: whatever version it is at)."""
        if expected_version is None:  # If-Match: * (a concurrent change is simply applied on top)
            for attempt in range(_TXN_ATTEMPTS):
                try:
                    return self.update_product(product_id, self.get_product(product_id)["version"], changes)
                except PreconditionFailedError:
                    _backoff(attempt)
            raise StoreUnavailableError("update: too many concurrent changes, retry later")
        current = self.get_product(product_id)
        if current["version"] != expected_version:
            raise PreconditionFailedError(
                f"product {product_id!r} is at version {current['version']}, not {expected_version}; "
                "GET it again and retry with the current version in If-Match"
            )
        changes = {k: v for k, v in changes.items() if current.get(k) != v}
        if not changes:
            return current
        now = utc_now()
        names = {f"#f{i}": k for i, k in enumerate(changes)}
        values = {f":v{i}": to_value(v) for i, v in enumerate(changes.values())}
        sets = [f"#f{i} = :v{i}" for i in range(len(changes))]
        update = {
            "TableName": self.table,
            "Key": _product_key(product_id),
            "UpdateExpression": "SET " + ", ".join([*sets, "#ver = :new", "#upd = :now"]),
            "ConditionExpression": "attribute_exists(pk) AND #ver = :old",
            "ExpressionAttributeNames": {**names, "#ver": "version", "#upd": "updated_at"},
            "ExpressionAttributeValues": {
                **values,
                ":new": to_value(expected_version + 1),
                ":old": to_value(expected_version),
                ":now": to_value(now),
            },
        }
        new_sku = changes.get("sku")
        items: list[dict[str, Any]] = [{"Update": update}]
        if new_sku is not None:
            items += [
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _sku_key(current["sku"]),
                        "ConditionExpression": "product_id = :id",
                        "ExpressionAttributeValues": {":id": to_value(product_id)},
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**_sku_key(new_sku), "product_id": to_value(product_id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        codes = self._transact(items)
        if codes is not None:
            if new_sku is not None and codes[2] == _CCF:
                raise ConflictError(f"sku {new_sku!r} is already used by another product")
            if _CCF in codes:
                # The product changed (or disappeared) between our read and our write.
                self.get_product(product_id)
                raise PreconditionFailedError(
                    f"product {product_id!r} changed concurrently; GET it again and retry"
                )
            raise StoreUnavailableError(f"update cancelled: {codes}")
        return {**current, **changes, "version": expected_version + 1, "updated_at": now}

    def delete_product(self, product_id: str) -> None:
        for attempt in range(_TXN_ATTEMPTS):
            current = self.get_product(product_id)
            codes = self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": _product_key(product_id),
                            "ConditionExpression": "attribute_exists(pk) AND sku = :sku",
                            "ExpressionAttributeValues": {":sku": to_value(current["sku"])},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": _sku_key(current["sku"]),
                            "ConditionExpression": "product_id = :id",
                            "ExpressionAttributeValues": {":id": to_value(product_id)},
                        }
                    },
                ]
            )
            if codes is None:
                return
            _backoff(attempt)  # changed (sku) or deleted concurrently: read again
        raise StoreUnavailableError("delete product: too many concurrent changes")

    # -- reservations ------------------------------------------------------------------------
    def _get_reservation(self, product_id: str, order_id: str) -> dict[str, Any] | None:
        item = self._call(
            "get_item",
            TableName=self.table,
            Key=_reservation_key(product_id, order_id),
            ConsistentRead=True,
        ).get("Item")
        return _reservation(item) if item else None

    def reserve(self, product_id: str, order_id: str, quantity: int) -> tuple[dict[str, Any], bool]:
        """Take ``quantity`` units for ``order_id``. Returns (reservation, created).

        Idempotent per (product, order): a retry with the same quantity returns the existing
        reservation without touching stock again.
        """
        for attempt in range(_TXN_ATTEMPTS):
            now = utc_now()
            reservation = {
                "product_id": product_id,
                "order_id": order_id,
                "quantity": quantity,
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            codes = self._transact(
                [
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                **_reservation_key(product_id, order_id),
                                **to_item({"type": "reservation", **reservation}),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _product_key(product_id),
                            "UpdateExpression": "SET stock = stock - :q, version = version + :one, "
                            "updated_at = :now",
                            "ConditionExpression": "attribute_exists(pk) AND stock >= :q",
                            "ExpressionAttributeValues": {
                                ":q": to_value(quantity),
                                ":one": to_value(1),
                                ":now": to_value(now),
                            },
                        }
                    },
                ]
            )
            if codes is None:
                return reservation, True
            if codes[0] == _CCF:
                existing = self._get_reservation(product_id, order_id)
                if existing is None:  # released and removed? never happens; retry to be safe
                    _backoff(attempt)
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
            if codes[1] == _CCF:
                item = self._get_product_item(product_id)
                if item is None:
                    raise NotFoundError(f"product {product_id!r} not found")
                available = _product(item)["stock"]
                if available < quantity:
                    raise ConflictError(
                        f"insufficient stock: requested {quantity}, available {available}",
                    )
            _backoff(attempt)  # TransactionConflict or a race with another writer: try again
        raise StoreUnavailableError("reservation: too many concurrent transactions, retry later")

    def release(self, product_id: str, order_id: str) -> None:
        """Give the reserved units back. Idempotent; leaves a released marker behind."""
        for attempt in range(_TXN_ATTEMPTS):
            existing = self._get_reservation(product_id, order_id)
            if existing is None:
                if self._get_product_item(product_id) is None:
                    raise NotFoundError(f"product {product_id!r} not found")
                # Nothing reserved yet: leave a marker so a late reservation cannot take stock.
                now = utc_now()
                marker = {
                    "type": "reservation",
                    "product_id": product_id,
                    "order_id": order_id,
                    "quantity": 0,
                    "status": "released",
                    "created_at": now,
                    "updated_at": now,
                }
                try:
                    self._call(
                        "put_item",
                        TableName=self.table,
                        Item={**_reservation_key(product_id, order_id), **to_item(marker)},
                        ConditionExpression="attribute_not_exists(pk)",
                    )
                    return
                except ClientError as exc:
                    if error_code(exc) != "ConditionalCheckFailedException":
                        raise
                    continue  # a reservation appeared meanwhile: release it
            if existing["status"] == "released":
                return
            now = utc_now()
            mark_released = {
                "Update": {
                    "TableName": self.table,
                    "Key": _reservation_key(product_id, order_id),
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
            restore = {
                "Update": {
                    "TableName": self.table,
                    "Key": _product_key(product_id),
                    "UpdateExpression": "SET stock = stock + :q, version = version + :one, updated_at = :now",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {
                        ":q": to_value(existing["quantity"]),
                        ":one": to_value(1),
                        ":now": to_value(now),
                    },
                }
            }
            codes = self._transact([mark_released, restore])
            if codes is None:
                return
            # The product was deleted: there is no stock to give back, just close the reservation.
            if codes[0] != _CCF and codes[1] == _CCF and self._transact([mark_released]) is None:
                return
            _backoff(attempt)
        raise StoreUnavailableError("release: too many concurrent transactions, retry later")
