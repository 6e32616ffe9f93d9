"""orders API (in-process) against a real catalog process and real tables in the emulator."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient
from orders.main import create_app

from tests.support.procs import free_port
from tests.support.services import SECRETS, RunningService, app_env, run_service, unique_table
from tests.support.tables import create_table

pytestmark = pytest.mark.slow
API = {"X-Api-Key": SECRETS["API_KEY"]}


@pytest.fixture(scope="module")
def catalog(moto) -> Iterator[RunningService]:
    with run_service("catalog", moto.env) as svc:
        yield svc


@pytest.fixture(scope="module")
def table(moto) -> str:
    return create_table("orders", unique_table("orders"), endpoint_url=moto.url)


def _orders_app(moto, table: str, catalog_url: str, **extra: str):
    # The reconciler's thread is off in-process unless a test asks for it (tests call run_once).
    extra = {"RECONCILER_ENABLED": "false", **extra}
    with app_env("orders", table, moto.env, {"CATALOG_URL": catalog_url, **extra}):
        return create_app()


@pytest.fixture(scope="module")
def client(moto, catalog: RunningService, table: str) -> Iterator[TestClient]:
    with TestClient(_orders_app(moto, table, catalog.url)) as c:
        yield c


def product(catalog: RunningService, stock: int = 10, price: str = "2.50", currency: str = "EUR") -> str:
    body = {
        "sku": f"O-{uuid.uuid4().hex[:12]}",
        "name": "n",
        "price": price,
        "currency": currency,
        "stock": stock,
    }
    r = httpx.post(f"{catalog.url}/catalog/products", json=body, headers=API, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def stock(catalog: RunningService, product_id: str) -> int:
    return httpx.get(f"{catalog.url}/catalog/products/{product_id}", timeout=10).json()["stock"]


def post_order(client: TestClient, body: dict, key: str | None = None):
    return client.post("/orders", json=body, headers={**API, "Idempotency-Key": key or uuid.uuid4().hex})


def table_items(moto, table: str, prefix: str) -> list[dict]:
    ddb = boto3.client("dynamodb", endpoint_url=moto.url)
    items = ddb.scan(TableName=table, ConsistentRead=True)["Items"]
    return [i for i in items if i["pk"]["S"].startswith(prefix)]


def customer() -> str:
    return f"cust-{uuid.uuid4().hex[:10]}"


# -- creation -------------------------------------------------------------------------------------
def test_order_reserves_stock_and_prices_from_catalog(client: TestClient, catalog: RunningService) -> None:
    a, b = product(catalog, 10, "2.50"), product(catalog, 5, "0.99")
    body = {
        "customer_id": customer(),
        "items": [{"product_id": a, "quantity": 3}, {"product_id": b, "quantity": 2}],
    }
    r = post_order(client, body)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "confirmed"
    assert order["rejection_reason"] is None
    assert order["total"] == "9.48"
    assert order["currency"] == "EUR"
    assert order["items"] == [
        {"product_id": a, "quantity": 3, "unit_price": "2.50", "line_total": "7.50"},
        {"product_id": b, "quantity": 2, "unit_price": "0.99", "line_total": "1.98"},
    ]
    assert r.headers["Location"] == f"/orders/{order['id']}"
    assert (stock(catalog, a), stock(catalog, b)) == (7, 3)
    assert client.get(f"/orders/{order['id']}", headers=API).json() == order


def test_duplicate_lines_are_merged(client: TestClient, catalog: RunningService) -> None:
    a = product(catalog, 10)
    body = {
        "customer_id": customer(),
        "items": [{"product_id": a, "quantity": 2}, {"product_id": a, "quantity": 3}],
    }
    r = post_order(client, body)
    assert r.status_code == 201
    assert r.json()["items"] == [
        {"product_id": a, "quantity": 5, "unit_price": "2.50", "line_total": "12.50"}
    ]
    assert stock(catalog, a) == 5


def test_same_key_same_body_replays_without_a_second_order(
    client: TestClient, catalog: RunningService
) -> None:
    a = product(catalog, 10)
    cust = customer()
    body = {"customer_id": cust, "items": [{"product_id": a, "quantity": 4}]}
    key = f"key-{uuid.uuid4().hex}"
    first = post_order(client, body, key)
    again = post_order(client, body, key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stock(catalog, a) == 6
    assert len(client.get("/orders", params={"customer_id": cust}, headers=API).json()["items"]) == 1


def test_same_key_different_body_is_422(client: TestClient, catalog: RunningService) -> None:
    a = product(catalog, 10)
    cust = customer()
    key = f"key-{uuid.uuid4().hex}"
    assert (
        post_order(
            client, {"customer_id": cust, "items": [{"product_id": a, "quantity": 1}]}, key
        ).status_code
        == 201
    )
    r = post_order(client, {"customer_id": cust, "items": [{"product_id": a, "quantity": 2}]}, key)
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["detail"]
    assert stock(catalog, a) == 9
    assert len(client.get("/orders", params={"customer_id": cust}, headers=API).json()["items"]) == 1


def test_insufficient_stock_rejects_the_order_and_releases_everything(
    client: TestClient, catalog: RunningService
) -> None:
    a, b = product(catalog, 10), product(catalog, 1)
    body = {
        "customer_id": customer(),
        "items": [{"product_id": a, "quantity": 2}, {"product_id": b, "quantity": 2}],
    }
    r = post_order(client, body)
    assert r.status_code == 201
    order = r.json()
    assert order["status"] == "rejected"
    assert order["total"] is None
    assert "insufficient stock" in order["rejection_reason"]
    assert b in order["rejection_reason"]
    assert (stock(catalog, a), stock(catalog, b)) == (10, 1)
    assert client.get(f"/orders/{order['id']}", headers=API).json()["status"] == "rejected"


def test_unknown_product_rejects_the_order(client: TestClient, catalog: RunningService) -> None:
    a = product(catalog, 10)
    ghost = str(uuid.uuid4())
    body = {
        "customer_id": customer(),
        "items": [{"product_id": a, "quantity": 1}, {"product_id": ghost, "quantity": 1}],
    }
    order = post_order(client, body).json()
    assert order["status"] == "rejected"
    assert ghost in order["rejection_reason"]
    assert "not found" in order["rejection_reason"]
    assert order["items"][1]["unit_price"] is None
    assert stock(catalog, a) == 10


def test_mixed_currencies_reject_the_order(client: TestClient, catalog: RunningService) -> None:
    a, b = product(catalog, 10, currency="EUR"), product(catalog, 10, currency="USD")
    body = {
        "customer_id": customer(),
        "items": [{"product_id": a, "quantity": 1}, {"product_id": b, "quantity": 1}],
    }
    order = post_order(client, body).json()
    assert order["status"] == "rejected"
    assert "currencies" in order["rejection_reason"]
    assert (stock(catalog, a), stock(catalog, b)) == (10, 10)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"customer_id": "c1", "items": []}, ["body", "items"]),
        ({"customer_id": "c1", "items": [{"product_id": "p", "quantity": 1}] * 51}, ["body", "items"]),
        (
            {"customer_id": "c1", "items": [{"product_id": "p", "quantity": 0}]},
            ["body", "items", 0, "quantity"],
        ),
        (
            {"customer_id": "c1", "items": [{"product_id": "p", "quantity": 201}]},
            ["body", "items", 0, "quantity"],
        ),
        (
            {"customer_id": "c1", "items": [{"product_id": "p", "quantity": "1"}]},
            ["body", "items", 0, "quantity"],
        ),
        ({"customer_id": "c 1", "items": [{"product_id": "p", "quantity": 1}]}, ["body", "customer_id"]),
        ({"customer_id": "c1", "items": [{"product_id": "p", "quantity": 1}], "x": 1}, ["body", "x"]),
        ({"customer_id": "c1"}, ["body", "items"]),
    ],
)
def test_invalid_orders_are_422_and_create_nothing(client: TestClient, body: dict, where: list) -> None:
    r = post_order(client, body)
    assert r.status_code == 422, r.text
    assert where in [e["loc"] for e in r.json()["detail"]]


def test_idempotency_key_and_api_key_are_required(client: TestClient, catalog: RunningService) -> None:
    body = {"customer_id": customer(), "items": [{"product_id": product(catalog), "quantity": 1}]}
    r = client.post("/orders", json=body, headers=API)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    r = client.post("/orders", json=body, headers={**API, "Idempotency-Key": "bad key!"})
    assert r.status_code == 422
    r = client.post("/orders", json=body, headers={"Idempotency-Key": "k1"})
    assert r.status_code == 401
    r = client.post(
        "/orders", json=body, headers={"Idempotency-Key": "k1", "X-Api-Key": SECRETS["SERVICE_TOKEN"]}
    )
    assert r.status_code == 401


# -- reads ----------------------------------------------------------------------------------------
def test_get_unknown_order_is_404(client: TestClient) -> None:
    assert client.get(f"/orders/{uuid.uuid4()}", headers=API).status_code == 404


def test_list_pages_through_a_customers_orders_newest_first(
    client: TestClient, catalog: RunningService
) -> None:
    a = product(catalog, 50)
    cust, other = customer(), customer()
    ids = [
        post_order(client, {"customer_id": cust, "items": [{"product_id": a, "quantity": 1}]}).json()["id"]
        for _ in range(5)
    ]
    post_order(client, {"customer_id": other, "items": [{"product_id": a, "quantity": 1}]})
    seen, cursor = [], None
    for _ in range(10):
        r = client.get(
            "/orders",
            params={"customer_id": cust, "limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=API,
        )
        assert r.status_code == 200, r.text
        seen += [o["id"] for o in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    # A cursor of one customer cannot be used for another.
    first = client.get("/orders", params={"customer_id": cust, "limit": 1}, headers=API).json()["next_cursor"]
    r = client.get("/orders", params={"customer_id": other, "cursor": first}, headers=API)
    assert r.status_code == 400


@pytest.mark.parametrize(
    "params",
    [{}, {"customer_id": "a b"}, {"customer_id": "c1", "limit": 0}, {"customer_id": "c1", "limit": 101}],
)
def test_list_validates_its_parameters(client: TestClient, params: dict) -> None:
    assert client.get("/orders", params=params, headers=API).status_code == 422


def test_list_rejects_a_bad_cursor(client: TestClient) -> None:
    r = client.get("/orders", params={"customer_id": "c1", "cursor": "not-a-cursor"}, headers=API)
    assert r.status_code == 400
    assert "cursor" in r.json()["detail"]


# -- cancellation ---------------------------------------------------------------------------------
def test_cancel_gives_stock_back_once(client: TestClient, catalog: RunningService) -> None:
    a = product(catalog, 10)
    order = post_order(
        client, {"customer_id": customer(), "items": [{"product_id": a, "quantity": 4}]}
    ).json()
    assert stock(catalog, a) == 6
    r = client.post(f"/orders/{order['id']}/cancel", headers=API)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert stock(catalog, a) == 10
    r = client.post(f"/orders/{order['id']}/cancel", headers=API)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert stock(catalog, a) == 10


def test_cancel_errors(client: TestClient, catalog: RunningService) -> None:
    a = product(catalog, 1)
    rejected = post_order(
        client, {"customer_id": customer(), "items": [{"product_id": a, "quantity": 2}]}
    ).json()
    assert client.post(f"/orders/{rejected['id']}/cancel", headers=API).status_code == 409
    assert client.post(f"/orders/{uuid.uuid4()}/cancel", headers=API).status_code == 404
    assert client.post(f"/orders/{rejected['id']}/cancel").status_code == 401


# -- failures -------------------------------------------------------------------------------------
def test_catalog_unreachable_is_503_and_leaves_nothing(moto, table: str, catalog: RunningService) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    a = product(catalog, 10)
    body = {"customer_id": customer(), "items": [{"product_id": a, "quantity": 1}]}
    key = f"down-{uuid.uuid4().hex}"
    with TestClient(_orders_app(moto, table, dead, CATALOG_MAX_ATTEMPTS="2")) as down:
        start = time.monotonic()
        r = post_order(down, body, key)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "2"
        assert "catalog" in r.json()["detail"]
        assert time.monotonic() - start < 10
        assert down.get("/orders/ready").status_code == 200  # readiness never depends on catalog
    assert not [i for i in table_items(moto, table, "IDEMPOTENCY#") if key in i["pk"]["S"]]
    # The same key works once catalog is back.
    with TestClient(_orders_app(moto, table, catalog.url)) as up:
        r = post_order(up, body, key)
        assert r.status_code == 201
        assert r.json()["status"] == "confirmed"
    assert stock(catalog, a) == 9


class _FlakyTransport(httpx.BaseTransport):
    """Forwards to catalog, but fails requests ``fail`` selects: "refused" before sending (connection
    refused), "lost" after catalog has acted on it (the answer never arrives: a read timeout)."""

    def __init__(self, fail) -> None:
        self.inner = httpx.HTTPTransport()
        self.fail = fail

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        how = self.fail(request)
        if how == "refused":
            raise httpx.ConnectError("injected failure", request=request)
        if how == "no route":  # a catalog without the route (an older version, mid-deploy)
            return httpx.Response(404, json={"detail": "Not Found"}, request=request)
        response = self.inner.handle_request(request)
        if how == "lost":
            response.read()
            raise httpx.ReadTimeout("injected lost answer", request=request)
        return response


def _with_transport(app, transport: httpx.BaseTransport) -> None:
    catalog = app.state.order_service.catalog
    catalog.http = httpx.Client(base_url=catalog.http.base_url, transport=transport, timeout=5)


def _reserve_call(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path == "/catalog/reservations"


def _release_call(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/release")


def test_a_lost_reservation_answer_releases_what_was_reserved(
    moto, table: str, catalog: RunningService
) -> None:
    a, b = product(catalog, 10), product(catalog, 10)
    body = {
        "customer_id": customer(),
        "items": [{"product_id": a, "quantity": 2}, {"product_id": b, "quantity": 3}],
    }
    key = f"mid-{uuid.uuid4().hex}"
    app = _orders_app(moto, table, catalog.url, CATALOG_MAX_ATTEMPTS="2")
    _with_transport(app, _FlakyTransport(lambda req: "lost" if _reserve_call(req) else None))
    with TestClient(app) as c:
        r = post_order(c, body, key)
        assert r.status_code == 503
    assert (stock(catalog, a), stock(catalog, b)) == (10, 10)  # reserved once (a retry replays), given back
    assert not [i for i in table_items(moto, table, "IDEMPOTENCY#") if key in i["pk"]["S"]]
    with TestClient(_orders_app(moto, table, catalog.url)) as up:
        assert post_order(up, body, key).json()["status"] == "confirmed"
    assert (stock(catalog, a), stock(catalog, b)) == (8, 7)


def test_retry_after_a_failed_cleanup_undoes_the_old_attempt(
    moto, table: str, catalog: RunningService
) -> None:
    a, b = product(catalog, 10), product(catalog, 10)
    body = {
        "customer_id": customer(),
        "items": [{"product_id": a, "quantity": 2}, {"product_id": b, "quantity": 3}],
    }
    key = f"dirty-{uuid.uuid4().hex}"

    def catalog_dies_after_reserving(request: httpx.Request) -> str | None:
        return "lost" if _reserve_call(request) else "refused" if _release_call(request) else None

    app = _orders_app(moto, table, catalog.url, CATALOG_MAX_ATTEMPTS="1")
    _with_transport(app, _FlakyTransport(catalog_dies_after_reserving))
    with TestClient(app) as c:
        assert post_order(c, body, key).status_code == 503
    assert (stock(catalog, a), stock(catalog, b)) == (8, 7)  # could not be given back yet
    claims = [i for i in table_items(moto, table, "IDEMPOTENCY#") if key in i["pk"]["S"]]
    assert len(claims) == 1
    assert Decimal(claims[0]["lease_until"]["N"]) == 0
    with TestClient(_orders_app(moto, table, catalog.url)) as up:
        r = post_order(up, body, key)
        assert r.status_code == 201
        assert r.json()["status"] == "confirmed"
        assert post_order(up, body, key).json() == r.json()
    assert (stock(catalog, a), stock(catalog, b)) == (8, 7)  # each taken exactly once


def test_an_older_catalog_without_the_route_is_503_not_a_rejection(
    moto, table: str, catalog: RunningService
) -> None:
    a = product(catalog, 10)
    body = {"customer_id": customer(), "items": [{"product_id": a, "quantity": 1}]}
    key = f"old-{uuid.uuid4().hex}"
    app = _orders_app(moto, table, catalog.url)
    _with_transport(app, _FlakyTransport(lambda req: "no route" if _reserve_call(req) else None))
    with TestClient(app) as c:
        r = post_order(c, body, key)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "2"
    assert not [i for i in table_items(moto, table, "ORDER#") if i.get("idempotency_key", {}).get("S") == key]
    with TestClient(_orders_app(moto, table, catalog.url)) as up:  # catalog upgraded: the retry works
        assert post_order(up, body, key).json()["status"] == "confirmed"
    assert stock(catalog, a) == 9


def test_a_catalog_that_was_never_reached_leaves_no_claim(moto, table: str, catalog: RunningService) -> None:
    """Connection refused on every attempt: nothing can be reserved, so the key is free at once."""
    a = product(catalog, 10)
    body = {"customer_id": customer(), "items": [{"product_id": a, "quantity": 1}]}
    key = f"refused-{uuid.uuid4().hex}"
    released: list[str] = []

    def refuse_reservations(request: httpx.Request) -> str | None:
        if _release_call(request):
            released.append(request.url.path)
        return "refused" if _reserve_call(request) else None

    app = _orders_app(moto, table, catalog.url, CATALOG_MAX_ATTEMPTS="2")
    _with_transport(app, _FlakyTransport(refuse_reservations))
    with TestClient(app) as c:
        assert post_order(c, body, key).status_code == 503
    assert released == []  # nothing to give back: no release call
    assert not [i for i in table_items(moto, table, "IDEMPOTENCY#") if key in i["pk"]["S"]]
    assert stock(catalog, a) == 10


def test_an_in_progress_key_is_409_with_retry_after(moto, table: str, catalog: RunningService) -> None:
    from orders.claims import ClaimRepository
    from orders.models import OrderCreate
    from orders.service import request_hash

    pid = product(catalog)
    body = {"customer_id": customer(), "items": [{"product_id": pid, "quantity": 1}]}
    key = f"busy-{uuid.uuid4().hex}"
    claims = ClaimRepository(boto3.client("dynamodb", endpoint_url=moto.url), table, 60)
    assert claims.put_claim(key, request_hash(OrderCreate.model_validate(body)), str(uuid.uuid4()), [pid], 60)
    with TestClient(_orders_app(moto, table, catalog.url, IDEMPOTENCY_WAIT_SECONDS="0.3")) as c:
        r = post_order(c, body, key)
        assert r.status_code == 409
        assert r.headers["Retry-After"] == "2"
        assert "still being processed" in r.json()["detail"]


def test_orders_table_unreachable_is_503(moto, catalog: RunningService) -> None:
    env = {**moto.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    with app_env("orders", "nowhere", env, {"CATALOG_URL": catalog.url, "AWS_MAX_ATTEMPTS": "1"}):
        app = create_app()
    with TestClient(app) as c:
        assert c.get(f"/orders/{uuid.uuid4()}", headers=API).status_code == 503
        body = {"customer_id": "c1", "items": [{"product_id": "p1", "quantity": 1}]}
        assert post_order(c, body).status_code == 503
        assert c.get("/orders/ready").status_code == 503
        assert c.get("/orders/health").status_code == 200


def test_storage_failure_when_saving_keeps_the_retry_safe(moto, table: str, catalog: RunningService) -> None:
    from svc_common.dynamo import StoreUnavailableError

    a = product(catalog, 10)
    body = {"customer_id": customer(), "items": [{"product_id": a, "quantity": 4}]}
    key = f"save-{uuid.uuid4().hex}"
    app = _orders_app(moto, table, catalog.url)
    repo = app.state.order_service.repo

    def complete_fails(*args, **kwargs):
        raise StoreUnavailableError("injected: outcome unknown")

    repo.complete = complete_fails
    with TestClient(app) as c:
        r = post_order(c, body, key)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "2"
    # Unknown whether the order was stored: the reservation stays, the claim's lease is ended.
    assert stock(catalog, a) == 6
    claims = [i for i in table_items(moto, table, "IDEMPOTENCY#") if key in i["pk"]["S"]]
    assert Decimal(claims[0]["lease_until"]["N"]) == 0
    with TestClient(_orders_app(moto, table, catalog.url)) as up:
        r = post_order(up, body, key)
        assert r.status_code == 201
        assert r.json()["status"] == "confirmed"
    assert stock(catalog, a) == 6  # released for the failed attempt, taken once for this one


# -- reads are private ----------------------------------------------------------------------------
def test_order_reads_need_the_api_key(client: TestClient, catalog: RunningService) -> None:
    order = post_order(
        client, {"customer_id": customer(), "items": [{"product_id": product(catalog), "quantity": 1}]}
    )
    order_id = order.json()["id"]
    for path, params in ((f"/orders/{order_id}", {}), ("/orders", {"customer_id": "customer-42"})):
        r = client.get(path, params=params)
        assert r.status_code == 401, path
        assert r.json() == {"detail": "missing or invalid X-Api-Key header"}
        assert (
            client.get(path, params=params, headers={"X-Api-Key": "wrong-key-of-16-chars"}).status_code == 401
        )
        assert client.get(path, params=params, headers=API).status_code == 200


# -- self-healing: nobody comes back --------------------------------------------------------------
def _reserve(catalog: RunningService, product_id: str, order_id: str, quantity: int) -> None:
    r = httpx.post(
        f"{catalog.url}/catalog/products/{product_id}/reservations",
        json={"order_id": order_id, "quantity": quantity},
        headers={"X-Service-Token": SECRETS["SERVICE_TOKEN"]},
        timeout=10,
    )
    assert r.status_code == 201, r.text


def _free_lease(app) -> None:
    """Tests share one table: forget whichever test app held the reconciler's lease last."""
    app.state.order_service.claims._call(
        "delete_item",
        TableName=app.state.settings.table_name,
        Key={"pk": {"S": "RECONCILER"}, "sk": {"S": "LEASE"}},
    )


def _reconcile(app):
    _free_lease(app)
    return app.state.reconciler.run_once()


def _crashed_attempt(app, catalog: RunningService, lease: float) -> tuple[str, str, str]:
    """(key, order id, product): an attempt that reserved 3 units and died before storing its order."""
    from orders.models import OrderCreate
    from orders.service import request_hash

    a = product(catalog, 10)
    body = OrderCreate.model_validate(
        {"customer_id": customer(), "items": [{"product_id": a, "quantity": 3}]}
    )
    key, order_id = f"crashed-{uuid.uuid4().hex}", str(uuid.uuid4())
    assert app.state.order_service.claims.put_claim(key, request_hash(body), order_id, [a], lease)
    _reserve(catalog, a, order_id, 3)
    assert stock(catalog, a) == 7
    return key, order_id, a


def test_reconciler_releases_an_expired_claim_and_frees_its_key(
    moto, table: str, catalog: RunningService
) -> None:
    app = _orders_app(moto, table, catalog.url)
    key, order_id, a = _crashed_attempt(app, catalog, lease=-1)
    live_key, _, live = _crashed_attempt(app, catalog, lease=60)  # still running: not touched
    counts = _reconcile(app)
    assert counts is not None
    assert counts["claims_released"] >= 1
    assert stock(catalog, a) == 10
    assert app.state.order_service.claims.get_claim(key) is None
    assert stock(catalog, live) == 7
    assert app.state.order_service.claims.get_claim(live_key)["state"] == "in_progress"
    # The old attempt, if it was only slow, can no longer store a confirmed order.
    late = {"id": order_id, "customer_id": "c", "status": "confirmed", "items": [], "created_at": "t"}
    assert app.state.repository.complete(key, late) is False


def test_a_fenced_attempt_cannot_complete(moto, table: str, catalog: RunningService) -> None:
    app = _orders_app(moto, table, catalog.url)
    key, order_id, a = _crashed_attempt(app, catalog, lease=-1)
    claims = app.state.order_service.claims
    assert app.state.order_service.release_expired(claims.get_claim(key))
    assert claims.get_claim(key)["state"] == "releasing"
    late = {"id": order_id, "customer_id": "c", "status": "confirmed", "items": [], "created_at": "t"}
    assert app.state.repository.complete(key, late) is False
    assert stock(catalog, a) == 10


def test_the_running_service_repairs_without_any_call(moto, table: str, catalog: RunningService) -> None:
    app = _orders_app(moto, table, catalog.url, RECONCILER_ENABLED="true", RECONCILE_INTERVAL_SECONDS="0.2")
    with TestClient(app):
        key, _, a = _crashed_attempt(app, catalog, lease=-1)
        deadline = time.monotonic() + 15
        while stock(catalog, a) != 10 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert stock(catalog, a) == 10
    assert app.state.order_service.claims.get_claim(key) is None


def test_only_one_replica_reconciles_at_a_time(moto, table: str, catalog: RunningService) -> None:
    first, second = (_orders_app(moto, table, catalog.url) for _ in range(2))
    assert _reconcile(first) is not None
    assert second.state.reconciler.run_once() is None
    assert first.state.reconciler.run_once() is not None  # the holder renews its own lease
    _free_lease(first)


def test_a_repair_is_logged_with_emf_metrics(moto, table: str, catalog: RunningService, caplog) -> None:
    app = _orders_app(moto, table, catalog.url)
    _crashed_attempt(app, catalog, lease=-1)
    with caplog.at_level("INFO", logger="orders.reconciler"):
        _reconcile(app)
    [line] = [r for r in caplog.records if r.getMessage() == "reconciler repaired"]
    assert line.Repairs >= 1
    assert line.claims_released >= 1
    [declaration] = line._aws["CloudWatchMetrics"]
    assert {m["Name"] for m in declaration["Metrics"]} == {"Repairs", "RepairFailures", "ReconcilerPasses"}
    assert declaration["Dimensions"] == [["Service", "Environment"]]
    assert line.ReconcilerPasses == 1


def test_every_leader_pass_emits_the_heartbeat_metric(moto, catalog: RunningService, caplog) -> None:
    """The ReconcilerPasses alarm fires when the metric is missing: each pass of the leader must
    write it, also when there was nothing to repair; a replica that does not lead writes nothing."""
    fresh = create_table("orders", unique_table("orders"), endpoint_url=moto.url)  # nothing due here
    leader, other = (_orders_app(moto, fresh, catalog.url) for _ in range(2))
    with caplog.at_level("INFO", logger="orders.reconciler"):
        assert leader.state.reconciler.run_once() == {}
        assert leader.state.reconciler.run_once() == {}
        assert other.state.reconciler.run_once() is None
    lines = [r for r in caplog.records if r.name == "orders.reconciler"]
    assert [r.getMessage() for r in lines] == ["reconciler pass", "reconciler pass"]
    for line in lines:
        assert (line.ReconcilerPasses, line.Repairs, line.RepairFailures) == (1, 0, 0)
        [declaration] = line._aws["CloudWatchMetrics"]
        assert "ReconcilerPasses" in {m["Name"] for m in declaration["Metrics"]}
        assert line.Service == "orders"


def test_items_that_never_repair_do_not_block_the_rest(
    moto, catalog: RunningService, monkeypatch, caplog
) -> None:
    """More than a batch of repairable claims behind a full batch of claims whose repair always
    fails (catalog refusing the token, say): one wake-up of the reconciler repairs every
    repairable one, in ceil((stuck + repairable) / batch) passes run back to back, and postpones
    the stuck ones behind them."""
    from orders.claims import claim_key

    fresh = create_table("orders", unique_table("orders"), endpoint_url=moto.url)  # no other test's work
    app = _orders_app(moto, fresh, catalog.url)
    reconciler, service = app.state.reconciler, app.state.order_service
    batch, stuck, repairable = reconciler.batch, reconciler.batch, reconciler.batch + 5
    for i in range(stuck):  # oldest first: each pass would take them again if they stayed due
        assert service.claims.put_claim(f"stuck-{i}", "h", str(uuid.uuid4()), [], lease_seconds=-100 - i)
    for i in range(repairable):
        assert service.claims.put_claim(f"ok-{i}", "h", str(uuid.uuid4()), [], lease_seconds=-1)
    real = service.release_expired

    def refused(claim: dict) -> bool:
        if claim["key"].startswith("stuck-"):
            raise RuntimeError("catalog answered 401")
        return real(claim)

    monkeypatch.setattr(service, "release_expired", refused)
    # A first failure postpones by 2 intervals: 2 minutes here, so the check below that nothing is
    # due after the wake-up cannot race a loaded machine's clock (5 s gave 10 s, and a drain of 55
    # claims on 2 busy cores took longer than that: seen once in a full `make test`).
    monkeypatch.setattr(reconciler, "interval", 60.0)
    started = time.time()  # every stuck claim was due 100 s before this
    with caplog.at_level("WARNING", logger="orders.reconciler"):
        passes = reconciler.drain()
    failed = [r for r in caplog.records if r.getMessage() == "repair failed"]
    assert len(failed) == stuck
    assert {(r.item, r.detail) for r in failed} == {
        (f"IDEMPOTENCY#stuck-{i}", "catalog answered 401") for i in range(stuck)
    }
    assert passes <= -(-(stuck + repairable) // batch) + 1
    assert [k for k in (f"ok-{i}" for i in range(repairable)) if service.claims.get_claim(k)] == []
    ddb = boto3.client("dynamodb", endpoint_url=moto.url)
    for i in range(stuck):
        item = ddb.get_item(TableName=fresh, Key=claim_key(f"stuck-{i}"), ConsistentRead=True)["Item"]
        # Postponed: due again after the pass began (not compared with the clock after the pass, which
        # a loaded machine may have moved past a short backoff).
        assert float(item["gsi1sk"]["S"]) > started, "a failed repair is postponed"
        assert item["repair_failures"]["N"] == "1"
    assert service.claims.due_items(batch) == []


def test_back_to_back_passes_stop_on_shutdown(moto, table: str, catalog: RunningService) -> None:
    from collections import Counter

    reconciler = _orders_app(moto, table, catalog.url).state.reconciler
    passes: list[int] = []

    def full_pass() -> Counter:  # every pass finds a full batch and repairs it: there is always more
        passes.append(1)
        assert len(passes) < 10, "drain ignored the shutdown"
        if len(passes) == 3:
            reconciler.stop()
        return Counter(due=reconciler.batch, claims_released=reconciler.batch)

    reconciler.run_once = full_pass
    assert reconciler.drain() == 3


def test_postponing_never_races_a_completion(moto, table: str, catalog: RunningService) -> None:
    from orders.claims import claim_key

    app = _orders_app(moto, table, catalog.url)
    claims = app.state.order_service.claims
    ddb = boto3.client("dynamodb", endpoint_url=moto.url)
    key = f"race-{uuid.uuid4().hex}"
    order_id = str(uuid.uuid4())
    assert claims.put_claim(key, "h", order_id, [], lease_seconds=-1)
    read = ddb.get_item(TableName=table, Key=claim_key(key), ConsistentRead=True)["Item"]
    assert claims.expire(key, order_id)  # someone else moved it meanwhile: the stale read loses
    assert claims.postpone(read, 60) is False
    assert claims.drop(key, order_id)
    assert claims.postpone(read, 60) is False  # and a finished item is never brought back
    assert "Item" not in ddb.get_item(TableName=table, Key=claim_key(key), ConsistentRead=True)


def test_a_cancel_cut_off_after_its_first_step_is_finished_by_the_reconciler(
    moto, table: str, catalog: RunningService
) -> None:
    app = _orders_app(moto, table, catalog.url)
    a = product(catalog, 10)
    with TestClient(app) as c:
        order = post_order(c, {"customer_id": customer(), "items": [{"product_id": a, "quantity": 4}]}).json()
        # The process dies right after the intermediate state was written.
        assert app.state.repository.begin_cancel(order["id"], grace_seconds=-1)
        assert c.get(f"/orders/{order['id']}", headers=API).json()["status"] == "cancelling"
        assert stock(catalog, a) == 6
        counts = _reconcile(app)
        assert counts is not None
        assert counts["cancels_finished"] >= 1
        assert c.get(f"/orders/{order['id']}", headers=API).json()["status"] == "cancelled"
        assert stock(catalog, a) == 10
        assert not [i for i in table_items(moto, table, f"ORDER#{order['id']}") if i["sk"]["S"] == "CANCEL"]


def test_cancel_of_a_cancelling_order_finishes_it(client: TestClient, catalog: RunningService) -> None:
    a = product(catalog, 10)
    order = post_order(
        client, {"customer_id": customer(), "items": [{"product_id": a, "quantity": 4}]}
    ).json()
    assert client.app.state.repository.begin_cancel(order["id"], grace_seconds=60)
    r = client.post(f"/orders/{order['id']}/cancel", headers=API)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert stock(catalog, a) == 10


def test_claims_expire_through_the_ttl_attribute(moto, table: str, catalog: RunningService) -> None:
    import manifests
    from orders.claims import TTL_ATTRIBUTE

    assert manifests.get("orders").table.ttl_attribute == TTL_ATTRIBUTE
    a = product(catalog, 10)
    body = {"customer_id": customer(), "items": [{"product_id": a, "quantity": 1}]}
    key = f"ttl-{uuid.uuid4().hex}"
    with TestClient(_orders_app(moto, table, catalog.url, IDEMPOTENCY_RETENTION_SECONDS="3600")) as c:
        first = post_order(c, body, key).json()
        [claim] = table_items(moto, table, f"IDEMPOTENCY#{key}")
        assert abs(int(claim[TTL_ATTRIBUTE]["N"]) - (time.time() + 3600)) < 60
        assert "gsi1pk" not in claim  # done: not pending work any more
        # Past its expiry (DynamoDB deletes it within days, not at once) the key is free again.
        boto3.client("dynamodb", endpoint_url=moto.url).update_item(
            TableName=table,
            Key={"pk": claim["pk"], "sk": claim["sk"]},
            UpdateExpression="SET #e = :past",
            ExpressionAttributeNames={"#e": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )
        again = post_order(c, body, key)
        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again.headers
        assert again.json()["id"] != first["id"]


def test_the_dynamodb_pool_is_larger_than_the_request_thread_pool(
    moto, table: str, catalog: RunningService
) -> None:
    import anyio.to_thread

    app = _orders_app(moto, table, catalog.url, REQUEST_THREADS="64")
    with TestClient(app) as c:
        threads = c.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
    assert threads == 64
    assert app.state.repository.client.meta.config.max_pool_connections > threads


def test_a_store_that_fails_after_committing_still_answers_201(
    moto, table: str, catalog: RunningService
) -> None:
    from svc_common.dynamo import StoreUnavailableError

    a = product(catalog, 10)
    body = {"customer_id": customer(), "items": [{"product_id": a, "quantity": 3}]}
    app = _orders_app(moto, table, catalog.url)
    repo = app.state.order_service.repo
    commit = repo.complete

    def commits_then_fails(key, order):
        commit(key, order)
        raise StoreUnavailableError("injected: the answer of a committed transaction was lost")

    repo.complete = commits_then_fails
    with TestClient(app) as c:
        r = post_order(c, body)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "confirmed"
        assert c.get(f"/orders/{r.json()['id']}", headers=API).json() == r.json()
    assert stock(catalog, a) == 7
