"""Create a service's DynamoDB table from its manifest (tests and the local stack).

The key schema and indexes come only from services/<name>/service.yaml (via scripts/manifests.py),
the same facts Terraform reads, so the emulator's tables match the real ones.
"""

from __future__ import annotations

from typing import Any

import boto3
import manifests
from botocore.exceptions import ClientError


def table_spec(service: str, table_name: str) -> dict[str, Any]:
    """CreateTable arguments (on-demand billing) for ``service``'s table named ``table_name``."""
    return manifests.get(service).table.create_table_args(table_name)


def create_table(service: str, table_name: str, endpoint_url: str | None = None, client: Any = None) -> str:
    """Create the table (if it does not exist yet) and wait until it is active. Returns its name."""
    client = client or boto3.client("dynamodb", endpoint_url=endpoint_url)
    try:
        client.create_table(**table_spec(service, table_name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ttl = manifests.get(service).table.ttl_args(table_name)
    if ttl is not None:
        client.update_time_to_live(**ttl)
    return table_name
