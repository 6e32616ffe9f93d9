"""The call counter of `make bench-calls` (scripts/bench/calls.py) counts exactly what was called.

A known sequence of AWS calls is made against the real emulator (scripts/emulator.py), and the
counter, reading only the emulator's per-call log, must find each call once, by API, with SDK
retries apart and non-DynamoDB calls apart. The operations run against a private stack must then
cost at least their theoretical minimum (fewer means the counter lost calls or a minimum is wrong).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from bench import calls, stack

from tests.support.aws import MotoServer


def _settled(tail: calls.LogTail, expected_lines: int) -> list[str]:
    """The emulator writes a call's line before it answers; wait only for the file system."""
    lines: list[str] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines += tail.new_lines()
        if sum(calls.parse_emulator_line(ln) is not None for ln in lines) >= expected_lines:
            break
        time.sleep(0.02)
    return lines


def test_the_counter_finds_each_call_of_a_known_sequence_once(aws: MotoServer) -> None:
    tail = calls.LogTail(aws.proc.log)
    ddb = boto3.client("dynamodb", endpoint_url=aws.url)
    table = f"calls-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for pk in ("a", "b", "c"):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}})
    ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    ddb.query(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "b"}})
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "d"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "c"}}}},
        ]
    )
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):  # a refused call is a call
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")

    def second_attempt(request: Any, **_: Any) -> None:
        request.headers["amz-sdk-request"] = "attempt=2; max=3"

    ddb.meta.events.register("before-send.dynamodb.GetItem", second_attempt)
    ddb.get_item(TableName=table, Key={"pk": {"S": "b"}})  # logged as a retry: counted apart
    boto3.client("sts", endpoint_url=aws.url).get_caller_identity()

    count = calls.count_emulator_lines(_settled(tail, 10))

    assert dict(count.dynamodb) == {
        "CreateTable": 1,
        "PutItem": 4,
        "GetItem": 1,
        "Query": 1,
        "TransactWriteItems": 1,
    }
    assert count.dynamodb_total == 8
    assert count.retries == 1
    assert dict(count.other_aws) == {"GetCallerIdentity": 1}


def test_access_lines_count_only_the_operations_request_id() -> None:
    def line(request_id: str, route: str, kind: str = "access") -> str:
        return json.dumps({"type": kind, "request_id": request_id, "route": route})

    lines = [
        line("op-1", "GET /catalog/products/{product_id}"),
        line("op-2", "GET /catalog/products/{product_id}"),  # another request
        line("op-1", "POST /catalog/products/{product_id}/reservations"),
        line("op-1", "GET /catalog/products/{product_id}"),
        line("op-1", "not an access line", kind="app"),
        "op-1 not JSON",
    ]
    count = calls.count_access_lines(lines, "op-1", calls.Count())
    assert dict(count.catalog) == {
        "GET /catalog/products/{product_id}": 2,
        "POST /catalog/products/{product_id}/reservations": 1,
    }


def test_the_section_replaces_only_itself_in_the_report(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Load\n\nrows\n\n## Calls per operation\n\nold\n\n## Notes\n\n- n\n")
    current = {"order get": calls.Count(dynamodb=calls.Counter({"GetItem": 3})).as_dict()}
    baseline = {"taken": "then", "operations": {"order get": {"dynamodb_total": 5, "catalog_total": 0}}}
    calls.update_doc(doc, calls.render(current, baseline))
    text = doc.read_text()
    assert "old" not in text
    assert "## Load\n\nrows" in text
    assert text.endswith("## Notes\n\n- n\n")
    assert "| order get | GetItem 3 | 3 | 1 | 3.0x | 5 | 0 | 0 | - | 0 |" in text


def _count(ddb: int, catalog: int) -> dict:
    return {
        "dynamodb": {"GetItem": ddb},
        "dynamodb_total": ddb,
        "retries": 0,
        "catalog": {},
        "catalog_total": catalog,
    }


def test_compare_finds_every_shortfall() -> None:
    baseline = {"operations": {"order get": _count(1, 0), "order create, 10 items": _count(22, 20)}}
    assert calls.compare({"order get": _count(1, 0), "order create, 10 items": _count(4, 1)}, baseline) == []
    problems = calls.compare(
        {
            "order get": _count(2, 0),
            "order create, 10 items": _count(5, 1),
            "order cancel, 2 items": _count(6, 1),
        },
        baseline,
    )
    assert problems == [
        "order get: dynamodb_total 2 > baseline 1",
        "order create, 10 items: 5 DynamoDB / 1 catalog calls, target at most 4 / 1",
        "order cancel, 2 items: not in the baseline",
    ]
    assert calls.compare({"order get": {**_count(0, 0), "retries": 1}}, baseline) == [
        "order create, 10 items: not measured (it is in the baseline)",
        "order get: below the minimum 1 / 0: calls were not counted",
        "order get: 1 SDK retries on an idle stack",
    ]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_counts_meet_the_baseline_the_targets_and_the_minima() -> None:
    """Counts are deterministic (an idle stack, the reconciler off): compared exactly, never timed."""
    with tempfile.TemporaryDirectory(prefix="calls-test-") as tmp, stack.running(Path(tmp)) as s:
        measured = calls.measure(s)
    baseline = calls.load_baseline(calls.BASELINE)
    assert baseline is not None, f"{calls.BASELINE} is committed"
    assert set(measured) == set(calls.MINIMUM) == set(baseline["operations"])
    assert calls.compare(measured, baseline) == []
    # Create-order costs the same whatever its number of lines, and less than before for k > 1.
    creates = [measured[f"order create, {k}"] for k in ("1 item", "2 items", "10 items")]
    assert len({(c["dynamodb_total"], c["catalog_total"]) for c in creates}) == 1, creates
    assert (creates[2]["dynamodb_total"], creates[2]["catalog_total"]) <= (4, 1)
    for k in ("2 items", "10 items"):
        before = baseline["operations"][f"order create, {k}"]
        assert measured[f"order create, {k}"]["dynamodb_total"] < before["dynamodb_total"]
