"""All DynamoDB access of orders (single-table design on the manifest's pk/sk + gsi1 schema).

Items (claims, pending work and the reconciler's lease: see claims.py):
- order          pk=ORDER#<id>  sk=ORDER   gsi1pk=CUSTOMER#<customer>  gsi1sk=<created_at>#<id>
      status confirmed | rejected | cancelling | cancelled
- cancel marker  pk=ORDER#<id>  sk=CANCEL  gsi1pk=PENDING  gsi1sk=<due time>   (while cancelling)

An order is written together with its claim's completion in one transaction fenced on the
claim's order id. A cancel first moves the order to ``cancelling`` and puts its marker (one
transaction), then releases the stock, then moves it to ``cancelled`` and deletes the marker (one
transaction): cut off anywhere, the marker tells the reconciler to finish it.
"""

from __future__ import annotations

import re
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
from svc_common.errors import NotFoundError

from orders.claims import PENDING, ClaimRepository, due, epoch

# Key attribute names (tests check they match services/orders/service.yaml).
HASH_KEY, RANGE_KEY, INDEX, INDEX_HASH, INDEX_RANGE = "pk", "sk", "gsi1", "gsi1pk", "gsi1sk"
_CUSTOMER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
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


def _order_key(order_id: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"ORDER#{order_id}"), RANGE_KEY: to_value("ORDER")}


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


def _cancel_key(order_id: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"ORDER#{order_id}"), RANGE_KEY: to_value("CANCEL")}


class OrdersRepository(TableRepository):
    def __init__(self, client: Any, table: str, claims: ClaimRepository) -> None:
        super().__init__(client, table)
        self.claims = claims

    def ping(self) -> None:
        self._call("get_item", TableName=self.table, Key=_order_key("__ready__"), ProjectionExpression="pk")

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
        failed = self._transact(
            {
                "order": {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                "claim": self.claims.done_update(key, order["id"]),
            }
        )
        if failed is None:
            return True
        if CONDITION_FAILED in failed.values():  # the claim was fenced or taken over (or the order exists)
            return False
        raise StoreUnavailableError(f"store order cancelled: {failed}")

    def get_order(self, order_id: str) -> dict[str, Any]:
        item = self._call(
            "get_item", TableName=self.table, Key=_order_key(order_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"order {order_id!r} not found")
        return _order(item)

    def list_orders(self, customer_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """A customer's orders, newest first (the cursor is tied to the customer)."""
        return self._page(
            index=(INDEX, INDEX_HASH, INDEX_RANGE),
            partition=f"CUSTOMER#{customer_id}",
            limit=limit,
            cursor=cursor,
            item_key=_order_key,
            view=_order,
            scope={"customer_id": (customer_id, _CUSTOMER_ID)},
            newest_first=True,
        )

    def _status_change(self, order_id: str, old: str, new: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": _order_key(order_id),
                "UpdateExpression": "SET #st = :new, updated_at = :now",
                "ConditionExpression": "#st = :old",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {
                    ":new": to_value(new),
                    ":old": to_value(old),
                    ":now": to_value(utc_now()),
                },
            }
        }

    def begin_cancel(self, order_id: str, grace_seconds: float) -> bool:
        """confirmed -> cancelling, with the marker the reconciler acts on after ``grace_seconds``.

        False when the order was not confirmed any more.
        """
        marker = {
            "type": "cancel",
            "order_id": order_id,
            INDEX_HASH: PENDING,
            INDEX_RANGE: due(epoch(grace_seconds)),
        }
        failed = self._transact(
            {
                "order": self._status_change(order_id, "confirmed", "cancelling"),
                "marker": {
                    "Put": {"TableName": self.table, "Item": {**_cancel_key(order_id), **to_item(marker)}}
                },
            }
        )
        if failed is None:
            return True
        if failed.get("order") == CONDITION_FAILED:
            return False
        raise StoreUnavailableError(f"begin cancel cancelled: {failed}")

    def finish_cancel(self, order_id: str) -> bool:
        """cancelling -> cancelled (the stock was given back); False when it was not cancelling."""
        failed = self._transact(
            {
                "order": self._status_change(order_id, "cancelling", "cancelled"),
                "marker": {"Delete": {"TableName": self.table, "Key": _cancel_key(order_id)}},
            }
        )
        if failed is None:
            return True
        if failed.get("order") == CONDITION_FAILED:
            return False
        raise StoreUnavailableError(f"finish cancel cancelled: {failed}")

    def drop_cancel_marker(self, order_id: str) -> None:
        """Remove a marker whose order is not cancelling (it finished without it, or never began)."""
        self._conditional(
            "delete_item",
            TableName=self.table,
            Key=_cancel_key(order_id),
            ConditionExpression="attribute_exists(pk)",
        )
