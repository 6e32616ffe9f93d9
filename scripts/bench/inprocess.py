"""CPU time per request of ASGI apps, called in-process (no socket, no server, no edge).

Throughput on a shared 2-CPU machine moves with whatever else runs; CPU time spent inside the
app per request moves much less, so it shows where the cost of our service stack comes from.

Usage (run by scripts/bench/run.py with a service's environment and PYTHONPATH)::

    python scripts/bench/inprocess.py NAME=MODULE:APP=PATH [...]

(``MODULE:FACTORY()`` instead of ``MODULE:APP``: the app a factory returns, like the services'.)
With ``--calls N`` (one target) it only makes WARMUP requests and then N, printing nothing: the
run scripts/bench/instructions.py counts under callgrind.

Prints one JSON object: {NAME: {"cpu_us": ..., "wall_us": ...}} for a GET of PATH: the median of
ROUNDS rounds, the targets interleaved (A B C A B C ...) so that every target sees the same share of
whatever else the machine is doing; differences between targets are then same-run comparisons.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import statistics
import sys
import time
from typing import Any

REQUESTS = 2000  # per round and target
ROUNDS = 5
WARMUP = 300


async def _measure(app: Any, path: str, count: int) -> tuple[float, float]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        await app(scope, receive, send)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if set(statuses) != {200}:
        raise RuntimeError(f"GET {path} answered {sorted(set(statuses))}")
    return cpu / count * 1e6, wall / count * 1e6


async def _interleaved(apps: dict[str, tuple[Any, str]]) -> dict[str, dict[str, float]]:
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    for app, path in apps.values():
        await _measure(app, path, WARMUP)
    for _ in range(ROUNDS):
        for name, (app, path) in apps.items():
            runs[name].append(await _measure(app, path, REQUESTS))
    return {
        name: {
            "cpu_us": round(statistics.median(cpu for cpu, _ in r), 1),
            "wall_us": round(statistics.median(wall for _, wall in r), 1),
        }
        for name, r in runs.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", help="NAME=MODULE:APP=PATH or NAME=MODULE:FACTORY()=PATH")
    parser.add_argument("--calls", type=int, default=None, help="warm up, make N requests, print nothing")
    args = parser.parse_args(argv)
    if args.calls is not None and (args.calls < 0 or len(args.targets) != 1):
        parser.error("--calls takes a count >= 0 and exactly one target")
    from svc_common.logs import configure_logging  # the services' logging, as when served

    configure_logging(os.environ.get("LOG_LEVEL", "INFO"))
    with open(os.devnull, "w") as devnull:
        for handler in [*logging.getLogger().handlers, *logging.getLogger("access").handlers]:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)  # log lines are produced, their output discarded
        apps = {}
        for target in args.targets:
            name, app_ref, path = target.split("=", 2)
            module, attr = app_ref.split(":", 1)
            factory = attr.endswith("()")  # an app factory (the services'): call it once
            target = getattr(importlib.import_module(module), attr.removesuffix("()"))
            apps[name] = (target() if factory else target, path)
        if args.calls is not None:
            ((app, path),) = apps.values()
            asyncio.run(_warm_then(app, path, args.calls))
            return 0
        out = asyncio.run(_interleaved(apps))
    print(json.dumps(out))
    return 0


async def _warm_then(app: Any, path: str, count: int) -> None:
    await _measure(app, path, WARMUP)
    if count:
        await _measure(app, path, count)


if __name__ == "__main__":
    sys.exit(main())
