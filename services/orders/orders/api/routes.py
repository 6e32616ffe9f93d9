"""orders routes (thin: validation by the models, logic in OrderService, storage in the repository)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from svc_common.errors import responses
from svc_common.security import require_api_key

from orders.core.config import PATH_PREFIX
from orders.models import CustomerId, Order, OrderCreate, OrderPage
from orders.repository import OrdersRepository
from orders.service import OrderService

router = APIRouter(prefix=PATH_PREFIX, tags=["orders"])
OrderIdPath = Annotated[str, Path(min_length=1, max_length=64, description="Order id.")]


def _service(request: Request) -> OrderService:
    return request.app.state.order_service


def _repository(request: Request) -> OrdersRepository:
    return request.app.state.repository


Service = Annotated[OrderService, Depends(_service)]
Repo = Annotated[OrdersRepository, Depends(_repository)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Order,
    summary="Place an order (idempotent per Idempotency-Key)",
    description=(
        "Reserves every item in catalog and stores the order. Lines with the same product_id are "
        "merged (quantities added). If catalog refuses an item (unknown product, insufficient stock) "
        "nothing stays reserved and the order is stored with status `rejected` and a "
        "`rejection_reason` (still 201: the order exists). Repeating the call with the same "
        "Idempotency-Key and body returns the same order (header `Idempotent-Replayed: true`) "
        "and creates nothing; the same key with a different body is 422. A key is remembered for "
        "24 hours (then it places a new order). 409 + Retry-After while another request with the "
        "key is still running. 503 + Retry-After when catalog or the table is unavailable: the "
        "outcome is then unknown (the order may have been stored, e.g. when the store failed after "
        "committing). Retry with the same key and body after Retry-After to get the stored order "
        "or place it now. Without a retry nothing stays held: stock reserved by an interrupted "
        "attempt is released by the service within about a minute; a stored order stays."
    ),
    dependencies=[Depends(require_api_key)],
    responses=responses(400, 401, 409, 413, 422, 503),
)
def create_order(
    body: OrderCreate,
    service: Service,
    response: Response,
    idempotency_key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=128,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="Client-chosen unique key of this order request (e.g. a UUID).",
        ),
    ],
) -> dict:
    order, replayed = service.create(idempotency_key, body)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"{PATH_PREFIX}/{order['id']}"
    return order


@router.get(
    "",
    response_model=OrderPage,
    summary="List a customer's orders, newest first",
    description="Needs `X-Api-Key` (orders are private).",
    dependencies=[Depends(require_api_key)],
    responses=responses(400, 401, 422, 503),
)
def list_orders(
    repo: Repo,
    customer_id: Annotated[CustomerId, Query(description="Customer whose orders to list.")],
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=512, description="next_cursor of the previous page.")
    ] = None,
) -> dict:
    items, next_cursor = repo.list_orders(customer_id, limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{order_id}",
    response_model=Order,
    summary="Get an order",
    description="Needs `X-Api-Key` (orders are private).",
    dependencies=[Depends(require_api_key)],
    responses=responses(401, 404, 422, 503),
)
def get_order(order_id: OrderIdPath, repo: Repo) -> dict:
    return repo.get_order(order_id)


@router.post(
    "/{order_id}/cancel",
    response_model=Order,
    summary="Cancel an order and give its stock back (idempotent)",
    description=(
        "409 for a rejected order; cancelling a cancelled order returns it unchanged. The order "
        "goes through `cancelling` (stock being given back) to `cancelled`; a cancel cut off "
        "half-way is finished by the service within about a minute, or at once by calling again."
    ),
    dependencies=[Depends(require_api_key)],
    responses=responses(401, 404, 409, 422, 503),
)
def cancel_order(order_id: OrderIdPath, service: Service) -> dict:
    return service.cancel(order_id)
