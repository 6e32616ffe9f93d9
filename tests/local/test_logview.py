"""`make logs` is readable by a person; the files keep the JSON lines (fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tooling import logview

from tests.support.tools import REPO_ROOT

EMF = {
    "Service": "catalog",
    "Requests": 1,
    "Latency": 44.84,
    "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "storefront", "Metrics": []}]},
}
ACCESS = {
    "time": "2026-12-05T17:10:19.206Z",
    "level": "INFO",
    "logger": "access",
    "message": "request",
    "service": "catalog",
    "environment": "local",
    "request_id": "3a94f7ae51319885602445b1c5155ab6",  # per-process prefix + counter
    "type": "access",
    "method": "GET",
    "path": "/catalog/products",
    "route": "GET /catalog/products",
    "status": 200,
    "latency_ms": 44.84,
    **EMF,
}
STARTED = {
    "time": "2026-12-05T17:10:18.999Z",
    "level": "INFO",
    "logger": "svc_common.app",
    "message": "service started",
    "service": "catalog",
    "environment": "local",
    "table": "storefront-local-catalog",
}
CADDY_ACCESS = {
    "level": "info",
    "ts": 1796490621.1761231,
    "logger": "http.log.access.log0",
    "msg": "handled request",
    "request": {
        "method": "GET",
        "uri": "/catalog/products?limit=5&cursor=abc",
        "headers": {"Accept": ["*/*"]},
    },
    "duration": 0.000365554,
    "status": 200,
    "resp_headers": {"Content-Security-Policy": ["default-src 'none'"]},
}


def test_service_and_edge_lines_are_short_and_keep_what_matters() -> None:
    # The shown part of the request id is its tail: ids of one process share their head.
    second = logview.human(json.dumps({**ACCESS, "request_id": ACCESS["request_id"][:-1] + "7"}), "catalog")
    assert second.endswith("req=c5155ab7")
    access = logview.human(json.dumps(ACCESS), "catalog")
    assert access == "17:10:19.206 INFO  catalog  GET /catalog/products 200 44.8 ms  req=c5155ab6"
    started = logview.human(json.dumps(STARTED), "catalog")
    assert started == (
        "17:10:18.999 INFO  catalog  svc_common.app: service started  table=storefront-local-catalog"
    )
    edge = logview.human(json.dumps(CADDY_ACCESS), "edge")
    assert edge == "17:10:21.176 INFO  edge     GET /catalog/products 200 0.4 ms"
    assert "limit=" not in edge, "no query string"
    assert logview.human("\x1b[33mPress CTRL+C to quit\x1b[0m", "moto") == "Press CTRL+C to quit"
    for odd in ("not json", "[1, 2]", '{"time": 5, "message": "x"}', '{"ts": "x", "msg": "y"}'):
        assert isinstance(logview.human(odd, "x"), str)


def test_make_logs_is_readable_by_default_and_json_on_request(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [json.dumps(STARTED), json.dumps(ACCESS)]
    (logs / "catalog.log").write_text("\n".join(lines) + "\n")

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "localstack.py"), "logs", *args, "catalog"],
            env={"PATH": "/usr/bin:/bin", "LOCAL_STATE_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    readable = run()
    assert "GET /catalog/products 200 44.8 ms" in readable
    assert "_aws" not in readable
    assert max(len(line) for line in readable.splitlines()) < 120
    assert run("--json").splitlines()[1:] == lines, "JSON=1 shows the lines as stored"
    assert (logs / "catalog.log").read_text().splitlines() == lines, "the file keeps its JSON"
