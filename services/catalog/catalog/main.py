"""ASGI app factory: ``python -m svc_common.serve catalog.main:create_app`` (uvicorn ``factory=True``)."""

from __future__ import annotations

from fastapi import FastAPI
from svc_common.app import create_service_app
from svc_common.dynamo import make_client

from catalog.api import products, reservations
from catalog.core.config import API_VERSION, PATH_PREFIX, Settings
from catalog.stock import StockRepository


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg] # values come from the environment
    client = make_client(settings)
    repo = StockRepository(client, settings.table_name)
    return create_service_app(
        settings=settings,
        prefix=PATH_PREFIX,
        title="catalog",
        description=(
            "Products, prices and stock; stock reservations for orders.\n\n"
            'Money amounts (`price`) are JSON strings with at most two decimals, e.g. `"19.99"`. '
            "Mutating product calls need `X-Api-Key`; reservation calls need `X-Service-Token`. "
            'Errors are `{"detail": ...}`.'
        ),
        version=API_VERSION,
        routers=[products.router, reservations.router, reservations.order_router],
        ready_check=repo.ping,
        on_shutdown=[client.close],
        state={"repository": repo},
    )
