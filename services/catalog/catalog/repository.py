"""DynamoDB access of catalog's products (single-table design on the manifest's pk/sk + gsi1 schema).

Items (reservations: see stock.py):
- product      pk=PRODUCT#<id>  sk=PRODUCT        gsi1pk=PRODUCT  gsi1sk=<created_at>#<id>
- sku claim    pk=SKU#<sku>     sk=SKU            product_id (makes SKUs unique, atomically)

Every write that must not happen twice is conditional; multi-item changes are transactions.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from typing import Any

from svc_common.dynamo import (
    CONDITION_FAILED,
    StoreUnavailableError,
    TableRepository,
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
TXN_ATTEMPTS = 5


def product_key(product_id: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"PRODUCT#{product_id}"), RANGE_KEY: to_value(PRODUCT_SK)}


def _sku_key(sku: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"SKU#{sku}"), RANGE_KEY: to_value("SKU")}


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


def product_view(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    out = {k: data.get(k) for k in _PRODUCT_FIELDS}
    out["description"] = out["description"] or ""
    out["stock"] = int(out["stock"])
    out["version"] = int(out["version"])
    return out


def backoff(attempt: int) -> None:
    time.sleep(min(0.02 * 2**attempt, 0.3) * (0.5 + random.random()))  # noqa: S311 # nosec B311


class CatalogRepository(TableRepository):
    def ping(self) -> None:
        self._call("get_item", TableName=self.table, Key=product_key("__ready__"), ProjectionExpression="pk")

    def get_product_item(self, product_id: str) -> dict[str, Any] | None:
        return self._call(
            "get_item", TableName=self.table, Key=product_key(product_id), ConsistentRead=True
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
        failed = self._transact(
            {
                "product": {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                "sku": {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**_sku_key(data["sku"]), "product_id": to_value(product_id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            }
        )
        if failed is not None:
            if failed.get("sku") == CONDITION_FAILED:
                raise ConflictError(f"sku {data['sku']!r} is already used by another product")
            raise StoreUnavailableError(f"create product cancelled: {failed}")
        return product_view(to_item(item))

    def get_product(self, product_id: str) -> dict[str, Any]:
        item = self.get_product_item(product_id)
        if item is None:
            raise NotFoundError(f"product {product_id!r} not found")
        return product_view(item)

    def list_products(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self._page(
            index=(INDEX, INDEX_HASH, INDEX_RANGE),
            partition=PRODUCT_LIST_KEY,
            limit=limit,
            cursor=cursor,
            item_key=product_key,
            view=product_view,
        )

    def update_product(
        self, product_id: str, expected_version: int | None, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply ``changes`` if the product is at ``expected_version`` (None: whatever version it is at)."""
        if expected_version is None:  # If-Match: * (a concurrent change is simply applied on top)
            for attempt in range(TXN_ATTEMPTS):
                try:
                    return self.update_product(product_id, self.get_product(product_id)["version"], changes)
                except PreconditionFailedError:
                    backoff(attempt)
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
            "Key": product_key(product_id),
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
        actions: dict[str, dict[str, Any]] = {"product": {"Update": update}}
        if new_sku is not None:
            actions |= {
                "old sku": {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _sku_key(current["sku"]),
                        "ConditionExpression": "product_id = :id",
                        "ExpressionAttributeValues": {":id": to_value(product_id)},
                    }
                },
                "new sku": {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**_sku_key(new_sku), "product_id": to_value(product_id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            }
        failed = self._transact(actions)
        if failed is not None:
            if failed.get("new sku") == CONDITION_FAILED:
                raise ConflictError(f"sku {new_sku!r} is already used by another product")
            if CONDITION_FAILED in failed.values():
                # The product changed (or disappeared) between our read and our write.
                self.get_product(product_id)
                raise PreconditionFailedError(
                    f"product {product_id!r} changed concurrently; GET it again and retry"
                )
            raise StoreUnavailableError(f"update cancelled: {failed}")
        return {**current, **changes, "version": expected_version + 1, "updated_at": now}

    def delete_product(self, product_id: str) -> None:
        for attempt in range(TXN_ATTEMPTS):
            current = self.get_product(product_id)
            failed = self._transact(
                {
                    "product": {
                        "Delete": {
                            "TableName": self.table,
                            "Key": product_key(product_id),
                            "ConditionExpression": "attribute_exists(pk) AND sku = :sku",
                            "ExpressionAttributeValues": {":sku": to_value(current["sku"])},
                        }
                    },
                    "sku": {
                        "Delete": {
                            "TableName": self.table,
                            "Key": _sku_key(current["sku"]),
                            "ConditionExpression": "product_id = :id",
                            "ExpressionAttributeValues": {":id": to_value(product_id)},
                        }
                    },
                }
            )
            if failed is None:
                return
            backoff(attempt)  # changed (sku) or deleted concurrently: read again
        raise StoreUnavailableError("delete product: too many concurrent changes")
