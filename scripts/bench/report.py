"""The `make bench` report: its data (pydantic models) and its Markdown rendering (docs/benchmarks.md)."""

from __future__ import annotations

import json
import statistics
from typing import Any

from pydantic import BaseModel

from bench import calls, loadgen, machine

OVERHEAD_TARGET = 0.10  # catalog health may cost at most 10% of the bare app's throughput
MIDDLEWARE_US_TARGET = 10.0  # CPU our middleware and its access line may add to a logged request
HEALTH_ROUNDS = 3  # interleaved rows of the bare app's and catalog's health through the edge


# docs/benchmarks.md ends with the test suite's seconds per folder, a block written by `make
# suite-report` (tests/support/suite_report.py) after a full `make test`; `make bench` keeps it.
SUITE_BEGIN = "<!-- suite-time: written by make suite-report -->"
SUITE_END = "<!-- /suite-time -->"


def say(msg: str) -> None:
    print(msg, flush=True)


def suite_block(text: str) -> str:
    """The suite-time block of a benchmarks document (markers included), or "" when it has none."""
    start = text.find(SUITE_BEGIN)
    end = text.find(SUITE_END, start + 1)
    return text[start : end + len(SUITE_END)] if start >= 0 and end > start else ""


def with_suite_block(text: str, block: str) -> str:
    """``text`` with its suite-time block replaced by ``block`` (appended when it has none)."""
    if not block:
        return text
    old = suite_block(text)
    if old:
        return text.replace(old, block)
    return text.rstrip("\n") + "\n\n" + block + "\n"


FAULTS_TEXT = [
    "Part of `make test` (marked slow), each on its own stack on free ports; run alone with",
    "`.venv/bin/pytest -n 2 --dist loadfile tests/faults`. What each one proves:",
    "",
    "- `emulator_outage`: the AWS emulator is killed under load: every call needing DynamoDB answers 503",
    "  with Retry-After (never 500, never a hang), ready is 503 and health 200; moto is restarted on the",
    "  same port and the tables recreated by the local stack's provisioning (a restarted moto has no",
    "  state; real DynamoDB keeps tables through an outage, so re-applying the infrastructure is the",
    "  equivalent); the same service processes then serve again by themselves.",
    "- `catalog_crash`: catalog is SIGKILLed while orders are placed: orders answer 503 quickly; after",
    "  catalog returns and clients retry with the same Idempotency-Key, for every product stock + active",
    "  reservations = initial stock, every confirmed order holds exactly its reservations, every active",
    "  reservation belongs to a confirmed order, and each request produced exactly one order.",
    "- `replica_failover`: two catalog replicas behind the edge, one SIGKILLed mid-load: after the",
    "  edge's health-check window every read succeeds on the survivor; failed reads in the window are",
    "  counted and asserted zero (the generated edge config retries another replica: `lb_try_duration`).",
    "- `sigterm`: SIGTERM under load: a request whose body is still arriving completes (201, stored),",
    "  every request the service logged was answered, new connections are refused, exit 0 within the",
    "  grace period.",
    "- `retry_storm`: 50 concurrent copies of one POST /orders (same Idempotency-Key) create exactly",
    "  one order; stock taken once.",
    "- `hostile_input`: oversized/invalid/deep JSON, wrong types, traversal, header injection, malformed",
    "  HTTP and huge query strings at the edge get 4xx, no process restarts, no table item count changes.",
]


class ColdStart(BaseModel):
    what: str
    runs_s: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs_s) if self.runs_s else float("nan")


class Timing(BaseModel):
    what: str
    command: str
    seconds: float | None
    note: str = ""


class Report(BaseModel):
    date: str
    machine: machine.Machine
    commands: list[str]
    duration_s: int
    connections: int
    loads: list[loadgen.LoadResult]
    overhead: dict[str, Any]
    direct_overhead: dict[str, Any]
    load_before: float
    load_after: float
    inprocess: dict[str, dict[str, float]]
    calls: dict[str, dict[str, Any]]
    cold_starts: list[ColdStart]
    image_sizes: list[tuple[str, float, int]]  # (image, MB, layers) of `make image-report`
    timings: list[Timing]
    faults: dict[str, Any]
    notes: list[str]
    inprocess_load: float | None = None  # load average (1 min) as the in-process part began
    instructions: dict[str, int] = {}  # instructions per request (callgrind), bench.instructions
    instructions_text: str = ""  # its summary line, or why it was not measured


def overhead(results: list[loadgen.LoadResult], prefix: str = "") -> dict[str, Any]:
    bare = [r for r in results if r.name.startswith(prefix + "bare app health")]
    ours = [r for r in results if r.name.startswith(prefix + "catalog health")]
    bare_rps = statistics.median(r.rps for r in bare)
    our_rps = statistics.median(r.rps for r in ours)
    bare_p50 = statistics.median(r.p50_ms for r in bare)
    our_p50 = statistics.median(r.p50_ms for r in ours)
    ratio = our_rps / bare_rps if bare_rps else 0.0
    return {
        "bare_rps": round(bare_rps, 1),
        "catalog_rps": round(our_rps, 1),
        "rps_ratio": round(ratio, 3),
        "bare_p50_ms": round(bare_p50, 3),
        "catalog_p50_ms": round(our_p50, 3),
        "throughput_cost_pct": round((1 - ratio) * 100, 1),
        "target_pct": OVERHEAD_TARGET * 100,
        "met": ratio >= 1 - OVERHEAD_TARGET,
    }


def _inprocess_load(load: float | None) -> str:
    if load is None:
        return ""
    busy = "; busy machine (load > 3): other work makes these numbers noisy" if load > 3 else ""
    return f"; load average (1 min) as it began: {load}{busy}"


def _cpu_ratio(inproc: dict[str, dict[str, float]]) -> str:
    bare = inproc.get("bare app health", {}).get("cpu_us")
    ours = inproc.get("catalog health", {}).get("cpu_us")
    logged = inproc.get("bare app behind our middleware, logged", {}).get("cpu_us")
    parts = []
    if bare and ours:
        parts.append(f"catalog costs {ours / bare:.1f}x the bare app")
    if bare and logged:
        added = logged - bare
        verdict = "met" if added <= MIDDLEWARE_US_TARGET else "NOT met"
        parts.append(
            f"our middleware with its access line adds {added:.1f} µs to a logged request; "
            f"target <= {MIDDLEWARE_US_TARGET:.0f} µs: **{verdict}**"
        )
    if parts:
        parts.append(
            "the health route measured here is a liveness probe: answered OK, it writes no access line"
        )
    return f" ({'; '.join(parts)})" if parts else ""


def inprocess_line(inproc: dict[str, dict[str, float]], load: float | None) -> str:
    """The report's line of CPU microseconds per request in-process, with the load it ran under."""
    return (
        "- CPU per health request inside the app (in-process ASGI calls, no socket, no edge; median of "
        "interleaved rounds, much less sensitive to other work on the machine): "
        + ", ".join(f"{k} {v['cpu_us']} µs" for k, v in inproc.items())
        + _cpu_ratio(inproc)
        + _inprocess_load(load)
    )


def instructions_line(text: str) -> str:
    """The report's line of instructions per request (bench.instructions' summary, or why not)."""
    return (
        "- Instructions per health request inside the app (callgrind, scripts/bench/instructions.py: "
        "deterministic whatever the load; user-space instructions, not time): "
        + (text or "not measured by this run")
    )


def _fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def render(report: Report) -> str:
    m = report.machine
    o = report.overhead
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (scripts/bench/run.py); do not edit by hand, run it again.",
        "Numbers describe one run on the machine below; they are printed and recorded, never asserted.",
        "Load goes to loopback only; the load generator, the edge, the services and the AWS emulator",
        "share the same CPUs, so absolute numbers are far below what a real deployment does: compare",
        "rows of one run with each other, not with production.",
        "",
        f"- Date: {report.date}",
        f"- Machine: {m.nproc} CPUs ({m.cpu_model}), {m.memory_gib} GiB memory, {m.os}, kernel {m.kernel}",
        f"- Python {m.python}, {m.wrk}, Caddy {m.caddy}",
        f"- Load: wrk, {report.connections} connections, 2 threads, {report.duration_s} s per row, "
        "through the local edge (Caddy) to services started by `python -m svc_common.serve`, "
        "DynamoDB in the moto emulator",
        "",
        "Commands:",
        "",
        "```bash",
        *report.commands,
        "```",
        "",
        "## Load through the edge",
        "",
        "| scenario | request | req/s | p50 ms | p95 ms | p99 ms | max ms | status codes | socket errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in report.loads:
        codes = ", ".join(f"{k}: {v}" for k, v in r.codes.items())
        lines.append(
            f"| {r.name} | {r.method} {r.path} | {r.rps:.1f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.max_ms:.2f} | {codes} | {r.socket_errors} |"
        )
    verdict = "met" if o["met"] else "NOT met"
    d = report.direct_overhead
    lines += [
        "",
        "## Middleware overhead (same run, same server runner, same edge)",
        "",
        f"- Bare FastAPI app health: {o['bare_rps']} req/s, p50 {o['bare_p50_ms']} ms "
        f"(median of {HEALTH_ROUNDS} interleaved rows)",
        f"- catalog health: {o['catalog_rps']} req/s, p50 {o['catalog_p50_ms']} ms "
        f"(median of {HEALTH_ROUNDS} interleaved rows)",
        f"- catalog / bare throughput through the edge: {o['rps_ratio']} (cost {o['throughput_cost_pct']}%); "
        f"target: within {o['target_pct']:.0f}% of the bare app: **{verdict}**",
        f"- Without the edge (straight to the processes): bare {d['bare_rps']} req/s, catalog "
        f"{d['catalog_rps']} req/s, ratio {d['rps_ratio']} (cost {d['throughput_cost_pct']}%)",
        inprocess_line(report.inprocess, report.inprocess_load),
        instructions_line(report.instructions_text),
        f"- Machine load average (1 min) before / after the load rows: {report.load_before} / "
        f"{report.load_after} on {m.nproc} CPUs; other work on the machine makes rows noisy.",
        "",
        "## Cold start",
        "",
        "| what | runs (s) | median (s) | note |",
        "| --- | --- | ---: | --- |",
    ]
    for c in report.cold_starts:
        runs = ", ".join(f"{x:.2f}" for x in c.runs_s) or "-"
        median = _fmt(c.median) if c.runs_s else "-"
        lines.append(f"| {c.what} | {runs} | {median} | {c.note} |")
    lines += ["", "Image sizes (`make image-report`; MB = 10^6 bytes, uncompressed):", ""]
    lines += [f"- {name}: {mb} MB, {layers} layers" for name, mb, layers in report.image_sizes] or [
        "- not measured: podman is not available or no image is built (`make images`)"
    ]
    lines += [
        "",
        "## Local stack and test suite",
        "",
        "| what | command | seconds | note |",
        "| --- | --- | ---: | --- |",
    ]
    for t in report.timings:
        lines.append(f"| {t.what} | `{t.command}` | {_fmt(t.seconds)} | {t.note} |")
    lines += ["", *calls.render(report.calls, calls.load_baseline(calls.BASELINE))]
    lines += ["", "## Fault tests (tests/faults)", "", *FAULTS_TEXT]
    if report.faults:
        lines += [
            "",
            "Figures of this run (each test also writes them to test-output/faults/<name>.json):",
            "",
        ]
        for name, data in report.faults.items():
            lines.append(f"- `{name}`: `{json.dumps(data, separators=(', ', ': '))}`")
    else:
        lines += ["", "Fault tests were not run by this bench run (add BENCH_ARGS=--with-faults)."]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"
