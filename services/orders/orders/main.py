"""ASGI app factory: ``python -m svc_common.serve orders.main:create_app`` (uvicorn ``factory=True``)."""

from __future__ import annotations

from fastapi import FastAPI
from svc_common.app import create_service_app
from svc_common.dynamo import make_client

from orders.api import routes
from orders.catalog_client import CatalogClient
from orders.claims import ClaimRepository
from orders.core.config import API_VERSION, PATH_PREFIX, Settings
from orders.reconciler import Reconciler
from orders.repository import OrdersRepository
from orders.service import OrderService


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg] # values come from the environment
    client = make_client(settings)
    claims = ClaimRepository(client, settings.table_name, settings.idempotency_retention_seconds)
    repo = OrdersRepository(client, settings.table_name, claims)
    catalog = CatalogClient(
        settings.catalog_url,
        settings.catalog_service_token,
        connect_timeout=settings.catalog_connect_timeout,
        read_timeout=settings.catalog_read_timeout,
        max_attempts=settings.catalog_max_attempts,
    )
    service = OrderService(
        repo,
        claims,
        catalog,
        lease_seconds=settings.idempotency_lease_seconds,
        wait_seconds=settings.idempotency_wait_seconds,
        retry_after_seconds=settings.retry_after_seconds,
    )
    reconciler = Reconciler(
        service,
        claims,
        repo,
        interval_seconds=settings.reconcile_interval_seconds,
        service_name=settings.service_name,
        environment=settings.environment,
        namespace=settings.metrics_namespace,
    )
    background = [reconciler] if settings.reconciler_enabled else []
    return create_service_app(
        settings=settings,
        prefix=PATH_PREFIX,
        title="orders",
        description=(
            "Orders that reserve stock in catalog; idempotent creation.\n\n"
            'Money amounts are JSON strings with two decimals, e.g. `"19.99"`. Mutating calls need '
            '`X-Api-Key`; POST /orders also needs `Idempotency-Key`. Errors are `{"detail": ...}`.'
        ),
        version=API_VERSION,
        routers=[routes.router],
        ready_check=repo.ping,
        on_startup=[r.start for r in background],
        on_shutdown=[*(r.stop for r in background), catalog.close, client.close],
        state={"repository": repo, "order_service": service, "reconciler": reconciler},
    )
