"""Cost per operation: DynamoDB calls (by API) and orders->catalog HTTP calls, counted from logs.

Timings on a shared machine against a serialized emulator say little about production; counts do:
they are the same on every machine. Each operation of the product (create an order with 1, 2 and
10 items, get it, list a page, cancel it, create/patch/get/list products) is sent alone to a
private, otherwise idle stack (scripts/bench/stack.py), and then:

- DynamoDB calls are the new lines of the emulator's per-call log (scripts/emulator.py writes one
  line per API call: action, attempt, status), grouped by API; SDK retries (attempt > 1) are
  counted apart, since a quiet emulator should see none;
- orders->catalog HTTP calls are catalog's access-log lines carrying the request id of the
  operation (orders forwards X-Request-Id), grouped by route.

Each count is set against the theoretical minimum of the operation, the targets of issue 17 and a
committed baseline (``docs/bench-calls-baseline.json``, taken from the code as it was before the
create-order restructuring of issue 17), so the same command shows before and after and fails
when a count regresses (scripts/bench/calls_report.py: MINIMUM, TARGETS, ``compare``).

AWS facts the minima rely on: TransactWriteItems groups up to 100 actions, all or nothing
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html); a refused
conditional write returns the existing item with ReturnValuesOnConditionCheckFailure=ALL_OLD
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html).

Consumed capacity: the emulator does not report it for these calls. The services do not ask for
``ReturnConsumedCapacity``, and moto, when asked, answers fixed figures (1.0 for every PutItem or
Query whatever the item size, nothing for TransactWriteItems), so a capacity column from it would
be invented. Calls by API are the faithful count; capacity follows from them and the item sizes.

Usage::

    python scripts/bench/calls.py [--baseline PATH] [--write-baseline PATH] [--update-doc PATH]

``make bench-calls`` runs it (about 20 s); ``make bench`` includes the same section in its report.
Exit codes: 0 counted and no count above the baseline or a target, 1 a step failed or a count
fell short (one line each says which), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT / "scripts", ROOT / "services" / "common"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import httpx  # noqa: E402

from bench.calls_report import (  # noqa: E402  # re-exported: bench/run.py renders the same section
    BASELINE,
    MINIMUM,
    SECTION,
    compare,
    load_baseline,
    render,
    update_doc,
)

CATALOG_PRODUCTS = 25  # more than one page of 20, so the page is full
LOG_SETTLE_S = 5.0  # how long to wait for an operation's last access-log line

# One emulator log line (scripts/emulator.py, Serialized): "HH:MM:SS POST / <action> attempt N -> 200 ..."
_LINE = re.compile(
    r"^\d\d:\d\d:\d\d (?P<method>[A-Z]+) (?P<path>\S*) (?P<action>\S+) "
    r"attempt (?P<attempt>\d+) -> (?P<status>\S+)"
)
_DYNAMODB_PREFIX = "DynamoDB_20120810."


@dataclass(frozen=True)
class EmulatorCall:
    """One line of the emulator's per-call log."""

    action: str  # "DynamoDB_20120810.PutItem", "secretsmanager.GetSecretValue", "CreateVpc", "-"
    attempt: int
    status: str

    @property
    def dynamodb_api(self) -> str | None:
        return self.action[len(_DYNAMODB_PREFIX) :] if self.action.startswith(_DYNAMODB_PREFIX) else None


def parse_emulator_line(line: str) -> EmulatorCall | None:
    """The call a line of the emulator log records; None for any other line."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    return EmulatorCall(match["action"], int(match["attempt"]), match["status"])


@dataclass
class Count:
    """What one operation cost."""

    dynamodb: Counter[str] = field(default_factory=Counter)  # API -> first attempts
    retries: int = 0  # attempts > 1 of DynamoDB calls
    other_aws: Counter[str] = field(default_factory=Counter)  # non-DynamoDB actions
    catalog: Counter[str] = field(default_factory=Counter)  # catalog route -> calls from orders

    @property
    def dynamodb_total(self) -> int:
        return sum(self.dynamodb.values())

    @property
    def catalog_total(self) -> int:
        return sum(self.catalog.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "dynamodb": dict(sorted(self.dynamodb.items())),
            "dynamodb_total": self.dynamodb_total,
            "retries": self.retries,
            "other_aws": dict(sorted(self.other_aws.items())),
            "catalog": dict(sorted(self.catalog.items())),
            "catalog_total": self.catalog_total,
        }


def count_emulator_lines(lines: Iterable[str], into: Count | None = None) -> Count:
    """Count the calls recorded in emulator log lines (other lines are ignored)."""
    out = into or Count()
    for line in lines:
        call = parse_emulator_line(line)
        if call is None:
            continue
        api = call.dynamodb_api
        if api is None:
            out.other_aws[call.action] += 1
        elif call.attempt > 1:
            out.retries += 1
        else:
            out.dynamodb[api] += 1
    return out


def count_access_lines(lines: Iterable[str], request_id: str, into: Count) -> Count:
    """Count a service's access-log lines of one request id, by route."""
    for line in lines:
        if request_id not in line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("type") == "access" and doc.get("request_id") == request_id:
            into.catalog[str(doc.get("route"))] += 1
    return into


class LogTail:
    """The lines appended to a log file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_lines(self) -> list[str]:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        cut = data.rfind(b"\n") + 1  # a partly written last line waits for the next read
        self.offset += cut
        return data[:cut].decode("utf-8", "replace").splitlines()


# ---------------------------------------------------------------------------------------------
# The operations, against a running private stack


class Operations:
    """Sends each operation alone to a stack and counts what it cost."""

    def __init__(self, s: Any) -> None:  # s: bench.stack.Stack
        self.s = s
        logs = s.settings.logs
        self.moto = LogTail(logs / "moto.log")
        self.catalog_log = LogTail(logs / "catalog.log")
        self.orders_log = LogTail(logs / "orders.log")
        self.http = httpx.Client(timeout=30)
        self.keys = {name: s.api_key(name) for name in ("catalog", "orders")}
        self.results: dict[str, Count] = {}

    def close(self) -> None:
        self.http.close()

    def _send(self, name: str, service: str, method: str, path: str, **kw: Any) -> httpx.Response:
        request_id = f"calls-{uuid.uuid4().hex}"
        self.moto.new_lines()
        self.catalog_log.new_lines()
        own = self.catalog_log if service == "catalog" else self.orders_log
        if own is not self.catalog_log:
            own.new_lines()
        headers = {"X-Request-Id": request_id, **kw.pop("headers", {})}
        r = self.http.request(method, self.s.service_url(service) + path, headers=headers, **kw)
        if r.status_code >= 300:
            raise RuntimeError(f"{name}: {method} {path} answered HTTP {r.status_code}: {r.text[:200]}")
        count = Count()
        # The operation is over once its own access line is written (after the answer is sent).
        own_lines: list[str] = []
        deadline = time.monotonic() + LOG_SETTLE_S
        while not any(request_id in ln for ln in own_lines) and time.monotonic() < deadline:
            time.sleep(0.02)
            own_lines += own.new_lines()
        if not any(request_id in ln for ln in own_lines):
            raise RuntimeError(f"{name}: no access line for request {request_id} in {own.path.name}")
        if service == "orders":
            time.sleep(0.1)  # catalog's lines of this request were written before orders answered
            count_access_lines(self.catalog_log.new_lines(), request_id, count)
        count_emulator_lines(self.moto.new_lines(), count)
        self.results[name] = count
        return r

    def product(self, sku: str, name: str = "") -> dict[str, Any]:
        body = {"sku": sku, "name": f"Calls product {sku}", "price": "4.20", "currency": "EUR", "stock": 1000}
        headers = {"X-Api-Key": self.keys["catalog"]}
        if name:
            return self._send(name, "catalog", "POST", "/catalog/products", json=body, headers=headers).json()
        r = self.http.post(self.s.service_url("catalog") + "/catalog/products", json=body, headers=headers)
        r.raise_for_status()
        return r.json()

    def order(self, name: str, product_ids: list[str], key: str | None = None) -> dict[str, Any]:
        body = {
            "customer_id": "calls-customer",
            "items": [{"product_id": p, "quantity": 1} for p in product_ids],
        }
        headers = {"X-Api-Key": self.keys["orders"], "Idempotency-Key": key or uuid.uuid4().hex}
        return self._send(name, "orders", "POST", "/orders", json=body, headers=headers).json()

    def run(self) -> dict[str, Count]:
        run_id = uuid.uuid4().hex[:8]
        ids = [self.product(f"CALLS-{run_id}-{i:03d}")["id"] for i in range(CATALOG_PRODUCTS)]
        created = self.product(f"CALLS-{run_id}-NEW", name="product create")
        pid = created["id"]
        r = self._send("product get", "catalog", "GET", f"/catalog/products/{pid}")
        self._send(
            "product patch",
            "catalog",
            "PATCH",
            f"/catalog/products/{pid}",
            json={"price": "5.10"},
            headers={"X-Api-Key": self.keys["catalog"], "If-Match": r.headers["ETag"]},
        )
        self._send("products page (20)", "catalog", "GET", "/catalog/products?limit=20")
        self.order("warm-up order", ids[:2])  # first-use costs (connections) stay out of the rows
        del self.results["warm-up order"]
        orders = {k: self.order(f"order create, {k} item{'s' if k > 1 else ''}", ids[:k]) for k in (1, 2, 10)}
        key = uuid.uuid4().hex
        self.order("warm-up replay source", ids[:1], key=key)
        del self.results["warm-up replay source"]
        self.order("order create replayed (same key)", ids[:1], key=key)
        headers = {"X-Api-Key": self.keys["orders"]}  # order reads are private too
        self._send("order get", "orders", "GET", f"/orders/{orders[2]['id']}", headers=headers)
        page = "/orders?customer_id=calls-customer&limit=20"
        self._send("orders page (customer)", "orders", "GET", page, headers=headers)
        for k in (2, 10):
            self._send(
                f"order cancel, {k} items",
                "orders",
                "POST",
                f"/orders/{orders[k]['id']}/cancel",
                headers=headers,
            )
        return {name: self.results[name] for name in MINIMUM if name in self.results}


# orders' reconciler works in the background (a lease PutItem and a Query of due work every
# interval): its calls belong to no operation, so it is off while operations are counted.
QUIET_ORDERS_ENV = {"RECONCILER_ENABLED": "false"}


def measure(s: Any) -> dict[str, dict[str, Any]]:
    """Every operation of MINIMUM against the running stack ``s``: its counts as plain data.

    orders' replicas run without their reconciler meanwhile (restarted before and after), so the
    counts are the same on every run."""
    replicas = range(len(s.replicas["orders"]))
    for index in replicas:
        s.start_replica("orders", index, QUIET_ORDERS_ENV)
    ops = Operations(s)
    try:
        return {name: c.as_dict() for name, c in ops.run().items()}
    finally:
        ops.close()
        for index in replicas:
            s.start_replica("orders", index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="counts to compare with")
    parser.add_argument("--write-baseline", type=Path, help="also save these counts as a baseline")
    parser.add_argument("--update-doc", type=Path, help=f"replace the '{SECTION}' section of this report")
    args = parser.parse_args(argv)
    from bench import stack  # imports boto3 and the local stack: not needed to parse logs

    try:
        with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp, stack.running(Path(tmp)) as s:
            current = measure(s)
    except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
        print(f"bench-calls: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    baseline = load_baseline(args.baseline)
    section = render(current, baseline)
    print("\n".join(section))
    problems = compare(current, baseline)
    if args.write_baseline:
        taken = time.strftime("%Y-%m-%d", time.gmtime())
        data = {"taken": f"{taken}, {_git_head()}", "command": "make bench-calls", "operations": current}
        args.write_baseline.write_text(json.dumps(data, indent=2) + "\n")
    if args.update_doc:
        update_doc(args.update_doc, section)
    for problem in problems:
        print(f"bench-calls: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _git_head() -> str:
    """``commit abc1234`` of the working copy (what the baseline was taken from)."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=commit %h"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "commit unknown"


if __name__ == "__main__":
    sys.exit(main())
