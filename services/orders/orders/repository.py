"""All DynamoDB access of orders (single-table design on the manifest's pk/sk + gsi1 schema).

Items:
- order              pk=ORDER#<id>            sk=ORDER  gsi1pk=CUSTOMER#<customer>  gsi1sk=<created_at>#<id>
- idempotency claim  pk=IDEMPOTENCY#<key>     sk=IDEMPOTENCY
      request_hash, order_id (the attempt's order id), state in_progress|done, lease_until (epoch s)

A claim is taken with a conditional put before anything else happens, so concurrent requests
with one key cannot both create an order. The order is written together with the claim's
completion in one transaction fenced on the claim's order id.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from svc_common import cursor as cursors
from svc_common.dynamo import (
    StoreUnavailableError,
    TableRepository,
    cancellation_codes,
    error_code,
    from_item,
    raise_unavailable,
    to_item,
    to_value,
    utc_now,
)
from svc_common.errors import BadRequestError, NotFoundError

# Key attribute names (tests check they match services/orders/service.yaml).
HASH_KEY, RANGE_KEY, INDEX, INDEX_HASH, INDEX_RANGE = "pk", "sk", "gsi1", "gsi1pk", "gsi1sk"
_CURSOR_SCHEMA = {
    "id": re.compile(r"[0-9a-f-]{36}"),
    "created_at": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"),
    "customer_id": re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"),
}
ORDER_FIELDS = (
    "id",
    "customer_id",
    "status",
    "items",
    "currency",
    "total",
    "rejection_reason",
    "created_at",
    "updated_at",
)


def _epoch(offset: float = 0.0) -> Decimal:
    return Decimal(str(round(time.time() + offset, 3)))


def _order_key(order_id: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"ORDER#{order_id}"), RANGE_KEY: to_value("ORDER")}


def _claim_key(key: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"IDEMPOTENCY#{key}"), RANGE_KEY: to_value("IDEMPOTENCY")}


def _order(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    out = {k: data.get(k) for k in ORDER_FIELDS}
    out["items"] = [
        {
            "product_id": i["product_id"],
            "quantity": int(i["quantity"]),
            "unit_price": i.get("unit_price"),
            "line_total": i.get("line_total"),
        }
        for i in data.get("items", [])
    ]
    return out


def _claim(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    return {
        "request_hash": data["request_hash"],
        "order_id": data["order_id"],
        "state": data["state"],
        "lease_until": float(data.get("lease_until", 0)),
    }


class OrdersRepository(TableRepository):
    def ping(self) -> None:
        self._call("get_item", TableName=self.table, Key=_order_key("__ready__"), ProjectionExpression="pk")

    # -- idempotency claims ------------------------------------------------------------------
    def get_claim(self, key: str) -> dict[str, Any] | None:
        item = self._call("get_item", TableName=self.table, Key=_claim_key(key), ConsistentRead=True).get(
            "Item"
        )
        return _claim(item) if item else None

    def put_claim(self, key: str, request_hash: str, order_id: str, lease_seconds: float) -> bool:
        """Claim ``key`` for a new attempt; False when someone holds (or held) it already."""
        item = {
            "type": "idempotency",
            "request_hash": request_hash,
            "order_id": order_id,
            "state": "in_progress",
            "lease_until": _epoch(lease_seconds),
            "created_at": utc_now(),
        }
        return self._conditional(
            "put_item",
            TableName=self.table,
            Item={**_claim_key(key), **to_item(item)},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def take_over_claim(self, key: str, old_order_id: str, new_order_id: str, lease_seconds: float) -> bool:
        """Take an expired in-progress claim for a new attempt (fenced on the old attempt's id)."""
        return self._conditional(
            "update_item",
            TableName=self.table,
            Key=_claim_key(key),
            UpdateExpression="SET order_id = :new, lease_until = :lease",
            ConditionExpression="#st = :prog AND order_id = :old AND lease_until < :now",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={
                ":new": to_value(new_order_id),
                ":old": to_value(old_order_id),
                ":prog": to_value("in_progress"),
                ":now": to_value(_epoch()),
                ":lease": to_value(_epoch(lease_seconds)),
            },
        )

    def drop_claim(self, key: str, order_id: str) -> bool:
        """Forget an attempt that left nothing behind, so a retry starts afresh."""
        return self._conditional(
            "delete_item",
            TableName=self.table,
            Key=_claim_key(key),
            ConditionExpression="#st = :prog AND order_id = :id",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={":id": to_value(order_id), ":prog": to_value("in_progress")},
        )

    def expire_claim(self, key: str, order_id: str) -> bool:
        """End an attempt's lease now; the next retry cleans up after it and starts again."""
        return self._conditional(
            "update_item",
            TableName=self.table,
            Key=_claim_key(key),
            UpdateExpression="SET lease_until = :zero",
            ConditionExpression="#st = :prog AND order_id = :id",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={
                ":id": to_value(order_id),
                ":prog": to_value("in_progress"),
                ":zero": to_value(0),
            },
        )

    # -- orders ------------------------------------------------------------------------------
    def complete(self, key: str, order: dict[str, Any]) -> bool:
        """Store ``order`` and mark its claim done, atomically. False when the claim was lost."""
        item = {
            HASH_KEY: f"ORDER#{order['id']}",
            RANGE_KEY: "ORDER",
            INDEX_HASH: f"CUSTOMER#{order['customer_id']}",
            INDEX_RANGE: f"{order['created_at']}#{order['id']}",
            "type": "order",
            "idempotency_key": key,
            **order,
        }
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": to_item(item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _claim_key(key),
                            "UpdateExpression": "SET #st = :done",
                            "ConditionExpression": "#st = :prog AND order_id = :id",
                            "ExpressionAttributeNames": {"#st": "state"},
                            "ExpressionAttributeValues": {
                                ":done": to_value("done"),
                                ":prog": to_value("in_progress"),
                                ":id": to_value(order["id"]),
                            },
                        }
                    },
                ]
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes:
                    return False
                raise StoreUnavailableError(f"store order cancelled: {codes}") from exc
            raise_unavailable(exc)
            raise
        except BotoCoreError as exc:
            raise_unavailable(exc)
            raise

    def get_order(self, order_id: str) -> dict[str, Any]:
        item = self._call(
            "get_item", TableName=self.table, Key=_order_key(order_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"order {order_id!r} not found")
        return _order(item)

    def list_orders(self, customer_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": INDEX_HASH},
            "ExpressionAttributeValues": {":h": to_value(f"CUSTOMER#{customer_id}")},
            "Limit": limit,
            "ScanIndexForward": False,  # newest first
        }
        if cursor:
            pos = cursors.decode(cursor, _CURSOR_SCHEMA)
            if pos["customer_id"] != customer_id:
                raise BadRequestError("invalid cursor: it belongs to another customer_id")
            kwargs["ExclusiveStartKey"] = {
                **_order_key(pos["id"]),
                INDEX_HASH: to_value(f"CUSTOMER#{customer_id}"),
                INDEX_RANGE: to_value(f"{pos['created_at']}#{pos['id']}"),
            }
        result = self._call("query", **kwargs)
        items = [_order(i) for i in result.get("Items", [])]
        next_cursor = None
        if result.get("LastEvaluatedKey") and items:
            last = items[-1]
            next_cursor = cursors.encode(
                {"id": last["id"], "created_at": last["created_at"], "customer_id": customer_id}
            )
        return items, next_cursor

    def mark_cancelled(self, order_id: str) -> bool:
        """confirmed -> cancelled; False when the order was not confirmed any more."""
        return self._conditional(
            "update_item",
            TableName=self.table,
            Key=_order_key(order_id),
            UpdateExpression="SET #st = :cancelled, updated_at = :now",
            ConditionExpression="#st = :confirmed",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":cancelled": to_value("cancelled"),
                ":confirmed": to_value("confirmed"),
                ":now": to_value(utc_now()),
            },
        )
