"""``create_service_app``: a FastAPI app with everything every service needs.

Liveness ``<prefix>/health`` (no I/O), readiness ``<prefix>/ready`` (own table reachable, never
another service), OpenAPI at ``<prefix>/openapi.json`` and docs at ``<prefix>/docs`` (Swagger UI served
by the service itself, see svc_common.docs), JSON access
log + EMF metrics, request ids, body size limit and the shared error handlers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio.to_thread
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from svc_common.docs import install_docs
from svc_common.errors import install_error_handlers
from svc_common.logs import set_log_fields
from svc_common.middleware import RequestContextMiddleware
from svc_common.settings import ServiceSettings

LOGGER = logging.getLogger("svc_common.app")


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok"]
    # The release this process runs (the image tag, i.e. the commit, from the task definition's
    # REVISION): a smoke test waits until the new revision is the one answering.
    revision: str


class Readiness(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ready", "unavailable"]
    detail: str | None = None


def create_service_app(
    *,
    settings: ServiceSettings,
    prefix: str,
    title: str,
    description: str,
    version: str,
    routers: Sequence[APIRouter],
    ready_check: Callable[[], None],
    on_startup: Sequence[Callable[[], None]] = (),
    on_shutdown: Sequence[Callable[[], None]] = (),
    state: dict[str, Any] | None = None,
) -> FastAPI:
    """Build the app. ``ready_check`` raises when the service's own table is not reachable."""
    set_log_fields(settings.service_name, settings.environment)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Route handlers run in anyio's thread pool: size it from the settings (the DynamoDB pool
        # is sized from the same number, see dynamo.make_client).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        LOGGER.info("service started", extra={"table": settings.table_name})
        for hook in on_startup:
            hook()
        yield
        for hook in on_shutdown:
            hook()
        LOGGER.info("service stopped")

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        openapi_url=f"{prefix}/openapi.json",
        # FastAPI's own docs pages load a CDN and run inline scripts: replaced by install_docs.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    for key, value in (state or {}).items():
        setattr(app.state, key, value)

    ops = APIRouter(prefix=prefix, tags=["operations"])
    health_ok = Health(status="ok", revision=settings.revision).model_dump_json().encode()

    @ops.get(
        "/health",
        response_class=Response,
        summary="Liveness (no I/O)",
        responses={200: {"model": Health, "description": "The process serves requests."}},
    )
    async def health() -> Response:
        # The hottest route (every probe): async, so no trip through the thread pool, and a
        # body fixed for the process's life, so no model to validate and serialise per call.
        return Response(health_ok, media_type="application/json")

    @ops.get(
        "/ready",
        response_model=Readiness,
        summary="Readiness: the service's own table is reachable",
        responses={503: {"model": Readiness, "description": "The table is not reachable."}},
    )
    def ready() -> Readiness | JSONResponse:
        try:
            ready_check()
        except Exception as exc:  # any failure means "not ready"
            LOGGER.warning("not ready", extra={"reason": type(exc).__name__})
            body = Readiness(status="unavailable", detail=f"table not reachable ({type(exc).__name__})")
            return JSONResponse(
                status_code=503,
                content=body.model_dump(),
                headers={"Retry-After": str(settings.retry_after_seconds)},
            )
        return Readiness(status="ready")

    app.include_router(ops)
    install_docs(app, prefix, title)
    for router in routers:
        app.include_router(router)
    install_error_handlers(app, settings.retry_after_seconds)
    app.add_middleware(
        RequestContextMiddleware,
        service=settings.service_name,
        environment=settings.environment,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout_seconds,
        namespace=settings.metrics_namespace,
        probe_paths=frozenset({f"{prefix}/health"}),
    )
    return app
