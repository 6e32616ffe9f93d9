"""Stock reservation routes, used by other services (X-Service-Token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from svc_common.errors import responses

from catalog.api.deps import repository, require_service_token
from catalog.core.config import PATH_PREFIX
from catalog.models import Reservation, ReservationCreate
from catalog.repository import CatalogRepository

router = APIRouter(
    prefix=f"{PATH_PREFIX}/products/{{product_id}}/reservations",
    tags=["reservations"],
    dependencies=[Depends(require_service_token)],
)
Repo = Annotated[CatalogRepository, Depends(repository)]
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
