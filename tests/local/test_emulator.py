"""scripts/emulator.py keeps AWS's promise that each API call is atomic, even under concurrency.

The workload moves units between two DynamoDB items with TransactWriteItems from many threads at
once, each move conditional on the source still holding a unit. In AWS the total never changes.
moto's stock threaded server breaks that (a failed transaction restores a deep copy of the whole
table, erasing the writes other threads made meanwhile); the emulator must not.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import emulator
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.aws import FAKE_AWS_ENV, REGION
from tests.support.procs import Proc, free_port, wait_http
from tests.support.tools import output_dir

TOTAL = 40
THREADS = 8
MOVES_PER_THREAD = 30
PADDING = 800


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = free_port()
    proc = Proc(
        emulator.argv(sys.executable, port), output_dir("logs") / f"emulator-{port}.log", env=FAKE_AWS_ENV
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", timeout=30)
        yield url
    finally:
        proc.stop()


def _client(url: str):
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=THREADS)
    return boto3.client("dynamodb", endpoint_url=url, region_name=REGION, config=cfg)


def _move(ddb, src: str, dst: str) -> bool:
    def update(key: str, delta: str, condition: str | None) -> dict:
        op = {
            "TableName": "ledger",
            "Key": {"pk": {"S": key}},
            "UpdateExpression": f"SET n = n {delta} :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        if condition:
            op["ConditionExpression"] = condition
        return {"Update": op}

    try:
        ddb.transact_write_items(TransactItems=[update(src, "-", "n >= :one"), update(dst, "+", None)])
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("TransactionCanceledException", "TransactionConflictException"):
            return False
        raise
    return True


def test_concurrent_transactions_never_create_or_lose_units(endpoint: str) -> None:
    ddb = _client(endpoint)
    ddb.create_table(
        TableName="ledger",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # moto copies the whole table before each transaction and puts that copy back when one fails:
    # a table of some size makes that window wide enough for other threads to write into it.
    for start in range(0, PADDING, 25):
        ddb.batch_write_item(
            RequestItems={
                "ledger": [
                    {"PutRequest": {"Item": {"pk": {"S": f"pad-{i}"}, "blob": {"S": "x" * 200}}}}
                    for i in range(start, min(start + 25, PADDING))
                ]
            }
        )
    # Few units on one side: many moves fail their condition, the case that restores a copy.
    ddb.put_item(TableName="ledger", Item={"pk": {"S": "a"}, "n": {"N": "3"}})
    ddb.put_item(TableName="ledger", Item={"pk": {"S": "b"}, "n": {"N": str(TOTAL - 3)}})
    done = threading.Barrier(THREADS)

    clients = [_client(endpoint) for _ in range(THREADS)]  # made here: boto3 sessions are not thread-safe

    def worker(seed: int) -> tuple[int, int]:
        rng = random.Random(seed)
        client = clients[seed]
        done.wait(timeout=30)  # start together
        ok = failed = 0
        for _ in range(MOVES_PER_THREAD):
            src, dst = ("a", "b") if rng.random() < 0.3 else ("b", "a")
            if _move(client, src, dst):
                ok += 1
            else:
                failed += 1
        return ok, failed

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(worker, range(THREADS)))

    items = ddb.scan(TableName="ledger", ConsistentRead=True)["Items"]
    counts = {i["pk"]["S"]: int(i["n"]["N"]) for i in items if "n" in i}
    moved = sum(ok for ok, _ in results)
    refused = sum(failed for _, failed in results)
    print(f"[emulator atomicity] moves {moved}, refused {refused}, final {counts}")
    assert moved, "no transaction committed"
    assert refused, "no transaction was cancelled: the workload must exercise both"
    assert min(counts.values()) >= 0, counts
    assert sum(counts.values()) == TOTAL, f"units created or lost: {counts}"


def test_the_emulator_answers_many_clients_at_once(endpoint: str) -> None:
    """The lock serialises calls, not connections: parallel keep-alive clients all get answers."""
    with ThreadPoolExecutor(THREADS) as pool:
        codes = list(
            pool.map(lambda _: httpx.get(f"{endpoint}/moto-api/", timeout=10).status_code, range(32))
        )
    assert codes == [200] * 32


def _create_vpc(endpoint: str, invocation: str, attempt: int) -> httpx.Response:
    """EC2 CreateVpc as an SDK sends it (the emulator does not check signatures)."""
    return httpx.post(
        endpoint,
        content=b"Action=CreateVpc&CidrBlock=10.42.0.0%2F16&Version=2016-11-15",
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/ec2/aws4_request, "
            "SignedHeaders=host, Signature=0",
            "amz-sdk-invocation-id": invocation,
            "amz-sdk-request": f"attempt={attempt}; max=3",
        },
        timeout=10,
    )


def _vpc_id(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.text.split("<vpcId>", 1)[1].split("</vpcId>", 1)[0]


def test_an_sdk_retry_of_a_call_that_succeeded_gets_the_same_answer(endpoint: str) -> None:
    """An SDK retries a create when it lost the answer; it must not create a second resource."""
    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name=REGION)
    before = len(ec2.describe_vpcs()["Vpcs"])
    first = _vpc_id(_create_vpc(endpoint, "invocation-1", attempt=1))
    retried = _vpc_id(_create_vpc(endpoint, "invocation-1", attempt=2))
    assert retried == first, "the retry must get the first attempt's answer"
    assert len(ec2.describe_vpcs()["Vpcs"]) == before + 1, "the retry created a second VPC"
    # A new call (new invocation id), or the first attempt sent again, is a new request.
    other = _vpc_id(_create_vpc(endpoint, "invocation-2", attempt=1))
    assert other != first
    assert len(ec2.describe_vpcs()["Vpcs"]) == before + 2
