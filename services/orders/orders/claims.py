"""DynamoDB access of idempotency claims, pending work and the reconciler's lease (orders table).

Items (same table and key schema as the orders, see repository.py):
- idempotency claim  pk=IDEMPOTENCY#<key>  sk=IDEMPOTENCY
      request_hash, order_id (the attempt's order id), products (ids the attempt may reserve),
      state in_progress | releasing | done, lease_until (epoch s),
      expires_at (epoch s, DynamoDB TTL attribute: set when the claim is done)
- reconciler lease   pk=RECONCILER          sk=LEASE   holder, lease_until

Work that must finish even if nobody comes back (an unfinished claim, an unfinished cancel) sits
in the sparse "pending" partition of gsi1 (gsi1pk=PENDING, gsi1sk=<due time>) until it is done;
the reconciler queries that partition for items whose due time has passed; an item whose repair
fails gets a later due time (``postpone``, backoff counted in ``repair_failures``), so it never
stands in front of the work behind it.

Claim states: ``in_progress`` (an attempt holds the key until lease_until), ``releasing`` (an
expired attempt was fenced off: its reservations are being given back; nobody can complete it
any more), ``done`` (the order is stored). Every change is conditional on the state and the
attempt's order id, so a slow attempt, a retry and the reconciler can never undo each other.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from svc_common.dynamo import TableRepository, from_item, to_item, to_value, utc_now

HASH_KEY, RANGE_KEY, INDEX, INDEX_HASH, INDEX_RANGE = "pk", "sk", "gsi1", "gsi1pk", "gsi1sk"
PENDING = "PENDING"
CLAIM_SK = "IDEMPOTENCY"
CLAIM_PREFIX = "IDEMPOTENCY#"
TTL_ATTRIBUTE = "expires_at"  # tests check it equals table.ttl_attribute in service.yaml
REPAIR_FAILURES = "repair_failures"  # on pending work: failed repairs so far (the backoff grows)
_LEASE_KEY = {HASH_KEY: to_value("RECONCILER"), RANGE_KEY: to_value("LEASE")}


def epoch(offset: float = 0.0) -> Decimal:
    return Decimal(str(round(time.time() + offset, 3)))


def due(when: Decimal | float) -> str:
    """Sort key of pending work: fixed-width seconds, so text order is time order."""
    return f"{float(when):017.3f}"


def claim_key(key: str) -> dict[str, Any]:
    return {HASH_KEY: to_value(f"{CLAIM_PREFIX}{key}"), RANGE_KEY: to_value(CLAIM_SK)}


def claim_from_item(item: dict[str, Any]) -> dict[str, Any]:
    data = from_item(item)
    return {
        "key": str(data[HASH_KEY]).removeprefix(CLAIM_PREFIX),
        "request_hash": data["request_hash"],
        "order_id": data["order_id"],
        "products": [str(p) for p in data.get("products", [])],
        "state": data["state"],
        "lease_until": float(data.get("lease_until", 0)),
        "expires_at": float(data.get(TTL_ATTRIBUTE, 0)),
    }


class ClaimRepository(TableRepository):
    def __init__(self, client: Any, table: str, retention_seconds: float) -> None:
        super().__init__(client, table)
        self.retention_seconds = retention_seconds

    def get_claim(self, key: str) -> dict[str, Any] | None:
        """The claim, or None when there is none or it has expired (TTL deletes it later)."""
        item = self._call("get_item", TableName=self.table, Key=claim_key(key), ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            return None
        claim = claim_from_item(item)
        # DynamoDB deletes expired items within days, not at once: an expired claim is no claim.
        if claim["state"] == "done" and claim["expires_at"] and claim["expires_at"] <= time.time():
            return None
        return claim

    def put_claim(
        self, key: str, request_hash: str, order_id: str, products: list[str], lease_seconds: float
    ) -> bool:
        """Claim ``key`` for a new attempt; False when someone holds (or held) it and it has not expired."""
        lease = epoch(lease_seconds)
        item = {
            "type": "idempotency",
            "request_hash": request_hash,
            "order_id": order_id,
            "products": products,
            "state": "in_progress",
            "lease_until": lease,
            INDEX_HASH: PENDING,
            INDEX_RANGE: due(lease),
            "created_at": utc_now(),
        }
        return self._conditional(
            "put_item",
            TableName=self.table,
            Item={**claim_key(key), **to_item(item)},
            ConditionExpression="attribute_not_exists(pk) OR (#st = :done AND #exp <= :now)",
            ExpressionAttributeNames={"#st": "state", "#exp": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":done": to_value("done"), ":now": to_value(epoch())},
        )

    def fence(self, key: str, order_id: str) -> bool:
        """in_progress -> releasing for an attempt whose lease has run out: it can no longer complete."""
        return self._conditional(
            "update_item",
            TableName=self.table,
            Key=claim_key(key),
            UpdateExpression="SET #st = :rel",
            ConditionExpression="#st = :prog AND order_id = :id AND lease_until < :now",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={
                ":rel": to_value("releasing"),
                ":prog": to_value("in_progress"),
                ":id": to_value(order_id),
                ":now": to_value(epoch()),
            },
        )

    def take_over(
        self, key: str, old_order_id: str, new_order_id: str, products: list[str], lease_seconds: float
    ) -> bool:
        """releasing -> in_progress for a new attempt, once the old attempt's reservations are released."""
        lease = epoch(lease_seconds)
        return self._conditional(
            "update_item",
            TableName=self.table,
            Key=claim_key(key),
            UpdateExpression="SET #st = :prog, order_id = :new, products = :products, "
            "lease_until = :lease, #due = :due",
            ConditionExpression="#st = :rel AND order_id = :old",
            ExpressionAttributeNames={"#st": "state", "#due": INDEX_RANGE},
            ExpressionAttributeValues={
                ":prog": to_value("in_progress"),
                ":rel": to_value("releasing"),
                ":new": to_value(new_order_id),
                ":old": to_value(old_order_id),
                ":products": to_value(products),
                ":lease": to_value(lease),
                ":due": to_value(due(lease)),
            },
        )

    def drop(self, key: str, order_id: str, state: str = "in_progress") -> bool:
        """Forget an attempt that left nothing behind (its own, or a fenced one), freeing the key."""
        return self._conditional(
            "delete_item",
            TableName=self.table,
            Key=claim_key(key),
            ConditionExpression="#st = :st AND order_id = :id",
            ExpressionAttributeNames={"#st": "state"},
            ExpressionAttributeValues={":id": to_value(order_id), ":st": to_value(state)},
        )

    def expire(self, key: str, order_id: str) -> bool:
        """End an attempt's lease now: a retry or the reconciler cleans up after it at once."""
        return self._conditional(
            "update_item",
            TableName=self.table,
            Key=claim_key(key),
            UpdateExpression="SET lease_until = :zero, #due = :due",
            ConditionExpression="#st = :prog AND order_id = :id",
            ExpressionAttributeNames={"#st": "state", "#due": INDEX_RANGE},
            ExpressionAttributeValues={
                ":id": to_value(order_id),
                ":prog": to_value("in_progress"),
                ":zero": to_value(0),
                ":due": to_value(due(0)),
            },
        )

    def done_update(self, key: str, order_id: str) -> dict[str, Any]:
        """The transaction item that marks an attempt's claim done (fenced on its order id)."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": claim_key(key),
                "UpdateExpression": f"SET #st = :done, #exp = :exp REMOVE {INDEX_HASH}, {INDEX_RANGE}",
                "ConditionExpression": "#st = :prog AND order_id = :id",
                "ExpressionAttributeNames": {"#st": "state", "#exp": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": {
                    ":done": to_value("done"),
                    ":prog": to_value("in_progress"),
                    ":id": to_value(order_id),
                    ":exp": to_value(int(time.time() + self.retention_seconds)),
                },
            }
        }

    # -- pending work and the reconciler's lease ---------------------------------------------
    def due_items(self, limit: int) -> list[dict[str, Any]]:
        """Pending items (claims, unfinished cancels) whose due time has passed, oldest first."""
        result = self._call(
            "query",
            TableName=self.table,
            IndexName=INDEX,
            KeyConditionExpression="#h = :h AND #r <= :now",
            ExpressionAttributeNames={"#h": INDEX_HASH, "#r": INDEX_RANGE},
            ExpressionAttributeValues={":h": to_value(PENDING), ":now": to_value(due(epoch()))},
            Limit=limit,
        )
        return result.get("Items", [])

    def postpone(self, item: dict[str, Any], seconds: float) -> bool:
        """Move pending work whose repair failed ``seconds`` into the future (behind what is due now).

        Conditional on the due time the reconciler read: a completion, a take-over, a cancel that
        finished or another reconciler that postponed it first always wins (then False)."""
        return self._conditional(
            "update_item",
            TableName=self.table,
            Key={HASH_KEY: item[HASH_KEY], RANGE_KEY: item[RANGE_KEY]},
            UpdateExpression="SET #due = :later, #fails = if_not_exists(#fails, :zero) + :one",
            ConditionExpression="#h = :pending AND #due = :was",
            ExpressionAttributeNames={"#h": INDEX_HASH, "#due": INDEX_RANGE, "#fails": REPAIR_FAILURES},
            ExpressionAttributeValues={
                ":pending": to_value(PENDING),
                ":was": item[INDEX_RANGE],
                ":later": to_value(due(epoch(seconds))),
                ":zero": to_value(0),
                ":one": to_value(1),
            },
        )

    def acquire_lease(self, holder: str, seconds: float) -> bool:
        """Take or renew the reconciler's lease; False while another live replica holds it."""
        return self._conditional(
            "put_item",
            TableName=self.table,
            Item={**_LEASE_KEY, **to_item({"holder": holder, "lease_until": epoch(seconds)})},
            ConditionExpression="attribute_not_exists(pk) OR holder = :me OR lease_until < :now",
            ExpressionAttributeValues={":me": to_value(holder), ":now": to_value(epoch())},
        )
