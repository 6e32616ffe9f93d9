"""DynamoDB access helpers: client factory and (de)serialisation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from svc_common import cursor as cursors

# StoreUnavailableError lives with the error model (its 503 handler); repositories import it from here.
from svc_common.errors import BadRequestError, StoreUnavailableError
from svc_common.settings import ServiceSettings

# Connections beyond one per request thread, for background work (e.g. orders' reconciler).
BACKGROUND_CONNECTIONS = 4
_SER = TypeSerializer()
_DESER = TypeDeserializer()

# DynamoDB error codes that mean "the store is unavailable or throttling", i.e. a 503 for callers.
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ResourceNotFoundException",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)


# The cancellation reason of a transaction action whose condition did not hold.
CONDITION_FAILED = "ConditionalCheckFailed"


# What a page cursor holds: the last item's id and creation time (its place in a
# ``<created_at>#<id>`` sorted index), plus the values the listing was scoped to.
_PAGE_CURSOR = {
    "id": re.compile(r"[0-9a-f-]{36}"),
    "created_at": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"),
}


def make_client(settings: ServiceSettings) -> Any:
    """A DynamoDB client that honours the standard AWS_* environment (AWS_ENDPOINT_URL included).

    Timeouts are short and retries bounded so that an unreachable endpoint fails within roughly
    ``aws_max_attempts * (connect_timeout + read_timeout)`` seconds. The connection pool is larger
    than the request thread pool, so no request waits for another one's connection.
    """
    config = Config(
        connect_timeout=settings.dynamodb_connect_timeout,
        read_timeout=settings.dynamodb_read_timeout,
        retries={"total_max_attempts": settings.aws_max_attempts, "mode": "standard"},
        tcp_keepalive=True,
        max_pool_connections=settings.request_threads + BACKGROUND_CONNECTIONS,
    )
    return boto3.session.Session(region_name=settings.aws_region).client("dynamodb", config=config)


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """Python values to a DynamoDB item (None values are dropped)."""
    return {k: _SER.serialize(v) for k, v in data.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    return _SER.serialize(value)


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item to Python values (numbers come back as Decimal)."""
    return {k: _DESER.deserialize(v) for k, v in item.items()}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_codes(exc: ClientError) -> list[str]:
    """Per-item reasons of a cancelled transaction ("None" for items that did not fail)."""
    return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]


def raise_unavailable(exc: Exception) -> None:
    """Re-raise ``exc`` as StoreUnavailableError when it means the store is unreachable or overloaded."""
    if isinstance(exc, BotoCoreError):
        raise StoreUnavailableError(type(exc).__name__) from exc
    if isinstance(exc, ClientError) and error_code(exc) in UNAVAILABLE_CODES:
        raise StoreUnavailableError(error_code(exc)) from exc


def utc_now() -> str:
    """Current time as ISO 8601 UTC with microseconds (sorts lexicographically)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class TableRepository:
    """Base of a service's repository layer: one table, every call mapped to our error model."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call; unreachable/overloaded store becomes StoreUnavailableError (503)."""
        try:
            return getattr(self.client, op)(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise_unavailable(exc)
            raise

    def _conditional(self, op: str, **kwargs: Any) -> bool:
        """Run a conditional write; False when its condition did not hold."""
        try:
            self._call(op, **kwargs)
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    def _transact(self, actions: dict[str, dict[str, Any]]) -> dict[str, str] | None:
        """Run the named actions as one TransactWriteItems (all or nothing).

        None when it committed; else ``{name: reason}`` of the actions that made it fail, e.g.
        ``{"sku": "ConditionalCheckFailed"}`` (DynamoDB reports one CancellationReason per action,
        in request order, Code "None" for the ones that did not fail:
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
        An unreachable or overloaded store raises StoreUnavailableError.
        """
        try:
            self.client.transact_write_items(TransactItems=list(actions.values()))
            return None
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                failed = {
                    name: code
                    for name, code in zip(actions, cancellation_codes(exc), strict=False)
                    if code != "None"
                }
                return failed or {"transaction": "Unknown"}
            raise_unavailable(exc)
            raise
        except BotoCoreError as exc:
            raise_unavailable(exc)
            raise

    def _page(
        self,
        *,
        index: tuple[str, str, str],
        partition: str,
        limit: int,
        cursor: str | None,
        item_key: Callable[[str], dict[str, Any]],
        view: Callable[[dict[str, Any]], dict[str, Any]],
        scope: dict[str, tuple[str, re.Pattern[str]]] | None = None,
        newest_first: bool = False,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the items of ``partition`` in ``index`` (name, hash and range attribute),
        whose range key is ``<created_at>#<id>``; the next page's cursor or None.

        ``item_key(id)`` is the table key of an item, ``view`` turns an item into its API shape
        (with "id" and "created_at"). ``scope`` names the values the listing is limited to
        (name -> (value, pattern)): they go into the cursor, and a cursor of another scope is a 400.
        """
        name, hash_attr, range_attr = index
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": name,
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": hash_attr},
            "ExpressionAttributeValues": {":h": to_value(partition)},
            "Limit": limit,
            "ScanIndexForward": not newest_first,
        }
        scoped = {k: value for k, (value, _) in (scope or {}).items()}
        if cursor:
            pos = cursors.decode(cursor, {**_PAGE_CURSOR, **{k: p for k, (_, p) in (scope or {}).items()}})
            for k, value in scoped.items():
                if pos[k] != value:
                    raise BadRequestError(f"invalid cursor: it belongs to another {k}")
            kwargs["ExclusiveStartKey"] = {
                **item_key(pos["id"]),
                hash_attr: to_value(partition),
                range_attr: to_value(f"{pos['created_at']}#{pos['id']}"),
            }
        result = self._call("query", **kwargs)
        items = [view(i) for i in result.get("Items", [])]
        next_cursor = None
        if result.get("LastEvaluatedKey") and items:
            last = items[-1]
            next_cursor = cursors.encode({"id": last["id"], "created_at": last["created_at"], **scoped})
        return items, next_cursor
