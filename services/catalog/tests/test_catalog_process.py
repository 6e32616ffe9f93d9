"""catalog as a real process (``python -m svc_common.serve``): concurrency and logs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import manifests
import pytest

from tests.support.services import SECRETS, RunningService, private_emulator, run_service

pytestmark = pytest.mark.slow
API = {"X-Api-Key": SECRETS["API_KEY"]}
SVC = {"X-Service-Token": SECRETS["SERVICE_TOKEN"]}


@pytest.fixture(scope="module")
def catalog() -> Iterator[RunningService]:
    # An emulator of its own: these tests race many writers, and keep the session's shared one free.
    with private_emulator() as emulator, run_service("catalog", emulator.env) as svc:
        yield svc


def _product(svc: RunningService, stock: int) -> str:
    body = {
        "sku": f"C-{uuid.uuid4().hex[:10]}",
        "name": "n",
        "price": "2.00",
        "currency": "EUR",
        "stock": stock,
    }
    r = httpx.post(f"{svc.url}/catalog/products", json=body, headers=API, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_parallel_reservations_never_oversell(catalog: RunningService) -> None:
    stock, attempts = 7, 20
    product_id = _product(catalog, stock)
    url = f"{catalog.url}/catalog/products/{product_id}/reservations"

    def reserve(i: int) -> int:
        with httpx.Client(timeout=30) as c:
            return c.post(url, json={"order_id": f"par-{i}", "quantity": 1}, headers=SVC).status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        codes = list(pool.map(reserve, range(attempts)))
    assert codes.count(201) == stock, codes
    assert codes.count(409) == attempts - stock, codes
    r = httpx.get(f"{catalog.url}/catalog/products/{product_id}", timeout=10)
    assert r.json()["stock"] == 0


def test_parallel_retries_of_one_reservation_take_stock_once(catalog: RunningService) -> None:
    product_id = _product(catalog, 10)
    url = f"{catalog.url}/catalog/products/{product_id}/reservations"

    def reserve(_: int) -> int:
        with httpx.Client(timeout=30) as c:
            return c.post(url, json={"order_id": "same-order", "quantity": 3}, headers=SVC).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(reserve, range(10)))
    assert codes.count(201) == 1, codes
    assert codes.count(200) == 9, codes
    assert httpx.get(f"{catalog.url}/catalog/products/{product_id}", timeout=10).json()["stock"] == 7


def test_one_json_access_line_per_request_without_secrets(catalog: RunningService) -> None:
    request_id = f"log-test-{uuid.uuid4().hex}"
    body = {"sku": f"L-{uuid.uuid4().hex[:8]}", "name": "n", "price": "1.00", "currency": "EUR", "stock": 5}
    r = httpx.post(
        f"{catalog.url}/catalog/products", json=body, headers={**API, "X-Request-Id": request_id}, timeout=10
    )
    assert r.status_code == 201
    product_id = r.json()["id"]
    r = httpx.post(
        f"{catalog.url}/catalog/products/{product_id}/reservations?token={SECRETS['SERVICE_TOKEN']}",
        json={"order_id": "log-1", "quantity": 1},
        headers={**SVC, "X-Request-Id": request_id + "-r"},
        timeout=10,
    )
    assert r.status_code == 201
    # Liveness probes answered OK are not logged (noise; they would hide traffic stopping); a
    # probe of the readiness route and a refused request are.
    for path in ("/catalog/health", "/catalog/ready", "/catalog/health?verbose=1"):
        httpx.get(f"{catalog.url}{path}", headers={"X-Request-Id": f"{request_id}-probe"}, timeout=10)
    httpx.post(f"{catalog.url}/catalog/health", headers={"X-Request-Id": f"{request_id}-probe"}, timeout=10)
    # A wrong key must not be logged either.
    httpx.post(
        f"{catalog.url}/catalog/products", json=body, headers={"X-Api-Key": "wrong-key-value-xyz"}, timeout=10
    )
    lines = catalog.log_lines()
    docs = []
    for line in lines:
        doc = json.loads(line)  # every line on stdout is JSON
        docs.append(doc)
    mine = [d for d in docs if d.get("type") == "access" and d.get("request_id") == request_id]
    assert len(mine) == 1
    line = mine[0]
    assert line["method"] == "POST"
    assert line["path"] == "/catalog/products"
    assert line["status"] == 201
    assert isinstance(line["latency_ms"], float | int)
    assert line["latency_ms"] >= 0
    assert line["service"] == "catalog"
    assert line["route"] == "POST /catalog/products"
    # The same line is a CloudWatch Embedded Metric Format document.
    metrics = line["_aws"]["CloudWatchMetrics"][0]
    assert {m["Name"] for m in metrics["Metrics"]} == {"Requests", "Latency", "Errors4xx", "Errors5xx"}
    assert ["Service", "Environment", "Route"] in metrics["Dimensions"]
    assert line["Requests"] == 1
    assert line["Errors5xx"] == 0
    probes = [
        (d["method"], d["route"], d["status"])
        for d in docs
        if d.get("request_id") == f"{request_id}-probe" and d.get("type") == "access"
    ]
    expected = [("GET", "GET /catalog/ready", 200), ("POST", "POST /catalog/health", 405)]
    assert sorted(probes) == expected, probes
    # Every access line is exactly what the EMF schema expects: plain numbers, an integer timestamp.
    assert isinstance(line["_aws"]["Timestamp"], int)
    assert metrics["Namespace"] == "storefront"
    reservation = [d for d in docs if d.get("request_id") == request_id + "-r" and d.get("type") == "access"]
    assert reservation[0]["route"] == "POST /catalog/products/{product_id}/reservations"
    assert reservation[0]["path"] == f"/catalog/products/{product_id}/reservations"  # no query string
    text = "\n".join(lines)
    for secret in (SECRETS["API_KEY"], SECRETS["SERVICE_TOKEN"], "wrong-key-value-xyz"):
        assert secret not in text


def test_readiness_and_health_paths_come_from_the_manifest(catalog: RunningService) -> None:
    m = manifests.get("catalog")
    assert httpx.get(catalog.url + m.health_path, timeout=5).status_code == 200
    assert httpx.get(catalog.url + m.ready_path, timeout=5).json() == {"status": "ready", "detail": None}
