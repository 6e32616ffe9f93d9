"""Run one load scenario with wrk (Debian package) and parse its result.

wrk is driven by ``wrk_scenario.lua``, whose ``done()`` prints one ``WRK_JSON {...}`` line with the
request count, the status codes seen, the socket errors and the p50/p95/p99 latency. Every run is
bounded: a fixed duration, a fixed number of connections and a subprocess timeout.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from pydantic import BaseModel

SCENARIO = Path(__file__).resolve().with_name("wrk_scenario.lua")


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed no result."""


class LoadResult(BaseModel):
    """What one wrk run measured."""

    name: str
    method: str
    path: str
    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    codes: dict[str, int]
    socket_errors: int

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.codes.items() if not code.startswith("2"))


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkError("wrk not found: run `bash scripts/install_system_deps.sh` (Debian package wrk)")
    return path


def run_wrk(
    name: str,
    base_url: str,
    *,
    paths: list[str] | None = None,
    post_path: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    body_ids: list[str] | None = None,
    duration_s: int = 8,
    connections: int = 16,
    threads: int = 2,
) -> LoadResult:
    """GET a random path of ``paths`` per request, or POST ``body`` to ``post_path``.

    POSTs carry ``headers`` and a unique Idempotency-Key per request; ``%ID1%`` and ``%ID2%`` in
    ``body`` become two different random entries of ``body_ids``.
    """
    if not base_url.startswith("http://127.0.0.1:"):
        raise WrkError(f"load goes to loopback only, not {base_url}")
    if (paths is None) == (post_path is None):
        raise WrkError("give either paths (GET) or post_path (POST)")
    argv = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "5s",
        "-s",
        str(SCENARIO),
        base_url,
        "--",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if paths is not None:
            argv += ["get", *paths]
            method, shown = "GET", paths[0] if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} more)"
        else:
            assert post_path is not None
            body_file = Path(tmp) / "body.json"
            body_file.write_bytes(body or b"{}")
            nonce = uuid.uuid4().hex[:12]
            argv += ["post", post_path, str(body_file), nonce, ",".join(body_ids or []) or "-"]
            argv += [f"{k}={v}" for k, v in (headers or {}).items()]
            method, shown = "POST", post_path
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 30, check=False)
        except subprocess.TimeoutExpired as exc:
            raise WrkError(f"wrk did not finish within {duration_s + 30}s") from exc
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise WrkError(f"wrk failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-400:]}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    lat = data["latency_us"]
    duration = data["duration_us"] / 1e6
    errors = data["errors"]
    return LoadResult(
        name=name,
        method=method,
        path=shown,
        connections=connections,
        duration_s=round(duration, 2),
        requests=data["requests"],
        rps=round(data["requests"] / duration, 1) if duration else 0.0,
        p50_ms=lat["p50"] / 1000,
        p95_ms=lat["p95"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        codes=dict(sorted(data["codes"].items())),
        socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
    )
