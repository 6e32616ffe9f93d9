"""Stock reservation routes, used by other services (X-Service-Token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from svc_common.errors import responses

from catalog.api.deps import repository, require_service_token
from catalog.core.config import PATH_PREFIX
from catalog.models import (
    MAX_ORDER_LINES,
    OrderRelease,
    OrderReservation,
    OrderReservationCreate,
    Reservation,
    ReservationCreate,
)
from catalog.stock import StockRepository

router = APIRouter(
    prefix=f"{PATH_PREFIX}/products/{{product_id}}/reservations",
    tags=["reservations"],
    dependencies=[Depends(require_service_token)],
)
order_router = APIRouter(
    prefix=f"{PATH_PREFIX}/reservations",
    tags=["reservations"],
    dependencies=[Depends(require_service_token)],
)
Repo = Annotated[StockRepository, Depends(repository)]
ProductId = Annotated[str, Path(min_length=1, max_length=64, description="Product id.")]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=64, description="Order id of the reservation.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Reservation,
    summary="Reserve stock for an order (idempotent per order id)",
    description=(
        "Takes `quantity` units from stock for `order_id`. Repeating the call with the same order id "
        "and quantity returns the existing reservation with 200 and does not take stock again. "
        "409 when stock is insufficient, when the order already holds a different quantity, "
        "or when the order's reservation was released."
    ),
    responses={
        200: {"model": Reservation, "description": "Already reserved (replay); stock unchanged."},
        **responses(400, 401, 404, 409, 413, 422, 503),
    },
)
def reserve(product_id: ProductId, body: ReservationCreate, repo: Repo, response: Response) -> dict:
    reservation, created = repo.reserve(product_id, body.order_id, body.quantity)
    if not created:
        response.status_code = status.HTTP_200_OK
    return reservation


@router.delete(
    "/{order_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Release an order's reservation (idempotent; stock is given back once)",
    responses=responses(401, 404, 422, 503),
)
def release(product_id: ProductId, order_id: OrderIdPath, repo: Repo) -> Response:
    repo.release(product_id, order_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@order_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderReservation,
    summary="Reserve stock for every line of an order, all or nothing (idempotent per order id)",
    description=(
        "Takes each line's `quantity` from its product's stock for `order_id` and returns each "
        "line's price, in one DynamoDB transaction: either every line is reserved or none is. "
        f"At most {MAX_ORDER_LINES} lines (each takes 2 of a transaction's 100 actions), each "
        "product once. Repeating the call with the same order id and lines returns the same lines "
        "with 200 and takes nothing again. 409 (reason in `detail`) when products do not exist, "
        "when a product's stock is insufficient, when the lines are priced in different "
        "currencies, or when the order id was already used for different lines or released. "
        "A refusal reserves nothing."
    ),
    responses={
        200: {"model": OrderReservation, "description": "Already reserved (replay); stock unchanged."},
        **responses(400, 401, 409, 413, 422, 503),
    },
)
def reserve_order(body: OrderReservationCreate, repo: Repo, response: Response) -> dict:
    lines, created = repo.reserve_order(
        body.order_id, [(line.product_id, line.quantity) for line in body.lines]
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return {"order_id": body.order_id, "lines": lines}


@order_router.post(
    "/{order_id}/release",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Release an order's reservations on these products (idempotent; stock is given back once)",
    description=(
        "Gives back, in one DynamoDB transaction, every unit `order_id` holds on the listed products. "
        "A product the order holds nothing on is marked, so a late reservation of the order cannot "
        "take its stock; products that do not exist are skipped. Calling it again changes nothing."
    ),
    responses=responses(400, 401, 413, 422, 503),
)
def release_order(order_id: OrderIdPath, body: OrderRelease, repo: Repo) -> Response:
    repo.release_order(order_id, body.product_ids)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
