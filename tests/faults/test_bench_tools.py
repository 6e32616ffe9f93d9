"""The benchmark's own tools: the wrk scenario, its result parsing and the report.

The load rows of `make bench` are only as good as these: every POST must carry its own
Idempotency-Key and two different seeded product ids, status codes and percentiles must be read
correctly, load must go to loopback only, and the overhead verdict must follow the target.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from bench import loadgen, machine
from bench import report as bench_report

from tests.support.tools import need


class _Recorder(BaseHTTPRequestHandler):
    """Answers 201 to POST and 404 to GET /missing, remembering what it received."""

    seen: ClassVar[list[tuple[str, str, bytes]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            self.seen.append(("POST", self.headers.get("Idempotency-Key", ""), body))
        self._answer(201)

    def do_GET(self) -> None:
        with self.lock:
            self.seen.append(("GET", self.path, b""))
        self._answer(404 if self.path == "/missing" else 200)

    def _answer(self, code: int) -> None:
        payload = b"{}"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:  # quiet
        return


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """wrk drops its connections when its time is up: a reset mid-request is expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@pytest.fixture
def recorder():
    need("wrk", "Debian package wrk, installed by scripts/install_system_deps.sh")
    _Recorder.seen = []
    server = _QuietServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_post_rows_use_a_new_key_and_two_different_ids_per_request(recorder: str) -> None:
    ids = ["p-1", "p-2", "p-3"]
    body = json.dumps({"items": [{"product_id": "%ID1%"}, {"product_id": "%ID2%"}]}).encode()
    result = loadgen.run_wrk(
        "post", recorder, post_path="/orders", body=body, body_ids=ids, headers={"X-Api-Key": "k"},
        duration_s=1, connections=2, threads=1,
    )  # fmt: skip
    posts = [(key, b) for method, key, b in _Recorder.seen if method == "POST"]
    keys = [key for key, _ in posts]
    assert result.requests > 10
    assert result.codes == {"201": result.requests}
    assert len(posts) >= result.requests
    assert all(keys), "a request without Idempotency-Key"
    assert len(set(keys)) == len(keys), "an Idempotency-Key was reused"
    for _, raw in posts:
        chosen = [item["product_id"] for item in json.loads(raw)["items"]]
        assert len(set(chosen)) == 2
        assert set(chosen) <= set(ids)
    assert result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms


@pytest.mark.slow
def test_get_rows_spread_over_paths_and_count_status_codes(recorder: str) -> None:
    result = loadgen.run_wrk(
        "get", recorder, paths=["/a", "/b", "/missing"], duration_s=1, connections=2, threads=1
    )
    paths = {path for method, path, _ in _Recorder.seen if method == "GET"}
    assert paths == {"/a", "/b", "/missing"}
    assert set(result.codes) == {"200", "404"}
    assert sum(result.codes.values()) == result.requests
    assert result.non_2xx == result.codes["404"]


def test_load_goes_to_loopback_only() -> None:
    for url in ("http://10.0.0.1:8080", "http://localhost.example:80", "https://127.0.0.1:443"):
        with pytest.raises(loadgen.WrkError, match="loopback only"):
            loadgen.run_wrk("x", url, paths=["/"], duration_s=1)


def _row(name: str, rps: float) -> loadgen.LoadResult:
    return loadgen.LoadResult(
        name=name, method="GET", path="/x", connections=1, duration_s=1.0, requests=int(rps), rps=rps,
        p50_ms=1.0, p95_ms=2.0, p99_ms=3.0, max_ms=4.0, codes={"200": int(rps)}, socket_errors=0,
    )  # fmt: skip


@pytest.mark.parametrize(("catalog_rps", "met"), [(950.0, True), (900.0, True), (850.0, False)])
def test_overhead_verdict_follows_the_ten_percent_target(catalog_rps: float, met: bool) -> None:
    rows = [_row(f"bare app health #{i}", 1000.0) for i in (1, 2, 3)]
    rows += [_row(f"catalog health #{i}", catalog_rps) for i in (1, 2, 3)]
    overhead = bench_report.overhead(rows)
    assert overhead["met"] is met
    assert overhead["rps_ratio"] == round(catalog_rps / 1000.0, 3)


def test_report_has_every_section() -> None:
    rows = [_row("bare app health #1", 1000.0), _row("catalog health #1", 800.0)]
    rows += [_row("direct: bare app health #1", 2000.0), _row("direct: catalog health #1", 1500.0)]
    report = bench_report.Report(
        date="2026-01-01 00:00 UTC",
        machine=machine.describe(),
        commands=["make bench"],
        duration_s=1,
        connections=1,
        loads=rows,
        overhead=bench_report.overhead(rows),
        direct_overhead=bench_report.overhead(rows, "direct: "),
        load_before=0.5,
        load_after=1.5,
        inprocess={"bare app health": {"cpu_us": 30.0}, "catalog health": {"cpu_us": 90.0}},
        calls={
            "order get": {
                "dynamodb": {"GetItem": 1},
                "dynamodb_total": 1,
                "retries": 0,
                "catalog": {},
                "catalog_total": 0,
            }
        },
        cold_starts=[bench_report.ColdStart(what="catalog: process start to ready", runs_s=[0.5, 0.7, 0.6])],
        image_sizes=[("localhost/storefront-catalog:local", 138.5, 5)],
        timings=[
            bench_report.Timing(what="make up", command="make up", seconds=None, note="failed (exit 1)")
        ],
        faults={"retry_storm": {"copies": 50}},
        notes=["a note"],
        inprocess_load=4.5,
    )
    text = bench_report.render(report)
    for heading in (
        "## Load through the edge",
        "## Middleware overhead",
        "## Cold start",
        "## Calls per operation",
        "## Fault tests",
    ):
        assert heading in text
    assert "**NOT met**" in text
    assert "catalog costs 3.0x the bare app" in text
    assert "| catalog: process start to ready | 0.50, 0.70, 0.60 | 0.60 |" in text
    assert '`retry_storm`: `{"copies": 50}`' in text
    assert "- localhost/storefront-catalog:local: 138.5 MB, 5 layers" in text
    assert f"{report.machine.nproc} CPUs" in text
    assert "load average (1 min) as it began: 4.5; busy machine (load > 3)" in text
