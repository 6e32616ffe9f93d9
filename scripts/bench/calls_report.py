"""The report of `make bench-calls` (scripts/bench/calls.py): minima, targets, the baseline check.

Each operation's count is set against its theoretical minimum (MINIMUM, with the reasoning),
against the committed baseline (``docs/bench-calls-baseline.json``, taken from the code as it was
before the create-order restructuring of issue 17) and against the targets issue 17 set (TARGETS).
``compare`` lists every way a run falls short: a count above the baseline (unless the increase is
accepted, with its reason, in ACCEPTED_INCREASES), a target missed, a count below the minimum (the
counter lost calls), an SDK retry on an idle stack, an operation missing on either side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "docs" / "bench-calls-baseline.json"
SECTION = "## Calls per operation"

# The theoretical minimum of each operation: DynamoDB round trips and orders->catalog HTTP calls,
# for the guarantees the product keeps (idempotent create, no oversell, crash safety), and why.
MINIMUM: dict[str, tuple[int, int, str]] = {
    "product create": (1, 0, "one TransactWriteItems: the product and its unique-sku marker together"),
    "product patch": (
        1,
        0,
        "a price change: one UpdateItem conditional on the version, ReturnValues ALL_NEW "
        "(a sku change also moves the unique-sku marker, which needs the old sku first: 2)",
    ),
    "product get": (1, 0, "one GetItem"),
    "products page (20)": (1, 0, "one Query of the list index, Limit 20"),
    "order create, 1 item": (
        4,
        1,
        "claim PutItem; catalog: BatchGetItem (prices) + one TransactWriteItems (all reservations); "
        "completion TransactWriteItems; one catalog call for all lines",
    ),
    "order create, 2 items": (4, 1, "as for 1 item: independent of the number of lines"),
    "order create, 10 items": (4, 1, "as for 1 item: independent of the number of lines"),
    "order create replayed (same key)": (
        2,
        0,
        "claim PutItem refused with ReturnValuesOnConditionCheckFailure ALL_OLD (it returns the claim), "
        "then GetItem of the order",
    ),
    "order get": (1, 0, "one GetItem"),
    "orders page (customer)": (1, 0, "one Query of the customer index"),
    "order cancel, 2 items": (
        3,
        1,
        "GetItem of the order; catalog: one TransactWriteItems releasing every line; "
        "conditional UpdateItem ReturnValues ALL_NEW; one catalog call for all lines",
    ),
    "order cancel, 10 items": (3, 1, "as for 2 items: independent of the number of lines"),
}


# (DynamoDB round trips, orders->catalog calls) at most: create-order as issue 17 asks, cancel as
# the one-call release (catalog's POST /catalog/reservations/{order_id}/release) gives.
TARGETS: dict[str, tuple[int, int]] = {
    "order create, 1 item": (4, 1),
    "order create, 2 items": (4, 1),
    "order create, 10 items": (4, 1),
    "order cancel, 2 items": (6, 1),
    "order cancel, 10 items": (6, 1),
}

# Operations allowed to cost more than the baseline, and why (a deliberate change, not a regression).
ACCEPTED_INCREASES: dict[str, str] = {}


def compare(current: dict[str, dict[str, Any]], baseline: dict[str, Any] | None) -> list[str]:
    """Every way ``current`` falls short of the baseline, the targets and the minima (empty: none)."""
    before = (baseline or {}).get("operations", {})
    problems = [f"{name}: not measured (it is in the baseline)" for name in before if name not in current]
    for name, c in current.items():
        ddb_min, cat_min, _ = MINIMUM[name]
        if name not in before:
            problems.append(f"{name}: not in the baseline")
        elif name not in ACCEPTED_INCREASES:
            problems.extend(
                f"{name}: {what} {c[what]} > baseline {before[name][what]}"
                for what in ("dynamodb_total", "catalog_total")
                if c[what] > before[name][what]
            )
        ddb_max, cat_max = TARGETS.get(name, (c["dynamodb_total"], c["catalog_total"]))
        if c["dynamodb_total"] > ddb_max or c["catalog_total"] > cat_max:
            problems.append(
                f"{name}: {c['dynamodb_total']} DynamoDB / {c['catalog_total']} catalog calls, "
                f"target at most {ddb_max} / {cat_max}"
            )
        if c["dynamodb_total"] < ddb_min or c["catalog_total"] < cat_min:
            problems.append(f"{name}: below the minimum {ddb_min} / {cat_min}: calls were not counted")
        if c["retries"]:
            problems.append(f"{name}: {c['retries']} SDK retries on an idle stack")
    return problems


def _ratio(value: int, minimum: int) -> str:
    if minimum:
        return f"{value / minimum:.1f}x"
    return "-" if value == 0 else f"+{value}"


def _by_api(counts: dict[str, int]) -> str:
    return ", ".join(f"{api} {n}" for api, n in counts.items()) or "none"


def render(current: dict[str, dict[str, Any]], baseline: dict[str, Any] | None) -> list[str]:
    """The Markdown section: per operation, now / minimum / ratio, and the baseline's totals."""
    before = (baseline or {}).get("operations", {})
    lines = [
        SECTION,
        "",
        "Counted, not timed: the same on every machine. Each operation is sent alone to a private idle",
        "stack (orders' reconciler off, so nothing runs in the background); DynamoDB calls are the lines",
        "of the emulator's per-call log (scripts/emulator.py), by API; orders->catalog calls are",
        "catalog's access lines with the operation's request id. Every column but `before` is this run.",
        "Minimum = the fewest round trips that keep the guarantees (idempotent create, no oversell,",
        "crash safety); `before` = the committed baseline "
        + (f"({baseline.get('taken', '')})" if baseline else "(none yet)")
        + ". Consumed capacity: not reported by the",
        "emulator for these calls (the services do not request it; moto's figures are fixed constants),",
        "so none is shown. Command: `make bench-calls` (python scripts/bench/calls.py).",
        "",
        "| operation | DynamoDB calls by API | DynamoDB | min | ratio | DynamoDB before "
        "| catalog calls | min | ratio | catalog before |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, c in current.items():
        ddb_min, cat_min, _ = MINIMUM[name]
        old = before.get(name)
        retries = f" (+{c['retries']} SDK retries)" if c["retries"] else ""
        lines.append(
            f"| {name} | {_by_api(c['dynamodb'])}{retries} | {c['dynamodb_total']} | {ddb_min} | "
            f"{_ratio(c['dynamodb_total'], ddb_min)} | {old['dynamodb_total'] if old else '-'} | "
            f"{c['catalog_total']} | {cat_min} | {_ratio(c['catalog_total'], cat_min)} | "
            f"{old['catalog_total'] if old else '-'} |"
        )
    lines += [
        "",
        "Targets (create: issue 17; cancel: since the one-call release), at most: "
        + "; ".join(f"{name}: {d} DynamoDB, {c} catalog" for name, (d, c) in TARGETS.items())
        + ". `make bench-calls` fails when a count exceeds its target or the baseline"
        + (
            " (accepted increases: "
            + "; ".join(f"{n}: {why}" for n, why in ACCEPTED_INCREASES.items())
            + ")."
            if ACCEPTED_INCREASES
            else "."
        ),
    ]
    lines += [
        "",
        "Why each minimum (TransactWriteItems takes up to 100 actions, all or nothing: "
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html):",
        "",
    ]
    lines += [f"- {name}: {why}" for name, (_, _, why) in MINIMUM.items() if name in current]
    catalog_routes = sorted({r for c in current.values() for r in c["catalog"]})
    if catalog_routes:
        lines += [
            "",
            "orders->catalog calls by route: "
            + "; ".join(f"{name}: {_by_api(c['catalog'])}" for name, c in current.items() if c["catalog"]),
        ]
    return lines


def update_doc(path: Path, section: list[str]) -> None:
    """Replace (or append) the calls section of a generated report, leaving the rest as it was."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = [*section, ""]
    else:  # where `make bench` renders it: before the fault tests
        at = next((i for i, ln in enumerate(lines) if ln.startswith("## Fault tests")), len(lines))
        lines[at:at] = [*section, ""]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def load_baseline(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None
