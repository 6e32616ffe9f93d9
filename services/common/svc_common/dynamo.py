"""DynamoDB access helpers: client factory and (de)serialisation."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from svc_common.settings import ServiceSettings

DEFAULT_REGION = "eu-west-1"
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


class StoreUnavailableError(Exception):
    """The table cannot be reached or answered with a server-side error (maps to HTTP 503)."""


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
    # AWS_REGION (set by ECS), else AWS_DEFAULT_REGION, else the project's default region.
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    return boto3.session.Session(region_name=region).client("dynamodb", config=config)


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
