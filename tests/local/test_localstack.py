"""`make up` / `make down` (scripts/localstack.py) on free ports, and the smoke test against it.

One stack for the module: started once (which also seeds demo data and runs the smoke test),
then probed; the tests that stop parts of it run last and `up` brings them back.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import httpx
import manifests
import pytest
import sync_secrets
from tooling.edge_config import security_headers

from tests.local.stack import LocalStack, alive
from tests.support.tools import REPO_ROOT, output_dir

pytestmark = pytest.mark.slow
SMOKE = REPO_ROOT / "scripts" / "smoke_test.py"
SEED = REPO_ROOT / "scripts" / "seed_demo.py"
EDGE_READ_TIMEOUT = 15  # the request head: at most 10 s (edge_rules.READ_HEADER_TIMEOUT)
HEAD_TIMEOUT = 10
BODY_TIMEOUT = 10  # the services' default BODY_TIMEOUT_SECONDS, below the edge's read timeout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    s = LocalStack.on_free_ports(tmp_path_factory.mktemp("localstack"))
    started = time.monotonic()
    # A whole-request timeout at the edge above the services' body timeout (as by default, 30 s),
    # but short enough that a failure of the slow-client test is quick.
    s.env["LOCAL_EDGE_READ_TIMEOUT"] = f"{EDGE_READ_TIMEOUT}s"
    result = s.run("up")
    print(f"\nlocalstack up took {time.monotonic() - started:.1f}s")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        s.first_up = result  # type: ignore[attr-defined]
        yield s
    finally:
        down, leftovers = s.down_and_leftovers()
        (output_dir("logs") / "localstack-down.txt").write_text(down.stdout + down.stderr)
        assert not leftovers, f"still running after down: {leftovers}"


def _no_values_in(stack: LocalStack, text: str) -> None:
    for value in stack.values().values():
        assert value not in text, "a secret value was printed"


def test_up_prints_where_things_are_and_never_a_value(stack: LocalStack) -> None:
    out = stack.first_up.stdout  # type: ignore[attr-defined]
    assert f"Open:      {stack.edge_url}/" in out
    assert str(stack.state / "secrets.env") in out
    assert "ORDERS_API_KEY" in out
    assert str(stack.state / "logs") in out
    assert "smoke test passed" in out
    assert "demo products: " in out
    _no_values_in(stack, stack.first_up.stdout + stack.first_up.stderr)  # type: ignore[attr-defined]


def test_no_log_holds_a_secret_value(stack: LocalStack) -> None:
    # Traffic with keys went through every component during `up` (seed data, smoke test).
    logs = sorted((stack.state / "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"moto", "edge", *(m.name for m in manifests.load_all())}
    assert "X-Api-Key" not in (stack.state / "logs" / "edge.log").read_text()
    for log in logs:
        _no_values_in(stack, log.read_text(errors="replace"))


def test_secret_values_file_is_private_random_and_loaded_into_the_emulator(stack: LocalStack) -> None:
    path = stack.state / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = stack.values()
    wanted = sync_secrets.wanted_secrets("local")
    assert set(values) == {w.variable for w in wanted}
    assert len(set(values.values())) == len(values), "every secret gets its own random value"
    assert all(len(v) >= 32 for v in values.values())

    sm = boto3.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{stack.env['LOCAL_AWS_PORT']}")
    for w in wanted:
        assert sm.get_secret_value(SecretId=w.secret_id)["SecretString"] == values[w.variable]
    tables = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{stack.env['LOCAL_AWS_PORT']}")
    names = set(tables.list_tables()["TableNames"])
    assert names >= {manifests.table_name(m.name, "local") for m in manifests.load_all()}


def test_services_get_the_runtime_contract_environment(stack: LocalStack) -> None:
    values = stack.values()
    for m in manifests.load_all():
        pid = stack.pids()[m.name]
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
        assert env["PORT"] == str(stack.port(m.name))
        assert env["SERVICE_NAME"] == m.name
        assert env["ENVIRONMENT"] == "local"
        assert env["TABLE_NAME"] == manifests.table_name(m.name, "local")
        assert env["HEALTH_PATH"] == m.health_path
        assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{stack.env['LOCAL_AWS_PORT']}"
        for secret in m.secrets:
            owner, name = (secret.from_ or f"{m.name}/{secret.name}").split("/")
            assert env[secret.name] == values[sync_secrets.variable_name(owner, name)]
        for dep in m.dependencies:
            assert env[dep.env] == f"http://127.0.0.1:{stack.port(dep.service)}"
        assert "AWS_PROFILE" not in env


def test_edge_routes_every_prefix_and_serves_the_site_with_security_headers(stack: LocalStack) -> None:
    headers = security_headers()
    with httpx.Client(base_url=stack.edge_url, timeout=30) as client:
        for m in manifests.load_all():
            r = client.get(m.ready_path)
            assert r.status_code == 200, (m.name, r.text)
            assert "application/json" in r.headers["content-type"]
        page = client.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        for name, value in headers.items():
            assert page.headers.get(name) == value, name
        assert "server" not in page.headers
        for asset, kind in (("/app.js", "javascript"), ("/app.css", "text/css")):
            r = client.get(asset)
            assert r.status_code == 200
            assert kind in r.headers["content-type"]
        missing = client.get("/no-such-page.html")
        assert missing.status_code == 404
        assert missing.headers.get("X-Content-Type-Options") == "nosniff"


def test_edge_limits_the_request_body(stack: LocalStack) -> None:
    catalog = manifests.get("catalog")
    r = httpx.post(
        f"{stack.edge_url}{catalog.path_prefix}/products",
        content=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json", "X-Api-Key": stack.values()["CATALOG_API_KEY"]},
        timeout=10,
    )
    assert r.status_code == 413
    assert "too large" in r.json()["detail"].lower()  # whoever refuses it first: JSON


def _json_error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    return r.json()


def test_internal_paths_are_not_reachable_through_the_edge(stack: LocalStack) -> None:
    catalog = manifests.get("catalog")
    token = {"X-Service-Token": stack.values()["CATALOG_SERVICE_TOKEN"]}
    product_id = httpx.get(f"{stack.edge_url}/catalog/products", params={"limit": 1}, timeout=30).json()[
        "items"
    ][0]["id"]
    base = f"/catalog/products/{product_id}/reservations"
    with httpx.Client(base_url=stack.edge_url, timeout=30) as client:
        for method, path in (
            ("POST", base),
            ("DELETE", f"{base}/order-1"),
            ("GET", f"{base}/"),
            ("POST", f"/catalog/products/{product_id}/reservation%73"),
            ("POST", "/catalog/reservations"),  # an order's lines, all at once
            ("POST", "/catalog/reservations/order-1/release"),
            ("POST", "/catalog/reservation%73"),
        ):
            r = client.request(method, path, headers=token, json={"order_id": "order-1", "quantity": 1})
            assert _json_error(r, 404) == {"detail": "Not Found"}, (method, path)
    assert catalog.internal_paths
    # Inside the network (orders -> catalog) the API is there: 401 without the token, not 404.
    direct = httpx.post(f"http://127.0.0.1:{stack.port('catalog')}{base}", json={}, timeout=30)
    assert direct.status_code == 401


def test_edge_errors_have_the_json_error_shape(stack: LocalStack) -> None:
    missing = httpx.get(f"{stack.edge_url}/no-such-page.html", timeout=30)
    assert _json_error(missing, 404) == {"detail": "404 Not Found"}


def test_the_edge_access_log_has_no_query_string(stack: LocalStack) -> None:
    marker = "querymarker7Q"
    r = httpx.get(f"{stack.edge_url}/catalog/products", params={"limit": 1, "note": marker}, timeout=30)
    assert r.status_code == 200
    log = stack.state / "logs" / "edge.log"
    deadline = time.monotonic() + 10
    while "/catalog/products" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    text = log.read_text()
    assert '"uri":"/catalog/products"' in text
    assert marker not in text


def _held_for(port: int, payload: bytes, limit: float) -> tuple[float, bytes]:
    """Seconds until the server answers and closes a connection that sent only ``payload``."""
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        start = time.monotonic()
        sock.sendall(payload)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return time.monotonic() - start, received


def test_slow_clients_are_cut_off(stack: LocalStack) -> None:
    """A request head that never ends (the edge closes it) and a body that never ends (a JSON 408)."""
    port = int(stack.env["LOCAL_EDGE_PORT"])
    head = b"GET /catalog/products HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
    body = (
        b"POST /catalog/products HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"X-Api-Key: {stack.values()['CATALOG_API_KEY']}\r\n".encode()
        + b'Content-Length: 1000\r\nConnection: close\r\n\r\n{"sku":'
    )
    with ThreadPoolExecutor(2) as pool:
        slow_head = pool.submit(_held_for, port, head, HEAD_TIMEOUT + 20)
        slow_body = pool.submit(_held_for, port, body, BODY_TIMEOUT + 20)
        head_held, _ = slow_head.result()
        body_held, answer = slow_body.result()
    assert head_held < HEAD_TIMEOUT + 5, f"a partial request head was held for {head_held:.1f}s"
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"detail":"request body incomplete' in answer
    assert body_held < BODY_TIMEOUT + 10, f"a partial body was held for {body_held:.1f}s"


def test_demo_seed_is_idempotent(stack: LocalStack) -> None:
    env = {"PATH": os.environ["PATH"], **stack.values()}
    catalog = manifests.get("catalog")
    listing = f"{stack.edge_url}{catalog.path_prefix}/products?limit=100"
    before = httpx.get(listing, timeout=30).json()["items"]
    again = subprocess.run(
        [sys.executable, str(SEED), "--base-url", stack.edge_url], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert "0 created" in again.stdout
    after = httpx.get(listing, timeout=30).json()["items"]
    demo = [p["sku"] for p in after if p["sku"].startswith("demo-")]
    assert len(demo) == len(set(demo)) >= 3
    assert len(after) == len(before)
    no_key = subprocess.run(
        [sys.executable, str(SEED), "--base-url", stack.edge_url],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
    )
    assert no_key.returncode == 2
    assert "CATALOG_API_KEY" in no_key.stderr


def test_up_twice_is_harmless(stack: LocalStack) -> None:
    pids = stack.pids()
    result = stack.run("up", "--no-smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("already running") == len(pids)
    assert "3 unchanged" in result.stdout
    assert stack.pids() == pids
    status = stack.run("status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("healthy") == len(pids)
    # A shell without the port exports still probes the ports the processes were started on.
    bare = LocalStack(stack.state, {"LOCAL_STATE_DIR": stack.env["LOCAL_STATE_DIR"]})
    status = bare.run("status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("healthy") == len(pids)
    assert f"Open {stack.edge_url}/" in status.stdout


def test_port_taken_by_another_program_is_one_clear_line(tmp_path: Path) -> None:
    other = LocalStack.on_free_ports(tmp_path / "state")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(other.env["LOCAL_EDGE_PORT"])))
        squatter.listen()
        result = other.run("up")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"port {other.env['LOCAL_EDGE_PORT']} (edge) is already in use" in lines[0]
    assert "LOCAL_EDGE_PORT=" in lines[0]
    assert not (other.state / "pids").exists() or not list((other.state / "pids").iterdir())


def test_bad_port_setting_is_a_usage_error(tmp_path: Path) -> None:
    other = LocalStack.on_free_ports(tmp_path / "state")
    result = other.run("status", extra_env={"LOCAL_EDGE_PORT": "80"})
    assert result.returncode == 1
    assert "LOCAL_EDGE_PORT must be a port number" in result.stderr


def test_smoke_test_passes_and_writes_reports(stack: LocalStack, tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], **stack.values()}
    report, junit = tmp_path / "smoke.json", tmp_path / "junit.xml"
    result = subprocess.run(
        [
            sys.executable,
            str(SMOKE),
            "--base-url",
            stack.edge_url,
            "--alb-url",
            stack.edge_url,
            "--timeout",
            "20",
            "--report",
            str(report),
            "--junit",
            str(junit),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    _no_values_in(stack, result.stdout + result.stderr)
    data = json.loads(report.read_text())
    assert data["passed"] is True
    names = {c["name"] for c in data["checks"]}
    for m in manifests.load_all():
        assert {f"{m.name}-health", f"{m.name}-ready", f"alb-{m.name}-ready"} <= names
    assert {"static-page", "api-round-trip", "api-bad-input", "api-auth-required"} <= names
    suite = ET.parse(junit).getroot()  # noqa: S314
    assert suite.get("tests") == str(len(names))
    assert suite.get("failures") == "0"
    # The round trip cleans up after itself: no smoke products remain.
    items = httpx.get(f"{stack.edge_url}/catalog/products?limit=100", timeout=30).json()["items"]
    assert not [p for p in items if p["sku"].startswith("smoke-")]


def test_smoke_test_without_waf_fails_the_waf_probe_and_usage_errors(
    stack: LocalStack, tmp_path: Path
) -> None:
    env = {"PATH": os.environ["PATH"], **stack.values(), "GITHUB_ACTIONS": "true"}
    argv = [sys.executable, str(SMOKE), "--base-url", stack.edge_url, "--timeout", "0"]
    argv += ["--report", str(tmp_path / "r.json"), "--junit", str(tmp_path / "j.xml")]
    result = subprocess.run([*argv, "--waf-probe"], env=env, capture_output=True, text=True, timeout=60)
    # The local edge has no WAF, so the probe must fail and be named; everything else passes.
    assert result.returncode == 1
    assert "::error title=smoke test: waf-blocks-sqli::" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "smoke test FAILED: waf-blocks-sqli"
    missing = subprocess.run(argv, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
    assert missing.returncode == 2
    assert "CATALOG_API_KEY" in missing.stderr
    bad = subprocess.run([*argv[:2], "--base-url", "ftp://x"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2


def test_smoke_test_names_a_stopped_service_then_up_recovers(stack: LocalStack, tmp_path: Path) -> None:
    catalog = manifests.get("catalog")
    pids = stack.pids()
    result = stack.run("down", catalog.name)
    assert f"{catalog.name:<14} stopped" in result.stdout, result.stdout + result.stderr
    assert not alive(pids[catalog.name])
    assert all(alive(pid) for name, pid in pids.items() if name != catalog.name)

    env = {"PATH": os.environ["PATH"], **stack.values()}
    report = tmp_path / "smoke.json"
    smoke = subprocess.run(
        [
            sys.executable,
            str(SMOKE),
            "--base-url",
            stack.edge_url,
            "--timeout",
            "2",
            "--interval",
            "1",
            "--report",
            str(report),
            "--junit",
            str(tmp_path / "junit.xml"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert smoke.returncode == 1
    assert "smoke test FAILED:" in smoke.stdout
    failed_line = smoke.stdout.strip().splitlines()[-1]
    assert "catalog-health" in failed_line
    assert "catalog-ready" in failed_line
    assert "orders-health" not in failed_line
    assert "catalog-health" in json.loads(report.read_text())["failed"]
    # The edge's own answer for a service that is down has the JSON error shape.
    down = httpx.get(f"{stack.edge_url}{catalog.path_prefix}/products", timeout=30)
    assert down.status_code in (502, 503)
    assert down.json()["detail"].startswith(str(down.status_code))

    status = stack.run("status")
    assert status.returncode == 1
    assert "catalog    stopped" in status.stdout

    again = stack.run("up", "--no-seed")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{catalog.name:<14} started" in again.stdout
    assert stack.run("status").returncode == 0


def test_down_stops_exactly_what_up_started(stack: LocalStack) -> None:
    pids = stack.pids()
    # A pid record that no longer matches its process (pid reused by another program) is left alone.
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        record = stack.state / "pids" / "ghost.json"
        ghost = {"name": "ghost", "pid": bystander.pid, "start_time": "1", "argv": ["sleep", "60"]}
        record.write_text(json.dumps({**ghost, "cmdline": ["sleep", "60"], "port": 1, "spec": ""}))
        result = stack.run("down")
        assert result.returncode == 0, result.stderr
        assert "ghost" in result.stdout
        assert "left alone" in result.stdout
        assert bystander.poll() is None, "down must never kill a process it did not start"
    finally:
        bystander.kill()
        bystander.wait()
    for name, pid in pids.items():
        assert not alive(pid), f"{name} (pid {pid}) still running"
    assert not list((stack.state / "pids").glob("*.json"))
    for port in [stack.env["LOCAL_EDGE_PORT"], stack.env["LOCAL_AWS_PORT"]]:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(port)))
    assert stack.run("down").stdout.startswith("Local stack: nothing to stop.")
