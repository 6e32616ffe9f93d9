"""orders against a real running catalog (both started with ``python -m svc_common.serve``).

Also checks that what the code assumes about each service agrees with its manifest.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import manifests
import pytest

from tests.support.services import SECRETS, RunningService, run_service

pytestmark = pytest.mark.slow
API = {"X-Api-Key": SECRETS["API_KEY"]}


@pytest.fixture(scope="module")
def stack(moto) -> Iterator[tuple[RunningService, RunningService]]:
    with (
        run_service("catalog", moto.env) as catalog,
        run_service("orders", moto.env, extra_env={"CATALOG_URL": catalog.url}) as orders,
    ):
        yield catalog, orders


def _product(catalog: RunningService, stock: int, price: str) -> str:
    body = {
        "sku": f"K-{uuid.uuid4().hex[:10]}",
        "name": "n",
        "price": price,
        "currency": "EUR",
        "stock": stock,
    }
    r = httpx.post(f"{catalog.url}/catalog/products", json=body, headers=API, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _stock(catalog: RunningService, product_id: str) -> int:
    return httpx.get(f"{catalog.url}/catalog/products/{product_id}", timeout=10).json()["stock"]


def test_order_lifecycle_across_both_services(stack) -> None:
    catalog, orders = stack
    a, b = _product(catalog, 5, "10.00"), _product(catalog, 5, "0.05")
    cust = f"cust-{uuid.uuid4().hex[:8]}"
    request_id = f"contract-{uuid.uuid4().hex}"
    body = {
        "customer_id": cust,
        "items": [{"product_id": a, "quantity": 2}, {"product_id": b, "quantity": 5}],
    }
    r = httpx.post(
        f"{orders.url}/orders",
        json=body,
        headers={**API, "Idempotency-Key": uuid.uuid4().hex, "X-Request-Id": request_id},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert r.headers["X-Request-Id"] == request_id
    assert (order["status"], order["total"]) == ("confirmed", "20.25")
    assert (_stock(catalog, a), _stock(catalog, b)) == (3, 0)

    # catalog saw orders' calls under the same request id, with the right routes.
    routes = [
        json.loads(line)["route"]
        for line in catalog.log_lines()
        if f'"request_id":"{request_id}"' in line and '"type":"access"' in line
    ]
    assert routes == ["POST /catalog/reservations"]  # one call for every line

    # Out of stock now: the next order is rejected and takes nothing.
    r = httpx.post(
        f"{orders.url}/orders",
        json={
            "customer_id": cust,
            "items": [{"product_id": a, "quantity": 1}, {"product_id": b, "quantity": 1}],
        },
        headers={**API, "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert r.json()["status"] == "rejected"
    assert "insufficient stock" in r.json()["rejection_reason"]
    assert (_stock(catalog, a), _stock(catalog, b)) == (3, 0)

    listed = httpx.get(f"{orders.url}/orders", params={"customer_id": cust}, headers=API, timeout=10).json()[
        "items"
    ]
    assert [o["status"] for o in listed] == ["rejected", "confirmed"]

    r = httpx.post(f"{orders.url}/orders/{order['id']}/cancel", headers=API, timeout=30)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert (_stock(catalog, a), _stock(catalog, b)) == (5, 5)
    assert (
        httpx.get(f"{orders.url}/orders/{order['id']}", headers=API, timeout=10).json()["status"]
        == "cancelled"
    )

    # Neither service ever logs a key or token, although orders sends its token on every call.
    text = "\n".join(orders.log_lines() + catalog.log_lines())
    for secret in set(SECRETS.values()):
        assert secret not in text


def test_orders_uses_only_paths_catalog_publishes(stack) -> None:
    from orders.catalog_client import CATALOG_PREFIX

    catalog, _ = stack
    assert manifests.get("catalog").path_prefix == CATALOG_PREFIX
    spec = httpx.get(f"{catalog.url}{manifests.get('catalog').path_prefix}/openapi.json", timeout=10).json()
    paths = spec["paths"]
    release = paths["/catalog/reservations/{order_id}/release"]["post"]
    assert {"ServiceToken": []} in release["security"]
    assert set(spec["components"]["schemas"]["OrderRelease"]["required"]) == {"product_ids"}
    reserve = paths["/catalog/reservations"]["post"]
    assert {"ServiceToken": []} in reserve["security"]
    schemas = spec["components"]["schemas"]
    request = schemas["OrderReservationCreate"]
    assert set(request["required"]) == {"order_id", "lines"}
    assert set(schemas["ReservationLine"]["required"]) == {"product_id", "quantity"}
    assert set(schemas["ReservedLine"]["required"]) >= {"product_id", "quantity", "unit_price", "currency"}
    assert schemas["ReservedLine"]["properties"]["unit_price"]["type"] == "string"
    # Every order orders accepts fits in one catalog call (one DynamoDB transaction).
    from orders.models import MAX_ITEMS, MAX_QUANTITY

    assert request["properties"]["lines"]["maxItems"] >= MAX_ITEMS
    assert schemas["ReservationLine"]["properties"]["quantity"]["maximum"] >= MAX_ITEMS * MAX_QUANTITY


def test_orders_stays_ready_and_answers_503_when_catalog_is_gone(moto) -> None:
    with run_service("catalog", moto.env) as catalog:
        product_id = _product(catalog, 5, "1.00")
        catalog_url = catalog.url
    # catalog has stopped; orders still starts, is ready, and refuses orders cleanly.
    with run_service(
        "orders", moto.env, extra_env={"CATALOG_URL": catalog_url, "CATALOG_MAX_ATTEMPTS": "2"}
    ) as orders:
        assert httpx.get(orders.url + manifests.get("orders").ready_path, timeout=10).status_code == 200
        r = httpx.post(
            f"{orders.url}/orders",
            json={"customer_id": "c1", "items": [{"product_id": product_id, "quantity": 1}]},
            headers={**API, "Idempotency-Key": uuid.uuid4().hex},
            timeout=30,
        )
        assert r.status_code == 503
        assert int(r.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("service", [m.name for m in manifests.load_all()])
def test_code_agrees_with_the_manifest(service: str) -> None:
    import importlib

    m = manifests.get(service)
    config = importlib.import_module(f"{m.package}.core.config")
    repository = importlib.import_module(f"{m.package}.repository")
    assert m.path_prefix == config.PATH_PREFIX
    assert (m.health_path, m.ready_path) == (f"{m.path_prefix}/health", f"{m.path_prefix}/ready")
    # Key schema used by the repository = the table the infrastructure creates.
    table = m.table
    assert (
        table.hash_key.name,
        table.range_key.name if table.range_key else None,
    ) == (repository.HASH_KEY, repository.RANGE_KEY)
    index = {i.name: i for i in table.indexes}[repository.INDEX]
    assert (index.hash_key.name, index.range_key.name) == (repository.INDEX_HASH, repository.INDEX_RANGE)
    assert all(a.type == "S" for a in table.attributes())
    # Every secret and dependency env named in the manifest is a setting of the service.
    fields = set(config.Settings.model_fields)
    for secret in m.secrets:
        assert secret.name.lower() in fields
    for dep in m.dependencies:
        assert dep.env.lower() in fields
    # The manifest names an app factory (uvicorn factory=True): the module builds no app on import.
    module, factory = m.app.split(":")
    main = importlib.import_module(module)
    assert callable(getattr(main, factory))
    assert not hasattr(main, "app")
