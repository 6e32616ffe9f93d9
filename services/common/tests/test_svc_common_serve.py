"""svc_common.serve and svc_common.healthcheck as real processes: graceful SIGTERM, health checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.procs import Proc, free_port, wait_http
from tests.support.tools import output_dir

pytestmark = pytest.mark.slow
COMMON = Path(__file__).resolve().parents[1]

SLOW_APP = textwrap.dedent(
    """
    import asyncio
    from fastapi import FastAPI

    app = FastAPI()


    def create_app():
        return app


    @app.get("/demo/health")
    async def health():
        return {"status": "ok"}

    @app.get("/demo/slow")
    async def slow(seconds: float):
        await asyncio.sleep(seconds)
        return {"slept": seconds}
    """
)


@pytest.fixture
def slow_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Proc, str, int]]:
    grace = getattr(request, "param", 6)
    (tmp_path / "slowapp.py").write_text(SLOW_APP)
    port = free_port()
    env = {
        "PYTHONPATH": os.pathsep.join([str(COMMON), str(tmp_path)]),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "SHUTDOWN_GRACE_SECONDS": str(grace),
        "HEALTH_PATH": "/demo/health",
    }
    proc = Proc(
        [sys.executable, "-m", "svc_common.serve", "slowapp:create_app"],
        output_dir("logs") / f"slow-{port}.log",
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/demo/health", timeout=30)
    yield proc, url, port
    proc.stop()


def _request_in_background(url: str) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            result["response"] = httpx.get(url, timeout=30)
        except httpx.HTTPError as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_sigterm_lets_in_flight_requests_finish_then_exits_0(slow_server) -> None:
    proc, url, _ = slow_server
    thread, result = _request_in_background(url + "/demo/slow?seconds=2")
    time.sleep(0.7)  # the request is in flight
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    time.sleep(0.5)
    # New connections are refused while the old request is still running.
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/demo/health", timeout=2)
    thread.join(10)
    assert "response" in result, result
    assert result["response"].status_code == 200
    assert result["response"].json() == {"slept": 2.0}
    assert proc.popen.wait(10) == 0
    assert time.monotonic() - started < 6


@pytest.mark.parametrize("slow_server", [3], indirect=True)
def test_requests_longer_than_the_grace_do_not_delay_exit(slow_server) -> None:
    proc, url, _ = slow_server
    thread, result = _request_in_background(url + "/demo/slow?seconds=30")
    time.sleep(0.7)
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    code = proc.popen.wait(10)
    elapsed = time.monotonic() - started
    thread.join(10)
    assert code == 0
    # Within SHUTDOWN_GRACE_SECONDS (3): uvicorn cancels the request after 2 s; 1 s spare for
    # the process to exit on a busy machine.
    assert elapsed < 3.0 + 1.0
    assert "response" not in result or result["response"].status_code >= 500


def test_healthcheck_reports_the_health_endpoint(slow_server) -> None:
    _, _, port = slow_server

    def healthcheck(port_value: str, path: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(COMMON), "PORT": port_value, "HEALTH_PATH": path}
        return subprocess.run(
            [sys.executable, "-m", "svc_common.healthcheck"],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )

    ok = healthcheck(str(port), "/demo/health")
    assert ok.returncode == 0, ok.stderr
    wrong_path = healthcheck(str(port), "/demo/nothing")
    assert wrong_path.returncode == 1
    assert "HTTP 404" in wrong_path.stderr
    closed = healthcheck(str(free_port()), "/demo/health")
    assert closed.returncode == 1
    assert "refused" in closed.stderr.lower()
    bad = healthcheck("eighty", "/demo/health")
    assert bad.returncode == 1
    assert "PORT" in bad.stderr
    slow = healthcheck(str(port), "/demo/slow?seconds=3")
    assert slow.returncode == 1
    assert "timed out" in slow.stderr.lower()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "PORT is not set"),
        ({"PORT": "http"}, "PORT must be an integer"),
        ({"PORT": "8080", "SHUTDOWN_GRACE_SECONDS": "soon"}, "SHUTDOWN_GRACE_SECONDS must be a number"),
        ({"PORT": "8080"}, "cannot load slowapp:create_app"),
    ],
)
def test_serve_refuses_bad_settings_with_one_line(env: dict, message: str) -> None:
    full = {k: v for k, v in os.environ.items() if k not in ("PORT", "SHUTDOWN_GRACE_SECONDS")}
    full.update({"PYTHONPATH": str(COMMON), **env})
    r = subprocess.run(
        [sys.executable, "-m", "svc_common.serve", "slowapp:create_app"],
        env=full,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("app_env", "message"),
    [
        ({"APP": "slowapp:nope"}, "cannot load slowapp:nope"),
        ({"APP": "json:__name__"}, "not an app factory"),
        ({}, "no app given"),
    ],
)
def test_serve_takes_the_app_from_app_env_when_no_argument(app_env: dict, message: str) -> None:
    full = {k: v for k, v in os.environ.items() if k != "APP"}
    full.update({"PYTHONPATH": str(COMMON), "PORT": "8080", **app_env})
    r = subprocess.run(
        [sys.executable, "-m", "svc_common.serve"], env=full, capture_output=True, text=True, timeout=20
    )
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_serve_names_bad_settings_without_their_values() -> None:
    catalog_dir = COMMON.parent / "catalog"
    full = {k: v for k, v in os.environ.items() if k not in ("TABLE_NAME", "API_KEY", "SERVICE_TOKEN")}
    full.update(
        {
            "PYTHONPATH": os.pathsep.join([str(COMMON), str(catalog_dir)]),
            "PORT": "8080",
            "SERVICE_NAME": "catalog",
            "API_KEY": "short-secret",
            "SERVICE_TOKEN": "x" * 32,
        }
    )
    r = subprocess.run(
        [sys.executable, "-m", "svc_common.serve", "catalog.main:create_app"],
        env=full,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "TABLE_NAME: Field required" in line
    assert "API_KEY" in line
    assert "short-secret" not in line
