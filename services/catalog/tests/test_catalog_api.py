"""catalog API against a real table in the emulator (in-process app, every endpoint and error path)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from catalog.main import create_app
from fastapi.testclient import TestClient
from svc_common.dynamo import StoreUnavailableError
from svc_common.errors import ConflictError

from tests.support.procs import free_port
from tests.support.services import SECRETS, app_env, unique_table
from tests.support.tables import create_table

API = {"X-Api-Key": SECRETS["API_KEY"]}
SVC = {"X-Service-Token": SECRETS["SERVICE_TOKEN"]}
BASE = "/catalog/products"


@pytest.fixture(scope="module")
def client(moto) -> Iterator[TestClient]:
    table = create_table("catalog", unique_table("catalog"), endpoint_url=moto.url)
    with app_env("catalog", table, moto.env):
        app = create_app()
    with TestClient(app) as c:
        yield c


def new_product(client: TestClient, **overrides) -> dict:
    body = {
        "sku": f"SKU-{uuid.uuid4().hex[:12]}",
        "name": "Blue mug",
        "description": "A mug",
        "price": "12.50",
        "currency": "EUR",
        "stock": 5,
        **overrides,
    }
    r = client.post(BASE, json=body, headers=API)
    assert r.status_code == 201, r.text
    return r.json()


def stock_of(client: TestClient, product_id: str) -> int:
    r = client.get(f"{BASE}/{product_id}")
    assert r.status_code == 200, r.text
    return r.json()["stock"]


# -- products -------------------------------------------------------------------------------------
def test_create_returns_product_with_server_fields(client: TestClient) -> None:
    p = new_product(client, price="19.9", stock=3)
    assert p["price"] == "19.90"  # always a string with two decimals
    assert p["version"] == 1
    assert p["stock"] == 3
    assert p["currency"] == "EUR"
    uuid.UUID(p["id"])
    assert p["created_at"] == p["updated_at"]
    r = client.get(f"{BASE}/{p['id']}")
    assert r.status_code == 200
    assert r.json() == p
    assert r.headers["ETag"] == '"1"'


def test_create_duplicate_sku_is_409_and_changes_nothing(client: TestClient) -> None:
    p = new_product(client)
    r = client.post(BASE, json={"sku": p["sku"], "name": "x", "price": "1", "currency": "USD"}, headers=API)
    assert r.status_code == 409
    assert p["sku"] in r.json()["detail"]
    assert client.get(f"{BASE}/{p['id']}").json() == p


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": 12.5}, "price"),
        ({"price": "-1.00"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "1e3"}, "price"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"stock": -1}, "stock"),
        ({"stock": "3"}, "stock"),
        ({"stock": 2.5}, "stock"),
        ({"sku": ""}, "sku"),
        ({"sku": "has space"}, "sku"),
        ({"name": "x" * 201}, "name"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_create_rejects_invalid_fields_with_422(client: TestClient, body: dict, field: str) -> None:
    full = {"sku": f"S-{uuid.uuid4().hex[:8]}", "name": "n", "price": "1.00", "currency": "EUR", **body}
    r = client.post(BASE, json=full, headers=API)
    assert r.status_code == 422, r.text
    locs = [e["loc"] for e in r.json()["detail"]]
    assert ["body", field] in locs
    assert all(set(e) == {"loc", "msg", "type"} for e in r.json()["detail"])


def test_create_rejects_missing_fields_and_non_json(client: TestClient) -> None:
    r = client.post(BASE, json={"name": "n"}, headers=API)
    assert r.status_code == 422
    missing = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert {("body", "sku"), ("body", "price"), ("body", "currency")} <= missing
    r = client.post(BASE, content=b"{not json", headers={**API, "Content-Type": "application/json"})
    assert r.status_code == 422
    r = client.post(BASE, json=[1, 2], headers=API)
    assert r.status_code == 422


def test_lone_surrogate_is_a_422_not_a_500(client: TestClient) -> None:
    raw = b'{"sku": "S1", "name": "\\ud800", "price": "1.00", "currency": "EUR"}'
    r = client.post(BASE, content=raw, headers={**API, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "name"]


def test_mutations_need_the_api_key(client: TestClient) -> None:
    p = new_product(client)
    body = {"sku": "S-auth", "name": "n", "price": "1.00", "currency": "EUR"}
    for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": SECRETS["API_KEY"] + "x"}, SVC):
        assert client.post(BASE, json=body, headers=headers).status_code == 401
        r = client.patch(f"{BASE}/{p['id']}", json={"name": "y"}, headers={**headers, "If-Match": "1"})
        assert r.status_code == 401
        assert client.delete(f"{BASE}/{p['id']}", headers=headers).status_code == 401
    r = client.post(BASE, json=body, headers={"X-Api-Key": "wrong"})
    assert r.json() == {"detail": "missing or invalid X-Api-Key header"}
    assert client.get(f"{BASE}/{p['id']}").json() == p


def test_get_unknown_product_is_404(client: TestClient) -> None:
    r = client.get(f"{BASE}/{uuid.uuid4()}")
    assert r.status_code == 404
    assert "not found" in r.json()["detail"]


def test_list_pages_through_every_product_once(client: TestClient) -> None:
    created = {new_product(client)["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = client.get(BASE, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert created <= set(seen)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bm90LWpzb24",  # "not-json"
        base64.urlsafe_b64encode(json.dumps({"id": "x"}).encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(json.dumps({"id": 1, "created_at": 2}).encode()).decode().rstrip("="),
        "A" * 513,
    ],
)
def test_list_rejects_a_bad_cursor(client: TestClient, cursor: str) -> None:
    r = client.get(BASE, params={"cursor": cursor})
    assert r.status_code in (400, 422)
    assert "cursor" in json.dumps(r.json())


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1"])
def test_list_rejects_an_out_of_bounds_limit(client: TestClient, limit: str) -> None:
    r = client.get(BASE, params={"limit": limit})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "limit"]


def test_patch_needs_if_match_and_the_current_version(client: TestClient) -> None:
    p = new_product(client)
    url = f"{BASE}/{p['id']}"
    r = client.patch(url, json={"name": "new"}, headers=API)
    assert r.status_code == 428
    r = client.patch(url, json={"name": "new"}, headers={**API, "If-Match": "7"})
    assert r.status_code == 412
    r = client.patch(url, json={"name": "new"}, headers={**API, "If-Match": "not-a-version"})
    assert r.status_code == 412
    r = client.patch(url, json={"name": "new", "price": "3", "stock": 9}, headers={**API, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["price"], body["stock"], body["version"]) == ("new", "3.00", 9, 2)
    assert r.headers["ETag"] == '"2"'
    # The old version is now stale.
    r = client.patch(url, json={"name": "again"}, headers={**API, "If-Match": "1"})
    assert r.status_code == 412
    assert client.get(url).json()["name"] == "new"


def test_patch_with_null_or_same_values_changes_nothing(client: TestClient) -> None:
    p = new_product(client)
    r = client.patch(
        f"{BASE}/{p['id']}", json={"name": None, "price": p["price"]}, headers={**API, "If-Match": "1"}
    )
    assert r.status_code == 200
    assert r.json() == p


def test_patch_validates_the_body(client: TestClient) -> None:
    p = new_product(client)
    r = client.patch(f"{BASE}/{p['id']}", json={"price": "abc"}, headers={**API, "If-Match": "1"})
    assert r.status_code == 422
    r = client.patch(f"{BASE}/{p['id']}", json={"id": "other"}, headers={**API, "If-Match": "1"})
    assert r.status_code == 422
    assert client.get(f"{BASE}/{p['id']}").json() == p


def test_patch_sku_keeps_skus_unique(client: TestClient) -> None:
    a, b = new_product(client), new_product(client)
    r = client.patch(f"{BASE}/{a['id']}", json={"sku": b["sku"]}, headers={**API, "If-Match": "1"})
    assert r.status_code == 409
    assert client.get(f"{BASE}/{a['id']}").json() == a
    new_sku = f"SKU-{uuid.uuid4().hex[:12]}"
    r = client.patch(f"{BASE}/{a['id']}", json={"sku": new_sku}, headers={**API, "If-Match": "1"})
    assert r.status_code == 200
    assert r.json()["sku"] == new_sku
    # The old sku is free again; the new one is taken.
    new_product(client, sku=a["sku"])
    r = client.post(BASE, json={"sku": new_sku, "name": "n", "price": "1", "currency": "EUR"}, headers=API)
    assert r.status_code == 409


def test_patch_unknown_product_is_404(client: TestClient) -> None:
    r = client.patch(f"{BASE}/{uuid.uuid4()}", json={"name": "x"}, headers={**API, "If-Match": "1"})
    assert r.status_code == 404


def test_delete_removes_the_product_and_frees_its_sku(client: TestClient) -> None:
    p = new_product(client)
    assert client.delete(f"{BASE}/{p['id']}", headers=API).status_code == 204
    assert client.get(f"{BASE}/{p['id']}").status_code == 404
    assert client.delete(f"{BASE}/{p['id']}", headers=API).status_code == 404
    new_product(client, sku=p["sku"])


# -- reservations ---------------------------------------------------------------------------------
def test_reservations_need_the_service_token(client: TestClient) -> None:
    p = new_product(client)
    url = f"{BASE}/{p['id']}/reservations"
    for headers in ({}, API, {"X-Service-Token": "wrong"}):
        assert client.post(url, json={"order_id": "o-1", "quantity": 1}, headers=headers).status_code == 401
        assert client.delete(f"{url}/o-1", headers=headers).status_code == 401
    assert stock_of(client, p["id"]) == 5


def test_reserve_is_idempotent_per_order(client: TestClient) -> None:
    p = new_product(client, stock=5)
    url = f"{BASE}/{p['id']}/reservations"
    r = client.post(url, json={"order_id": "order-a", "quantity": 2}, headers=SVC)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["status"], first["quantity"], first["product_id"]) == ("active", 2, p["id"])
    assert stock_of(client, p["id"]) == 3
    r = client.post(url, json={"order_id": "order-a", "quantity": 2}, headers=SVC)
    assert r.status_code == 200
    assert r.json() == first
    assert stock_of(client, p["id"]) == 3
    r = client.post(url, json={"order_id": "order-a", "quantity": 1}, headers=SVC)
    assert r.status_code == 409
    assert "already holds" in r.json()["detail"]
    assert stock_of(client, p["id"]) == 3


def test_reserve_more_than_the_stock_is_409(client: TestClient) -> None:
    p = new_product(client, stock=2)
    r = client.post(f"{BASE}/{p['id']}/reservations", json={"order_id": "big", "quantity": 3}, headers=SVC)
    assert r.status_code == 409
    assert r.json()["detail"] == "insufficient stock: requested 3, available 2"
    assert stock_of(client, p["id"]) == 2
    r = client.post(f"{BASE}/{p['id']}/reservations", json={"order_id": "big", "quantity": 2}, headers=SVC)
    assert r.status_code == 201
    assert stock_of(client, p["id"]) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "o", "quantity": 0},
        {"order_id": "o", "quantity": 10001},
        {"order_id": "a b", "quantity": 1},
        {},
    ],
)
def test_reserve_validates_the_body(client: TestClient, body: dict) -> None:
    p = new_product(client)
    assert client.post(f"{BASE}/{p['id']}/reservations", json=body, headers=SVC).status_code == 422
    assert stock_of(client, p["id"]) == 5


def test_reserve_on_unknown_product_is_404(client: TestClient) -> None:
    r = client.post(f"{BASE}/{uuid.uuid4()}/reservations", json={"order_id": "o", "quantity": 1}, headers=SVC)
    assert r.status_code == 404


def test_release_restores_stock_once(client: TestClient) -> None:
    p = new_product(client, stock=4)
    url = f"{BASE}/{p['id']}/reservations"
    assert client.post(url, json={"order_id": "rel-1", "quantity": 3}, headers=SVC).status_code == 201
    assert stock_of(client, p["id"]) == 1
    assert client.delete(f"{url}/rel-1", headers=SVC).status_code == 204
    assert stock_of(client, p["id"]) == 4
    assert client.delete(f"{url}/rel-1", headers=SVC).status_code == 204
    assert stock_of(client, p["id"]) == 4
    # A released reservation cannot be taken again (a late retry must not leak stock).
    r = client.post(url, json={"order_id": "rel-1", "quantity": 3}, headers=SVC)
    assert r.status_code == 409
    assert "released" in r.json()["detail"]
    assert stock_of(client, p["id"]) == 4


def test_release_before_reserve_blocks_a_late_reservation(client: TestClient) -> None:
    p = new_product(client, stock=4)
    url = f"{BASE}/{p['id']}/reservations"
    assert client.delete(f"{url}/late-1", headers=SVC).status_code == 204
    assert stock_of(client, p["id"]) == 4
    assert client.post(url, json={"order_id": "late-1", "quantity": 1}, headers=SVC).status_code == 409
    assert stock_of(client, p["id"]) == 4


def test_release_on_unknown_product_is_404(client: TestClient) -> None:
    assert client.delete(f"{BASE}/{uuid.uuid4()}/reservations/o-1", headers=SVC).status_code == 404


def test_release_after_product_deletion_succeeds(client: TestClient) -> None:
    p = new_product(client, stock=4)
    url = f"{BASE}/{p['id']}/reservations"
    assert client.post(url, json={"order_id": "gone-1", "quantity": 1}, headers=SVC).status_code == 201
    assert client.delete(f"{BASE}/{p['id']}", headers=API).status_code == 204
    assert client.delete(f"{url}/gone-1", headers=SVC).status_code == 204


def test_reservations_change_the_version(client: TestClient) -> None:
    p = new_product(client, stock=4)
    client.post(f"{BASE}/{p['id']}/reservations", json={"order_id": "v-1", "quantity": 1}, headers=SVC)
    r = client.patch(f"{BASE}/{p['id']}", json={"stock": 10}, headers={**API, "If-Match": "1"})
    assert r.status_code == 412  # stock moved since version 1: no lost update
    assert stock_of(client, p["id"]) == 3


# -- an order's lines, all at once -----------------------------------------------------------------
ORDER_RESERVATIONS = "/catalog/reservations"


def reserve_lines(client: TestClient, order_id: str, lines: list[tuple[str, int]], headers: dict = SVC):
    body = {"order_id": order_id, "lines": [{"product_id": p, "quantity": q} for p, q in lines]}
    return client.post(ORDER_RESERVATIONS, json=body, headers=headers)


def test_an_orders_lines_are_reserved_together_with_their_prices(client: TestClient) -> None:
    a, b = new_product(client, stock=5, price="12.50"), new_product(client, stock=3, price="0.05")
    order_id = f"batch-{uuid.uuid4().hex}"
    r = reserve_lines(client, order_id, [(a["id"], 2), (b["id"], 3)])
    assert r.status_code == 201, r.text
    assert r.json() == {
        "order_id": order_id,
        "lines": [
            {"product_id": a["id"], "quantity": 2, "unit_price": "12.50", "currency": "EUR"},
            {"product_id": b["id"], "quantity": 3, "unit_price": "0.05", "currency": "EUR"},
        ],
    }
    assert (stock_of(client, a["id"]), stock_of(client, b["id"])) == (3, 0)
    # The same request again (a retry after a lost answer) takes nothing again.
    replay = reserve_lines(client, order_id, [(a["id"], 2), (b["id"], 3)])
    assert (replay.status_code, replay.json()) == (200, r.json())
    assert (stock_of(client, a["id"]), stock_of(client, b["id"])) == (3, 0)
    # A different request under the same order id is refused and changes nothing.
    for lines in (
        [(a["id"], 1), (b["id"], 3)],
        [(a["id"], 2)],
        [(a["id"], 2), (b["id"], 3), (new_product(client)["id"], 1)],
    ):
        r = reserve_lines(client, order_id, lines)
        assert r.status_code == 409, lines
        assert "different request" in r.json()["detail"]
    assert (stock_of(client, a["id"]), stock_of(client, b["id"])) == (3, 0)


def test_one_refused_line_reserves_nothing(client: TestClient) -> None:
    a, b = new_product(client, stock=5), new_product(client, stock=1)
    ghost = str(uuid.uuid4())
    r = reserve_lines(client, f"short-{uuid.uuid4().hex}", [(a["id"], 2), (b["id"], 2)])
    assert r.status_code == 409
    assert r.json()["detail"] == f"product {b['id']}: insufficient stock: requested 2, available 1"
    r = reserve_lines(client, f"ghost-{uuid.uuid4().hex}", [(a["id"], 2), (ghost, 1)])
    assert r.status_code == 409  # the route exists: 404 would mean an older catalog
    assert r.json()["detail"] == f"product(s) not found in catalog: {ghost}"
    usd = new_product(client, currency="USD")
    r = reserve_lines(client, f"fx-{uuid.uuid4().hex}", [(a["id"], 1), (usd["id"], 1)])
    assert r.status_code == 409
    assert r.json()["detail"] == "items are priced in different currencies (EUR, USD)"
    assert (stock_of(client, a["id"]), stock_of(client, b["id"]), stock_of(client, usd["id"])) == (5, 1, 5)


def test_a_released_order_cannot_reserve_again(client: TestClient) -> None:
    a, b = new_product(client, stock=5), new_product(client, stock=5)
    order_id = f"fenced-{uuid.uuid4().hex}"
    # The reconciler released the order before its (late) reservation arrived.
    assert client.delete(f"{BASE}/{b['id']}/reservations/{order_id}", headers=SVC).status_code == 204
    r = reserve_lines(client, order_id, [(a["id"], 1), (b["id"], 1)])
    assert r.status_code == 409
    assert "released" in r.json()["detail"]
    assert (stock_of(client, a["id"]), stock_of(client, b["id"])) == (5, 5)


def test_the_largest_order_fits_one_transaction(client: TestClient) -> None:
    from catalog.models import MAX_ORDER_LINES

    products = [new_product(client, stock=2)["id"] for _ in range(MAX_ORDER_LINES)]
    r = reserve_lines(client, f"big-{uuid.uuid4().hex}", [(p, 1) for p in products])
    assert r.status_code == 201, r.text
    assert {stock_of(client, p) for p in products} == {1}
    r = reserve_lines(
        client, f"big-{uuid.uuid4().hex}", [(p, 1) for p in products] + [(str(uuid.uuid4()), 1)]
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "lines"]
    assert {stock_of(client, p) for p in products} == {1}


@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "o", "lines": []},
        {"order_id": "o", "lines": [{"product_id": "p", "quantity": 1}, {"product_id": "p", "quantity": 2}]},
        {"order_id": "o", "lines": [{"product_id": "p", "quantity": 0}]},
        {"order_id": "a b", "lines": [{"product_id": "p", "quantity": 1}]},
        {"order_id": "o"},
    ],
)
def test_order_reservations_validate_the_body(client: TestClient, body: dict) -> None:
    assert client.post(ORDER_RESERVATIONS, json=body, headers=SVC).status_code == 422


def test_order_reservations_need_the_service_token(client: TestClient) -> None:
    p = new_product(client)
    for headers in ({}, API, {"X-Service-Token": "wrong"}):
        assert reserve_lines(client, "o-tok", [(p["id"], 1)], headers=headers).status_code == 401
    assert stock_of(client, p["id"]) == 5


def release_lines(client: TestClient, order_id: str, product_ids: list[str], headers: dict = SVC):
    return client.post(
        f"{ORDER_RESERVATIONS}/{order_id}/release", json={"product_ids": product_ids}, headers=headers
    )


def test_an_orders_reservations_are_released_together_once(client: TestClient) -> None:
    a, b, c = (new_product(client, stock=5)["id"] for _ in range(3))
    gone = new_product(client, stock=5)["id"]
    order_id = f"rel-{uuid.uuid4().hex}"
    assert reserve_lines(client, order_id, [(a, 2), (b, 3), (gone, 1)]).status_code == 201
    assert client.delete(f"{BASE}/{gone}", headers=API).status_code == 204
    ghost = str(uuid.uuid4())
    for _ in range(2):  # the second call changes nothing
        r = release_lines(client, order_id, [a, b, c, gone, ghost])
        assert r.status_code == 204, r.text
        assert [stock_of(client, p) for p in (a, b, c)] == [5, 5, 5]
    # c was never reserved by the order: it is marked, so a late reservation cannot take it.
    r = reserve_lines(client, order_id, [(c, 1)])
    assert r.status_code == 409
    assert "released" in r.json()["detail"]
    assert stock_of(client, c) == 5


@pytest.mark.parametrize(
    "body", [{"product_ids": []}, {"product_ids": ["p", "p"]}, {"product_ids": ["a b"]}, {}]
)
def test_order_release_validates_the_body(client: TestClient, body: dict) -> None:
    assert client.post(f"{ORDER_RESERVATIONS}/o-1/release", json=body, headers=SVC).status_code == 422


def test_order_release_needs_the_service_token(client: TestClient) -> None:
    p = new_product(client)["id"]
    order_id = f"tok-{uuid.uuid4().hex}"
    assert reserve_lines(client, order_id, [(p, 2)]).status_code == 201
    for headers in ({}, API, {"X-Service-Token": "wrong"}):
        assert release_lines(client, order_id, [p], headers=headers).status_code == 401
    assert stock_of(client, p) == 3


def test_stock_is_taken_at_the_price_returned(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A price change between the read and the transaction makes it read again."""
    p = new_product(client, stock=5, price="10.00")
    repo = client.app.state.repository
    read = repo._read_order
    calls: list[int] = []

    def read_then_price_changes(order_id: str, product_ids: list[str]):
        seen = read(order_id, product_ids)
        if not calls:
            repo.update_product(p["id"], None, {"price": Decimal("11.00")})
        calls.append(1)
        return seen

    monkeypatch.setattr(repo, "_read_order", read_then_price_changes)
    r = reserve_lines(client, f"price-{uuid.uuid4().hex}", [(p["id"], 1)])
    assert r.status_code == 201
    assert r.json()["lines"][0]["unit_price"] == "11.00"
    assert len(calls) == 2
    assert stock_of(client, p["id"]) == 4


def test_concurrent_orders_never_oversell(client: TestClient) -> None:
    repo = client.app.state.repository
    a, b = new_product(client, stock=7)["id"], new_product(client, stock=7)["id"]

    def order(i: int) -> bool:
        try:
            repo.reserve_order(f"race-{i}-{uuid.uuid4().hex}", [(a, 2), (b, 1)])
            return True
        except ConflictError:
            return False
        except StoreUnavailableError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        placed = sum(pool.map(order, range(12)))
    assert placed <= 3
    assert (stock_of(client, a), stock_of(client, b)) == (7 - 2 * placed, 7 - placed)


# -- cross-cutting --------------------------------------------------------------------------------
def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    r = client.get(f"{BASE}/{uuid.uuid4()}", headers={"X-Request-Id": "abc-123"})
    assert r.headers["X-Request-Id"] == "abc-123"
    generated = client.get("/catalog/health").headers["X-Request-Id"]
    assert len(generated) == 32
    replaced = client.get("/catalog/health", headers={"X-Request-Id": "bad id\twith junk"}).headers[
        "X-Request-Id"
    ]
    assert replaced != "bad id\twith junk"
    assert len(replaced) == 32


def test_oversized_body_is_413(client: TestClient) -> None:
    body = {"sku": "S-big", "name": "n", "price": "1.00", "currency": "EUR", "description": "x" * 70_000}
    r = client.post(BASE, json=body, headers=API)
    assert r.status_code == 413
    assert r.json() == {"detail": "request body too large: at most 65536 bytes"}
    assert r.headers["X-Request-Id"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield json.dumps(body).encode()

    streamed = client.post(BASE, content=chunks(), headers={**API, "Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json() == r.json()
    assert client.get(BASE, params={"limit": 100}).status_code == 200


def test_health_ready_and_docs_live_under_the_prefix(client: TestClient) -> None:
    assert client.get("/catalog/health").json() == {"status": "ok", "revision": "unknown"}
    assert client.get("/catalog/ready").json()["status"] == "ready"
    spec = client.get("/catalog/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "ServiceToken"}
    assert "/catalog/products/{product_id}/reservations" in spec["paths"]
    assert client.get("/catalog/docs").status_code == 200
    assert client.get("/openapi.json").status_code == 404


def test_unreachable_table_is_503_fast_but_health_stays_up(moto) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {**moto.env, "AWS_ENDPOINT_URL": dead}
    with app_env("catalog", "no-such-table", env, {"AWS_MAX_ATTEMPTS": "2"}):
        app = create_app()
    with TestClient(app) as c:
        start = time.monotonic()
        r = c.get(f"{BASE}/{uuid.uuid4()}")
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "2"
        assert time.monotonic() - start < 10
        r = c.post(BASE, json={"sku": "S", "name": "n", "price": "1", "currency": "EUR"}, headers=API)
        assert r.status_code == 503
        assert c.get("/catalog/ready").status_code == 503
        assert c.get("/catalog/health").status_code == 200


def test_missing_table_is_503(moto) -> None:
    with app_env("catalog", "table-that-does-not-exist", moto.env):
        app = create_app()
    with TestClient(app) as c:
        assert c.get(f"{BASE}/{uuid.uuid4()}").status_code == 503
        assert c.get("/catalog/ready").json()["status"] == "unavailable"


def test_if_match_uses_the_strong_comparison_and_accepts_a_star(client: TestClient) -> None:
    p = new_product(client)
    url = f"{BASE}/{p['id']}"
    r = client.patch(url, json={"name": "weak"}, headers={**API, "If-Match": 'W/"1"'})
    assert r.status_code == 412, "a weak tag never matches If-Match (RFC 9110 13.1.1)"
    assert "strong comparison" in r.json()["detail"]
    r = client.patch(url, json={"name": "star"}, headers={**API, "If-Match": "*"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.headers["ETag"]) == ("star", '"2"')
    r = client.patch(url, json={"name": "listed"}, headers={**API, "If-Match": '"7", W/"2", "2"'})
    assert r.status_code == 200, r.text
    r = client.patch(url, json={"name": "stale"}, headers={**API, "If-Match": '"1", "2"'})
    assert r.status_code == 412
    assert (
        client.patch(
            f"{BASE}/{uuid.uuid4()}", json={"name": "x"}, headers={**API, "If-Match": "*"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize("name", ["nul\x00byte", "line\nbreak", "tab\tinside", "esc\x1b[31m", "c1\x85"])
def test_names_refuse_control_characters(client: TestClient, name: str) -> None:
    body = {"sku": f"CC-{uuid.uuid4().hex[:8]}", "name": name, "price": "1.00", "currency": "EUR"}
    r = client.post(BASE, json=body, headers=API)
    assert r.status_code == 422
    assert "control characters" in r.text
    # Nothing was created: the sku is still free.
    assert client.post(BASE, json={**body, "name": "clean"}, headers=API).status_code == 201


def test_descriptions_keep_line_breaks_but_refuse_other_controls(client: TestClient) -> None:
    assert new_product(client, description="line one\nline two\ttabbed")["description"].count("\n") == 1
    body = {
        "sku": f"CC-{uuid.uuid4().hex[:8]}",
        "name": "n",
        "price": "1.00",
        "currency": "EUR",
        "description": "a\x00",
    }
    assert client.post(BASE, json=body, headers=API).status_code == 422


def test_405_lists_the_methods_the_path_allows(client: TestClient) -> None:
    p = new_product(client)
    r = client.put(BASE, headers=API)
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, POST"
    assert r.json() == {"detail": "Method Not Allowed"}
    r = client.post(f"{BASE}/{p['id']}", headers=API)
    assert r.status_code == 405
    assert r.headers["Allow"] == "DELETE, GET, PATCH"


def test_health_names_the_revision_the_task_definition_runs(moto) -> None:
    # The smoke test waits for this body to name the deployed commit (old tasks name the old one).
    with app_env("catalog", "any-table", moto.env, {"REVISION": "0123abc"}):
        app = create_app()
    with TestClient(app) as c:
        assert c.get("/catalog/health").json() == {"status": "ok", "revision": "0123abc"}
